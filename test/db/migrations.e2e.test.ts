// Schemas move forward in place: a data dir or database from an earlier release is upgraded at start-up, once, and one
// written by a newer release stops start-up with a message saying so.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { CALLS_POSTGRES_MIGRATIONS, PostgresCallStore, SqliteCallStore, syncFates, type CallStore } from "../../src/calls/index.js";
import { CALLS_SQLITE_MIGRATIONS } from "../../src/calls/store/migrations/sqlite.js";
import { DatabaseSetupError, migrate, openDatabase, openPostgres } from "../../src/db/index.js";
import { OUTBOX_POSTGRES_MIGRATIONS, PostgresOutbox, SqliteOutbox, type DeliveryOutbox } from "../../src/delivery/index.js";
import { OUTBOX_MIGRATIONS } from "../../src/delivery/outbox/migrations/sqlite.js";
import { silentLogger } from "../../src/logger.js";
import { autocallsPayload } from "../fixtures/calls.js";
import { answerFor, startFakeLlm } from "../support/fake-llm.js";
import { until } from "../support/poll.js";
import { createTestDatabase, type TestDatabase } from "../support/postgres.js";
import { startReceiver } from "../support/receiver.js";
import { startTestService } from "../support/service.js";

const databases: TestDatabase[] = [];
afterAll(async () => {
  await Promise.all(databases.map((database) => database.drop()));
});

describe("SQLite data dirs", () => {
  it("upgrades a data dir written by the first release in place, and resumes the call it left claimed", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "debrief-v1-"));
    // The files exactly as release 1 wrote them: its schema, user_version 1, a call claimed by a process that died.
    const calls = new Database(join(dataDir, "calls.sqlite"));
    calls.exec(CALLS_SQLITE_MIGRATIONS[0] as string);
    calls.pragma("user_version = 1");
    const now = Date.now();
    calls
      .prepare(
        `INSERT INTO calls (id, profile, external_id, state, payload, attempts, next_attempt_at, claimed_until, created_at, updated_at)
         VALUES ('call_v1', 'booking', '4242', 'accepted', ?, 0, ?, ?, ?, ?)`,
      )
      .run(JSON.stringify(autocallsPayload({ id: 4242 })), now, now + 3_600_000, now, now);
    calls.close();
    const outbox = new Database(join(dataDir, "outbox.sqlite"));
    outbox.exec(OUTBOX_MIGRATIONS[0]!);
    outbox.pragma("user_version = 1");
    outbox.close();

    const llm = await startFakeLlm((request) => ({ json: answerFor(request, { status: true, summary: "ok" }) }));
    const crm = await startReceiver();
    const config = join(dataDir, "debrief.json");
    writeFileSync(config, JSON.stringify({ profiles: { booking: { variables: [], destinations: ["crm"] } }, destinations: { crm: { url: crm.url } } }));
    const service = await startTestService({ OPENAI_BASE_URL: llm.url, DEBRIEF_CONFIG: config, DEBRIEF_DATA_DIR: dataDir, DEBRIEF_ALLOW_PRIVATE_DESTINATIONS: "true" });
    try {
      await crm.waitForRequests(1, 10_000);
      expect(JSON.parse(crm.requests[0]!.body)).toMatchObject({ id: 4242, debrief: { call_id: "call_v1" } });
      const call = await until(() => service.get("/v1/calls/call_v1"), (res) => res.body.state === "delivered");
      expect(call.body.state).toBe("delivered");
      // Stored before calls had a source: read as the Autocalls call it was, facts unknown.
      expect(call.body).toMatchObject({ source: "autocalls", call: null });
      const listed = await until(() => service.get("/v1/calls?state=delivered&destination=crm"), (res) => res.body.calls.length === 1);
      expect(listed.body.calls).toEqual([expect.objectContaining({ call_id: "call_v1", state: "delivered", customer_phone_e164: null })]);
      const duplicate = await service.post("/v1/calls?profile=booking", autocallsPayload({ id: 4242 }));
      expect(duplicate.body).toMatchObject({ call_id: "call_v1", duplicate: true });
    } finally {
      await service.close();
      await Promise.all([llm.close(), crm.close()]);
    }
  });

  it("refuses a file written by a newer release, naming it and both versions", () => {
    const file = join(mkdtempSync(join(tmpdir(), "debrief-newer-")), "calls.sqlite");
    const db = new Database(file);
    // One step past this release's last, whatever that is (issue 25 added the audit log as step 7).
    const newer = CALLS_SQLITE_MIGRATIONS.length + 1;
    db.pragma(`user_version = ${newer}`);
    db.close();
    expect(() => openDatabase(file, { synchronous: "NORMAL", migrations: CALLS_SQLITE_MIGRATIONS })).toThrow(DatabaseSetupError);
    expect(() => openDatabase(file, { synchronous: "NORMAL", migrations: CALLS_SQLITE_MIGRATIONS })).toThrow(`${file} was written by a newer Debrief (schema ${newer}, this one knows ${CALLS_SQLITE_MIGRATIONS.length})`);
  });
});

/** Rows as the release before call fates wrote them: calls schema 2, outbox schema 1. Plain SQL that both engines run. */
const BEFORE_FATES = `
INSERT INTO calls (id, profile, external_id, state, reason, payload, attempts, next_attempt_at, extraction, delivery_errors, created_at, updated_at, source, customer_phone) VALUES
  ('call_a', 'booking', 'a', 'extracted', NULL, '{"transcript":"AI: Hi."}', 1, NULL, '{"extracted_variables":{"name":"Dana"},"meta":{}}', '[]', 1000, 1000, 'autocalls', '+15551234567'),
  ('call_b', 'booking', 'b', 'extracted', NULL, '{"transcript":"AI: Hi."}', 1, NULL, '{"extracted_variables":{},"meta":{}}',
   '[{"destination":"sheets","path":"destinations.sheets.transform","message":"destinations.sheets.transform: evaluation failed: boom"}]', 2000, 2000, 'autocalls', NULL),
  ('call_c', 'booking', 'c', 'extracted', NULL, '{"transcript":"AI: Hi."}', 1, NULL, '{"extracted_variables":{},"meta":{}}', '[]', 3000, 3000, 'vapi', '555-123-4567'),
  ('call_d', 'support', 'd', 'skipped', 'not_completed', '{"transcript":"AI: Hi."}', 0, NULL, NULL, NULL, 4000, 4000, 'autocalls', NULL),
  ('call_e', 'booking', 'e', 'accepted', NULL, '{"transcript":"AI: Hi."}', 0, 5000, NULL, NULL, 5000, 5000, 'autocalls', '+15551234567');
INSERT INTO deliveries (id, call_id, destination, webhook_id, body, status, attempts, total_attempts, next_attempt_at, last_status, last_error, created_at, updated_at, delivered_at) VALUES
  ('dlv_a', 'call_a', 'crm', 'msg_a', '{}', 'delivered', 2, 2, NULL, 200, NULL, 1000, 1100, 1100),
  ('dlv_c', 'call_c', 'crm', 'msg_c', '{}', 'failed', 1, 1, NULL, 410, 'HTTP 410: not retried', 3000, 3100, NULL);
INSERT INTO attempts (delivery_id, attempt, started_at, finished_at, status, latency_ms, outcome, error) VALUES
  ('dlv_a', 1, 1000, 1010, 503, 10, 'retry', 'HTTP 503'),
  ('dlv_a', 2, 1090, 1100, 200, 10, 'delivered', NULL),
  ('dlv_c', 1, 3000, 3100, 410, 10, 'failed', 'HTTP 410: not retried');
`;

describe.each([
  {
    engine: "sqlite",
    async open(): Promise<{ store: CallStore; outbox: DeliveryOutbox; close(): Promise<void> }> {
      const dir = mkdtempSync(join(tmpdir(), "debrief-before-fates-"));
      const calls = new Database(join(dir, "calls.sqlite"));
      const outbox = new Database(join(dir, "outbox.sqlite"));
      for (const step of CALLS_SQLITE_MIGRATIONS.slice(0, 2)) calls.exec(step as string);
      calls.pragma("user_version = 2");
      outbox.exec(OUTBOX_MIGRATIONS[0]!);
      outbox.pragma("user_version = 1");
      const [forCalls, forOutbox] = BEFORE_FATES.split("INSERT INTO deliveries");
      calls.exec(forCalls!);
      outbox.exec(`INSERT INTO deliveries${forOutbox}`);
      calls.close();
      outbox.close();
      const stores = { store: SqliteCallStore.open(join(dir, "calls.sqlite"), () => 10_000), outbox: SqliteOutbox.open(join(dir, "outbox.sqlite"), () => 10_000) };
      return { ...stores, close: async () => void (await Promise.all([stores.store.close(), stores.outbox.close()])) };
    },
  },
  {
    engine: "postgres",
    async open(): Promise<{ store: CallStore; outbox: DeliveryOutbox; close(): Promise<void> }> {
      const database = await createTestDatabase();
      databases.push(database);
      const before = [
        { ...CALLS_POSTGRES_MIGRATIONS, steps: CALLS_POSTGRES_MIGRATIONS.steps.slice(0, 2) },
        { ...OUTBOX_POSTGRES_MIGRATIONS, steps: OUTBOX_POSTGRES_MIGRATIONS.steps.slice(0, 1) },
      ];
      const old = await openPostgres({ url: database.url, logger: silentLogger, migrations: before });
      await old.pool.query(BEFORE_FATES);
      await old.close();
      const postgres = await openPostgres({ url: database.url, logger: silentLogger, migrations: [CALLS_POSTGRES_MIGRATIONS, OUTBOX_POSTGRES_MIGRATIONS] });
      return { store: new PostgresCallStore(postgres.pool, () => 10_000), outbox: new PostgresOutbox(postgres.pool, () => 10_000), close: () => postgres.close() };
    },
  },
])("upgrading $engine stores written before call fates", ({ open }) => {
  it("lists, filters and shows the calls they hold, once the fate sweep has projected the outbox", async () => {
    const { store, outbox, close } = await open();
    try {
      const list = async (query: Partial<Parameters<CallStore["list"]>[0]> = {}) => (await store.list({ limit: 50, ...query })).map((c) => [c.id, c.state]);
      // Straight after the upgrade: the stage and the expression failures are known; the outbox's outcomes not yet.
      expect(await list()).toEqual([
        ["call_e", "accepted"],
        ["call_d", "skipped"],
        ["call_c", "extracted"],
        ["call_b", "delivery_failed"],
        ["call_a", "extracted"],
      ]);
      expect(await syncFates(store, outbox)).toBe(2);
      expect(await list({ states: ["delivered", "delivery_failed"] })).toEqual([
        ["call_c", "delivery_failed"],
        ["call_b", "delivery_failed"],
        ["call_a", "delivered"],
      ]);
      expect(await list({ destination: "crm" })).toEqual([
        ["call_c", "delivery_failed"],
        ["call_a", "delivered"],
      ]);
      expect(await list({ destination: "sheets" })).toEqual([["call_b", "delivery_failed"]]);
      expect(await list({ source: "vapi" })).toEqual([["call_c", "delivery_failed"]]);
      expect((await store.listFates("call_b")).map((f) => [f.destination, f.fate, f.reason_code])).toEqual([["sheets", "skipped", "transform_failed"]]);
      expect(await store.replay("call_b")).toBe(true); // its expression failure can still be replayed
      // A number already in E.164 is found by caller memory; one in another form is not guessed at.
      const caller = await store.callerHistory("booking", "+15551234567", 10);
      expect(caller.recent.map((c) => c.id)).toEqual(["call_e", "call_a"]);
      expect(caller.latest?.id).toBe("call_a");
      expect((await store.get("call_c"))!.customer_phone_e164).toBeNull();
      // The destination's failure streak and last error, from the attempts already recorded.
      expect(await outbox.destinationHealth(0)).toEqual([
        { destination: "crm", pending: 0, delivered: 1, failed: 1, consecutive_failures: 1, last_error: "HTTP 410: not retried", last_error_at: 3100, last_delivered_at: 1100 },
      ]);
      expect(await outbox.get("dlv_a")).toMatchObject({ attempts: 2, run_attempts: 2, attempt_history: [expect.anything(), expect.anything()] });
      // Extraction history: each extracted call's extraction is its first (event 1, version unknown); deliveries are event 1 with their ids kept.
      expect(await store.listExtractions("call_a", 10)).toEqual([
        { seq: 1, profile_version: null, trigger: "live", event: 1, extraction: { extracted_variables: { name: "Dana" }, meta: {} }, created_at: 1000 },
      ]);
      expect(await store.listExtractions("call_e", 10)).toEqual([]);
      expect(await outbox.get("dlv_a")).toMatchObject({ event: 1, webhook_id: "msg_a" });
      expect((await store.cursorKey()).length).toBe(32);
    } finally {
      await close();
    }
  });
});

describe("PostgreSQL migrations", () => {
  it("applies each step once, however many instances migrate at the same moment", async () => {
    const database = await createTestDatabase();
    databases.push(database);
    const components = [CALLS_POSTGRES_MIGRATIONS, OUTBOX_POSTGRES_MIGRATIONS];
    const opened = await Promise.all(
      Array.from({ length: 4 }, () => openPostgres({ url: database.url, poolSize: 2, logger: silentLogger, migrations: components })),
    );
    const rows = await database.query<{ component: string; version: number }>("SELECT component, version FROM debrief_migrations ORDER BY component, version");
    expect(rows).toEqual(components.flatMap(({ component, steps }) => steps.map((_step, index) => ({ component, version: index + 1 }))).sort((a, b) => a.component.localeCompare(b.component)));
    expect(await migrate(opened[0]!.pool, components, silentLogger)).toBe(0); // nothing left to apply
    await Promise.all(opened.map((postgres) => postgres.close()));
  });

  it("applies a step appended by a later release on the next start, and only that one", async () => {
    const database = await createTestDatabase();
    databases.push(database);
    const v1 = { component: "example", steps: ["CREATE TABLE example (id INTEGER)"] };
    const v2 = { component: "example", steps: [...v1.steps, "ALTER TABLE example ADD COLUMN note TEXT"] };
    const first = await openPostgres({ url: database.url, logger: silentLogger, migrations: [v1] });
    await first.pool.query("INSERT INTO example (id) VALUES (1)");
    await first.close();
    const second = await openPostgres({ url: database.url, logger: silentLogger, migrations: [v2] });
    expect((await second.pool.query("SELECT id, note FROM example")).rows).toEqual([{ id: 1, note: null }]);
    await second.close();
    await expect(openPostgres({ url: database.url, logger: silentLogger, migrations: [v1] })).rejects.toThrow(/example schema is version 2, newer than this Debrief knows \(1\)/);
  });
});
