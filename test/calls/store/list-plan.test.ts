// Every way GET /v1/calls and caller memory query the calls is served by an index on both engines: the database
// reads an index range in the list's order, never the whole table, and Debrief never filters calls in JavaScript.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { CALLS_POSTGRES_MIGRATIONS, SqliteCallStore, type CallListQuery } from "../../../src/calls/index.js";
import { listCallsSql } from "../../../src/calls/store/queries.js";
import { openPostgres } from "../../../src/db/index.js";
import { silentLogger } from "../../../src/logger.js";
import { createTestDatabase, type TestDatabase } from "../../support/postgres.js";

const after = { created_at: 1_767_225_600_000, id: "call_x" };

const QUERIES: [string, Omit<CallListQuery, "limit">][] = [
  ["no filter", {}],
  ["profile", { profile: "booking" }],
  ["source", { source: "vapi" }],
  ["one state", { states: ["delivered"] }],
  ["the review queue", { states: ["needs_review"] }],
  ["several states", { states: ["delivered", "delivery_failed", "extraction_failed"] }],
  ["platform call id", { externalId: "ext-1" }],
  ["since and until", { since: 1, until: 2 }],
  ["destination", { destination: "crm" }],
  ["every filter", { profile: "booking", source: "vapi", states: ["delivered", "extracted"], since: 1, until: 2, destination: "crm" }],
  ["a later page", { states: ["delivered"], after }],
];

const CALLER = "SELECT id FROM calls WHERE profile = $1 AND customer_e164 = $2 ORDER BY created_at DESC, id DESC LIMIT $3";

const databases: TestDatabase[] = [];
afterAll(async () => {
  await Promise.all(databases.map((database) => database.drop()));
});

describe("on SQLite", () => {
  const file = join(mkdtempSync(join(tmpdir(), "debrief-plan-")), "calls.sqlite");
  const db = (() => {
    SqliteCallStore.open(file).close();
    return new Database(file);
  })();
  afterAll(() => db.close());
  const plan = (sql: string, params: unknown[]) => (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((row) => row.detail);

  it.each(QUERIES)("lists by %s through an index", (_name, query) => {
    const { sql, params } = listCallsSql({ ...query, limit: 51 }, () => "?");
    const steps = plan(sql, params);
    expect(steps.filter((step) => /^(SCAN|SEARCH) calls\b/.test(step)).every((step) => step.includes("USING"))).toBe(true);
    expect(steps.some((step) => /^(SCAN|SEARCH) calls USING (COVERING )?INDEX calls_by_/.test(step))).toBe(true);
  });

  it("finds a caller's calls through an index", () => {
    expect(plan(CALLER.replaceAll(/\$\d/g, "?"), ["booking", "+15551234567", 10])).toEqual([expect.stringMatching(/^SEARCH calls USING (COVERING )?INDEX calls_by_caller/)]);
  });
});

describe("on PostgreSQL", () => {
  let pool: Awaited<ReturnType<typeof openPostgres>>;
  const plan = async (sql: string, params: unknown[]) => {
    const client = await pool.pool.connect();
    try {
      // An empty table is cheaper to scan whole: forbid that, so only a missing index can make the plan a scan.
      await client.query("SET enable_seqscan = off");
      return (await client.query<{ "QUERY PLAN": string }>(`EXPLAIN ${sql}`, params)).rows.map((row) => row["QUERY PLAN"]).join("\n");
    } finally {
      await client.query("RESET enable_seqscan").catch(() => undefined);
      client.release();
    }
  };
  afterAll(() => pool?.close());

  it.each(QUERIES)("lists by %s through an index", async (_name, query) => {
    if (!pool) {
      const database = await createTestDatabase();
      databases.push(database);
      pool = await openPostgres({ url: database.url, logger: silentLogger, migrations: [CALLS_POSTGRES_MIGRATIONS] });
    }
    const { sql, params } = listCallsSql({ ...query, limit: 51 }, (n) => `$${n}`);
    const text = await plan(sql, params);
    expect(text).not.toMatch(/Seq Scan on (calls|call_fates)/);
    // By destination the planner may start from the fates' (destination, call_id) index and fetch each call by its key.
    expect(text).toMatch(/Index (Only )?Scan( Backward)? using (calls_by_\w+|calls_pkey) on calls|Bitmap Index Scan on calls_by_\w+/);
  });

  it("finds a caller's calls through an index", async () => {
    expect(await plan(CALLER, ["booking", "+15551234567", 10])).toMatch(/Index (Only )?Scan( Backward)? using calls_by_caller on calls/);
  });
});
