// Upgrading a store written before insights (issue 27): the migration fills the value rows of every call already stored,
// the way the service writes them (the latest extraction, a reviewer's correction as the value), and each extraction's
// cost, on both engines; a call whose stored JSON cannot be read is left without rows rather than stopping the upgrade.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { CALLS_POSTGRES_MIGRATIONS, PostgresCallStore, SqliteCallStore, type CallStore } from "../../src/calls/index.js";
import { profileInsights } from "../../src/calls/insights.js";
import { CALLS_SQLITE_MIGRATIONS } from "../../src/calls/store/migrations/sqlite.js";
import { openPostgres } from "../../src/db/index.js";
import { silentLogger } from "../../src/logger.js";
import { DENTAL } from "../fixtures/insights.js";
import { createTestDatabase, type TestDatabase } from "../support/postgres.js";

/** The calls store schema the release before insights had: seven steps. */
const BEFORE_INSIGHTS = 7;
const DAY = 86_400_000;
const T0 = Date.parse("2026-11-02T10:00:00Z");

const extraction = (values: Record<string, unknown>, cost?: number) => JSON.stringify({ extracted_variables: values, meta: { model: "m", ...(cost === undefined ? {} : { cost_usd: cost }) } });
const review = JSON.stringify({ approved: true, at: "2026-11-02T11:00:00Z", corrected: ["service_type"], values: { service_type: "cleaning" }, reason: null });

/** Rows as the release before insights wrote them, in SQL both engines run (`$n` rewritten to `?` for SQLite). */
const CALLS: { id: string; extraction: string | null; reviewed: string | null; history: string[] }[] = [
  { id: "call_a", extraction: extraction({ service_type: "repair", booked: true, budget: 900, items: [{ size: "m", quantity: 1 }] }, 0.004), reviewed: null, history: [] },
  {
    id: "call_b",
    extraction: extraction({ service_type: "repair", booked: false, budget: null, tags: ["urgent"] }, 0.002),
    reviewed: review,
    history: [extraction({ service_type: "install" }, 0.001)],
  },
  { id: "call_c", extraction: null, reviewed: null, history: [] },
  { id: "call_d", extraction: "{not json", reviewed: null, history: [] },
];

async function writeOld(run: (sql: string, params: unknown[]) => Promise<void> | void): Promise<void> {
  for (const [index, call] of CALLS.entries()) {
    await run(
      `INSERT INTO calls (id, profile, external_id, state, public_state, payload, extraction, reviewed, created_at, updated_at)
       VALUES ($1, 'dental', $1, $2, $2, '{}', $3, $4, $5, $5)`,
      [call.id, call.extraction ? "extracted" : "accepted", call.extraction, call.reviewed, T0 + index * 60_000],
    );
    const history = call.extraction && call.extraction.startsWith("{\"") ? [...call.history, call.extraction] : call.history;
    for (const [seq, entry] of history.entries()) {
      await run("INSERT INTO call_extractions (call_id, seq, extraction, trigger, event, created_at) VALUES ($1, $2, $3, 'live', 1, $4)", [call.id, seq + 1, entry, T0 + seq]);
    }
  }
}

const databases: TestDatabase[] = [];
afterAll(async () => {
  await Promise.all(databases.map((database) => database.drop()));
});

describe.each([
  {
    engine: "sqlite",
    async upgraded(): Promise<{ store: CallStore; close(): Promise<void> }> {
      const file = join(mkdtempSync(join(tmpdir(), "debrief-before-insights-")), "calls.sqlite");
      const db = new Database(file);
      for (const step of CALLS_SQLITE_MIGRATIONS.slice(0, BEFORE_INSIGHTS)) db.exec(step as string);
      db.pragma(`user_version = ${BEFORE_INSIGHTS}`);
      // SQLite's positional `?`, each `$n` given its value where it stands.
      await writeOld((sql, params) => void db.prepare(sql.replace(/\$\d+/g, "?")).run(...[...sql.matchAll(/\$(\d+)/g)].map((match) => params[Number(match[1]) - 1])));
      db.close();
      const store = SqliteCallStore.open(file);
      return { store, close: () => store.close() };
    },
  },
  {
    engine: "postgres",
    async upgraded(): Promise<{ store: CallStore; close(): Promise<void> }> {
      const database = await createTestDatabase();
      databases.push(database);
      const before = { ...CALLS_POSTGRES_MIGRATIONS, steps: CALLS_POSTGRES_MIGRATIONS.steps.slice(0, BEFORE_INSIGHTS) };
      const old = await openPostgres({ url: database.url, logger: silentLogger, migrations: [before] });
      await writeOld(async (sql, params) => void (await old.pool.query(sql, params)));
      await old.close();
      const postgres = await openPostgres({ url: database.url, logger: silentLogger, migrations: [CALLS_POSTGRES_MIGRATIONS] });
      return { store: new PostgresCallStore(postgres.pool), close: () => postgres.close() };
    },
  },
])("upgrading $engine stores written before insights", ({ upgraded }) => {
  it("fills the value rows of the calls already stored, and each extraction's cost", async () => {
    const { store, close } = await upgraded();
    try {
      const insights = await profileInsights(store, DENTAL, { since: T0 - DAY, until: T0 + DAY, bucket: "day" });
      expect(insights).toMatchObject({ calls: 4, extracted: 2 });
      // call_b's reviewer corrected repair to cleaning; its first extraction's "install" is not the latest.
      expect(insights.variables.service_type!.counts).toEqual({ cleaning: 1, repair: 1, install: 0 });
      expect(insights.variables.budget).toMatchObject({ null_rate: 0.5, numbers: { count: 1, min: 900, max: 900 } });
      expect(insights.variables.items!.paths!["items[].size"]).toMatchObject({ counts: { s: 0, m: 1 } });
      expect(insights.variables.tags!.counts).toEqual({ urgent: 1, new: 0 });
      expect(insights.series.map((bucket) => bucket.cost_usd)).toEqual([0, 0.007, 0]);
      const where = async (path: string, value: string | null) => (await store.list({ profile: "dental", where: [{ path, value }], limit: 10 })).map((c) => c.id);
      expect(await where("service_type", "cleaning")).toEqual(["call_b"]);
      expect(await where("budget", null)).toEqual(["call_b"]);
      expect(await where("items[].size", "m")).toEqual(["call_a"]);
      expect(await store.spentSince("dental", T0 - DAY)).toBeCloseTo(0.007, 9);
    } finally {
      await close();
    }
  });
});
