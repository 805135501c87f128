// Schemas move forward in place: a data dir or database from an earlier release is upgraded at start-up, once, and one
// written by a newer release stops start-up with a message saying so.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { CALLS_POSTGRES_MIGRATIONS } from "../../src/calls/index.js";
import { CALLS_SQLITE_MIGRATIONS } from "../../src/calls/sqlite-store.js";
import { DatabaseSetupError, migrate, openDatabase, openPostgres } from "../../src/db/index.js";
import { OUTBOX_POSTGRES_MIGRATIONS } from "../../src/delivery/index.js";
import { OUTBOX_MIGRATIONS } from "../../src/delivery/outbox-schema.js";
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
    calls.exec(CALLS_SQLITE_MIGRATIONS[0]!);
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
    db.pragma("user_version = 7");
    db.close();
    expect(() => openDatabase(file, { synchronous: "NORMAL", migrations: CALLS_SQLITE_MIGRATIONS })).toThrow(DatabaseSetupError);
    expect(() => openDatabase(file, { synchronous: "NORMAL", migrations: CALLS_SQLITE_MIGRATIONS })).toThrow(`${file} was written by a newer Debrief (schema 7, this one knows ${CALLS_SQLITE_MIGRATIONS.length})`);
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
