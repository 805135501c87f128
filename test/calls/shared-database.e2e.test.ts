// Several instances on one PostgreSQL database, in this process: any instance accepts, answers and replays any call;
// an api instance's accepted call wakes a worker instance through LISTEN/NOTIFY; roles serve what they say.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { loadSettings, SettingsError } from "../../src/settings.js";
import { DatabaseSetupError, PostgresSignals } from "../../src/db/index.js";
import { OUTBOX_POSTGRES_MIGRATIONS } from "../../src/delivery/outbox/postgres.js";
import { silentLogger } from "../../src/logger.js";
import { startService } from "../../src/server.js";
import { autocallsPayload } from "../fixtures/calls.js";
import { answerFor, startFakeLlm, type FakeLlm } from "../support/fake-llm.js";
import { until } from "../support/poll.js";
import { createTestDatabase, type TestDatabase } from "../support/postgres.js";
import { startReceiver, type Receiver } from "../support/receiver.js";
import { startTestService, type TestService } from "../support/service.js";

let llm: FakeLlm;
let crm: Receiver;
let database: TestDatabase;
let config: string;
const services: TestService[] = [];
const databases: TestDatabase[] = [];

/** Workers poll once a minute here: whatever happens faster was woken by a NOTIFY. */
const SLOW_POLL_MS = 60_000;

async function instance(role: "all" | "api" | "worker", env: Record<string, string> = {}, url = database.url) {
  const service = await startTestService(
    {
      OPENAI_BASE_URL: llm.url,
      DEBRIEF_CONFIG: config,
      DEBRIEF_ALLOW_PRIVATE_DESTINATIONS: "true",
      DEBRIEF_LLM_MAX_RETRIES: "0",
      DEBRIEF_DATABASE_URL: url,
      DEBRIEF_ROLE: role,
      ...env,
    },
    { pollIntervalMs: SLOW_POLL_MS },
  );
  services.push(service);
  return service;
}

beforeAll(async () => {
  llm = await startFakeLlm((request) => ({ json: answerFor(request, { status: true, summary: "Demo booked" }) }));
  crm = await startReceiver();
  database = await createTestDatabase();
  databases.push(database);
  config = join(mkdtempSync(join(tmpdir(), "debrief-shared-")), "debrief.json");
  writeFileSync(
    config,
    JSON.stringify({
      profiles: { booking: { variables: [], destinations: ["crm"] }, patient: { variables: [], destinations: ["crm_patient"] } },
      destinations: {
        crm: { url: crm.url, retry: { max_attempts: 2, initial_delay_ms: 100, max_delay_ms: 100 } },
        // The same receiver, with a backoff of ten hours after a failure.
        crm_patient: { url: crm.url, retry: { initial_delay_ms: 36_000_000, max_delay_ms: 36_000_000 } },
      },
      extraction: { retry: { max_attempts: 2, initial_delay_ms: 100, max_delay_ms: 100 } },
    }),
  );
});
afterEach(async () => {
  await Promise.all(services.splice(0).map((service) => service.close()));
  crm.script([{ status: 200 }]);
  crm.requests.length = 0;
});
afterAll(async () => {
  await Promise.all([llm.close(), crm.close()]);
  await Promise.all(databases.map((db) => db.drop()));
});

describe("instances sharing one PostgreSQL database", () => {
  it("accepts on an api instance and delivers from a worker instance woken at once, without waiting for a poll", async () => {
    const worker = await instance("worker");
    const api = await instance("api");
    const accepted = await api.post("/v1/calls?profile=booking", autocallsPayload({ id: "notify-1" }));
    expect(accepted.status).toBe(202);
    await crm.waitForRequests(1, 10_000); // well under the 60 s poll: the NOTIFY woke both workers
    expect(JSON.parse(crm.requests[0]!.body).debrief.call_id).toBe(accepted.body.call_id);
    const call = await until(() => api.get(`/v1/calls/${accepted.body.call_id}`), (res) => res.body.state === "delivered");
    expect(call.body.destinations).toEqual([expect.objectContaining({ fate: "delivered", deliveries: [expect.objectContaining({ status: "delivered", attempts: 1 })] })]);
    // The worker serves probes and metrics, nothing else.
    expect((await worker.get("/healthz")).status).toBe(200);
    expect((await worker.get("/readyz")).status).toBe(200);
    expect(String((await worker.get("/metrics")).body)).toContain("debrief_outbox_depth 0");
    expect((await worker.post("/v1/calls?profile=booking", autocallsPayload())).status).toBe(404);
    expect((await worker.get("/openapi.json")).status).toBe(404);
  });

  it("answers a platform's retry on another instance as a duplicate, and shows any call and delivery from any instance", async () => {
    const [a, b] = [await instance("all"), await instance("all")];
    const first = await a.post("/v1/calls?profile=booking", autocallsPayload({ id: "dup-1" }));
    const retry = await b.post("/v1/calls?profile=booking", autocallsPayload({ id: "dup-1" }));
    expect(first.status).toBe(202);
    expect(retry.status).toBe(200);
    expect(retry.body).toMatchObject({ call_id: first.body.call_id, duplicate: true });
    await until(() => b.get(`/v1/calls/${first.body.call_id}`), (res) => res.body.state === "delivered");
    const listed = await b.get(`/v1/deliveries?call_id=${first.body.call_id}`);
    expect(listed.body.deliveries).toHaveLength(1);
    expect((await a.get(`/v1/deliveries/${listed.body.deliveries[0].id}`)).body.delivery.attempt_history).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(crm.requests).toHaveLength(1);
  });

  it("replays a dead letter from an api instance: a worker instance sends it, with the same webhook-id", async () => {
    crm.script([{ status: 400, body: "nope" }]);
    await instance("worker");
    const api = await instance("api");
    const accepted = await api.post("/v1/calls?profile=booking", autocallsPayload({ id: "replay-1" }));
    const failed = await until(() => api.get(`/v1/calls/${accepted.body.call_id}`), (res) => res.body.state === "delivery_failed");
    const [delivery] = failed.body.destinations[0].deliveries;
    crm.script([{ status: 200 }]);
    expect((await api.post(`/v1/deliveries/${delivery.id}/retry`, {})).status).toBe(200);
    await until(() => api.get(`/v1/calls/${accepted.body.call_id}`), (res) => res.body.state === "delivered");
    expect(crm.requests.map((request) => request.headers["webhook-id"])).toEqual([delivery.webhook_id, delivery.webhook_id]);
  });

  it("sends a delivery waiting out a ten-hour backoff now from an api instance: NOTIFY wakes the worker instance", async () => {
    crm.script([{ status: 503 }, { status: 200 }]);
    await instance("worker");
    const api = await instance("api");
    const accepted = await api.post("/v1/calls?profile=patient", autocallsPayload({ id: "send-now-1" }));
    await crm.waitForRequests(1, 10_000);
    const waiting = await until(
      () => api.get(`/v1/deliveries?call_id=${accepted.body.call_id}`),
      (res) => res.body.deliveries[0]?.last_status === 503,
    );
    const [delivery] = waiting.body.deliveries;
    expect(Date.parse(delivery.next_attempt_at) - Date.now()).toBeGreaterThan(3_600_000);
    const sent = await api.post(`/v1/deliveries/${delivery.id}/retry`, {});
    expect(sent.body.delivery).toMatchObject({ status: "pending", run_attempts: 1 });
    await crm.waitForRequests(2, 10_000); // well under the worker's 60 s poll
    const call = await until(() => api.get(`/v1/calls/${accepted.body.call_id}`), (res) => res.body.state === "delivered");
    expect(call.body.destinations[0].deliveries[0]).toMatchObject({ status: "delivered", attempts: 2, run_attempts: 2 });
    // The call's own view reads the outbox live; the list reads the state the delivery's fate writes just after.
    const listed = await until(
      () => api.get("/v1/calls?state=delivered&destination=crm_patient"),
      (res) => res.body.calls.length > 0,
    );
    expect(listed.body.calls.map((c: { call_id: string }) => c.call_id)).toEqual([accepted.body.call_id]);
  });

  it("reports the shared outbox's depth on every instance", async () => {
    crm.script([{ hang: true }]); // in flight: still pending
    const [a, b] = [await instance("all"), await instance("api")];
    await a.post("/v1/calls?profile=booking", autocallsPayload({ id: "depth-1" }));
    await crm.waitForRequests(1, 10_000);
    const depth = async (service: TestService) => /debrief_outbox_depth (\d+)/.exec(String((await service.get("/metrics")).body))?.[1];
    expect(await depth(a)).toBe("1");
    expect(await depth(b)).toBe("1");
  });
});

describe("LISTEN/NOTIFY", () => {
  it("wakes subscribers again after its listening connection drops, once it has reconnected", async () => {
    const pool = new pg.Pool({ connectionString: database.url, max: 2 });
    const signals = new PostgresSignals({ url: database.url, pool, logger: silentLogger, initialBackoffMs: 50 });
    const other = new PostgresSignals({ url: database.url, pool, logger: silentLogger });
    await Promise.all([signals.ready, other.ready]);
    let woken = 0;
    signals.subscribe("calls", () => woken++);
    try {
      other.notify("calls");
      await until(async () => woken, (n) => n >= 1);
      expect(woken).toBe(1);

      const listeners = await database.query<{ pid: number }>(
        "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = 'debrief:listen' AND query LIKE 'LISTEN%'",
        [database.name],
      );
      expect(listeners.length).toBeGreaterThanOrEqual(1);
      await database.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'debrief:listen'", [database.name]);
      // Both reconnect; each wakes its subscribers once, for what it may have missed.
      await until(async () => woken, (n) => n >= 2, 10_000);
      const before = woken;
      other.notify("calls");
      await until(async () => woken, (n) => n > before, 10_000);
      expect(woken).toBeGreaterThan(before);
    } finally {
      await Promise.all([signals.close(), other.close()]);
      await pool.end();
    }
  });
});

describe("start-up", () => {
  it("refuses api and worker roles without a shared database, and a worker without a configuration file", () => {
    expect(() => loadSettings({ DEBRIEF_ROLE: "api" })).toThrow(SettingsError);
    expect(() => loadSettings({ DEBRIEF_ROLE: "worker", DEBRIEF_CONFIG: "x.json" })).toThrow(/DEBRIEF_ROLE: "worker" needs DEBRIEF_DATABASE_URL/);
    expect(() => loadSettings({ DEBRIEF_ROLE: "worker", DEBRIEF_DATABASE_URL: "postgres://h/db" })).toThrow(/needs DEBRIEF_CONFIG/);
    expect(() => loadSettings({ DEBRIEF_DATABASE_URL: "mysql://h/db" })).toThrow(/DEBRIEF_DATABASE_URL: must be a postgres/);
    expect(() => loadSettings({ DEBRIEF_ROLE: "both" })).toThrow(/DEBRIEF_ROLE/);
    expect(loadSettings({ DEBRIEF_ROLE: "api", DEBRIEF_DATABASE_URL: "postgresql://h/db" })).toMatchObject({ role: "api", database: { url: "postgresql://h/db" } });
    expect(loadSettings({}).role).toBe("all");
  });

  it("stops with a clear message when the database's schema is newer than this release", async () => {
    const newer = await createTestDatabase();
    databases.push(newer);
    const first = await instance("all", {}, newer.url);
    await first.close();
    await newer.query("INSERT INTO debrief_migrations (component, version) VALUES ('outbox', 99)");
    const settings = loadSettings({ PORT: "0", HOST: "127.0.0.1", DEBRIEF_CACHE: "false", OPENAI_BASE_URL: llm.url, DEBRIEF_CONFIG: config, DEBRIEF_DATABASE_URL: newer.url, DEBRIEF_ALLOW_PRIVATE_DESTINATIONS: "true" });
    const starting = startService(settings, silentLogger, { env: {} });
    await expect(starting).rejects.toThrow(DatabaseSetupError);
    await expect(starting).rejects.toThrow(new RegExp(`outbox schema is version 99, newer than this Debrief knows \\(${OUTBOX_POSTGRES_MIGRATIONS.steps.length}\\)`));
  });

  it("stops with a clear message when the database cannot be reached", async () => {
    const settings = loadSettings({ PORT: "0", HOST: "127.0.0.1", DEBRIEF_CACHE: "false", DEBRIEF_CONFIG: config, DEBRIEF_DATABASE_URL: "postgres://nobody:secret@127.0.0.1:1/none", DEBRIEF_ALLOW_PRIVATE_DESTINATIONS: "true", DEBRIEF_LOCAL_MODEL: "off" });
    const starting = startService(settings, silentLogger, { env: {} });
    await expect(starting).rejects.toThrow(DatabaseSetupError);
    await expect(starting).rejects.toThrow(/Cannot use the PostgreSQL database at postgres:\/\/nobody:\*\*\*@127\.0\.0\.1:1\/none/);
  });
});
