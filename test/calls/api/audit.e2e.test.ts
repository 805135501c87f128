// The audit log: each audited action records who did it (the key's name), what and to which id, and how it ended;
// GET /v1/audit reads it back with filters and cursor paging (scope admin); retention prunes it, on both engines.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256 } from "../../../src/access/index.js";
import { pruneFinished } from "../../../src/calls/retention.js";
import { silentLogger } from "../../../src/logger.js";
import { reloadOnSignal } from "../../../src/server.js";
import { autocallsPayload } from "../../fixtures/calls.js";
import { answerFor, startFakeLlm, type FakeLlm } from "../../support/fake-llm.js";
import { until } from "../../support/poll.js";
import { createTestDatabase, type TestDatabase } from "../../support/postgres.js";
import { startReceiver, type Receiver } from "../../support/receiver.js";
import { startTestService, type TestService } from "../../support/service.js";
import { contractHarness, ENGINES } from "../../support/stores.js";

const ADMIN_KEY = "dbr_audit_admin_0123456789abcdef0";
const ADMIN = { authorization: `Bearer ${ADMIN_KEY}` };
const OPS_KEY = "dbr_audit_ops_0123456789abcdef012";
const OPS = { authorization: `Bearer ${OPS_KEY}` };

const HELD_VARIABLES = [{ name: "budget", type: "number", description: "Monthly budget the customer states, in USD" }];
const HELD_TRANSCRIPT = "AI: Hello, this is Sarah from CoolAir.\nCustomer: My budget is 4,000 a month.\nAI: Noted, bye.";

let llm: FakeLlm;
let crm: Receiver;
const databases: TestDatabase[] = [];

beforeAll(async () => {
  llm = await startFakeLlm((request) => ({ json: answerFor(request) }));
  crm = await startReceiver();
});
afterAll(async () => {
  await llm?.close();
  await crm?.close();
  await Promise.all(databases.map((database) => database.drop()));
});

function configFile(): string {
  const file = join(mkdtempSync(join(tmpdir(), "debrief-audit-")), "debrief.json");
  writeFileSync(
    file,
    JSON.stringify({
      profiles: {
        dental: { variables: [{ name: "plan", type: "string", description: "The plan the customer wants" }], destinations: ["crm"] },
        held: { variables: HELD_VARIABLES, destinations: ["crm"], review: { hold: true, min_confidence: 0.8 } },
      },
      destinations: { crm: { url: crm.url } },
      keys: { ops: { key: "${OPS_KEY}", scopes: ["calls:read", "calls:review", "calls:reanalyze", "destinations"] } },
    }),
  );
  return file;
}

describe.each([{ engine: "sqlite" }, { engine: "postgres" }])("the audit log on $engine", ({ engine }) => {
  let api: TestService;
  let callId: string;
  let deliveryId: string;
  const envName = `api-key:${sha256(ADMIN_KEY).toString("hex").slice(0, 8)}`;

  beforeAll(async () => {
    const database = engine === "postgres" ? await createTestDatabase() : undefined;
    if (database) databases.push(database);
    api = await startTestService({
      OPENAI_BASE_URL: llm.url,
      DEBRIEF_CONFIG: configFile(),
      DEBRIEF_ALLOW_PRIVATE_DESTINATIONS: "true",
      DEBRIEF_CACHE: "false",
      DEBRIEF_API_KEYS: ADMIN_KEY,
      OPS_KEY,
      ...(database ? { DEBRIEF_DATABASE_URL: database.url } : {}),
    });
    const accepted = await api.post("/v1/calls?profile=dental", autocallsPayload({ id: "audit-1" }), ADMIN);
    callId = accepted.body.call_id;
    await until(() => api.get(`/v1/calls/${callId}`, ADMIN), (call) => call.body.state === "delivered", 20_000);
    deliveryId = (await api.get(`/v1/deliveries?call_id=${callId}`, ADMIN)).body.deliveries[0].id;
  }, 60_000);
  afterAll(async () => api?.close());

  /** The entries, once `count` are there (each is written when its answer has been sent). */
  const entries = async (query = "", count = 1) =>
    (await until(() => api.get(`/v1/audit${query}`, ADMIN), (res) => res.status !== 200 || res.body.entries.length >= count)).body;

  it("records each audited action with the key's name, target and outcome, and never an accepted call", async () => {
    expect((await api.post(`/v1/calls/${callId}/reextract`, { dry_run: true }, OPS)).status).toBe(200);
    expect((await api.post(`/v1/calls/${callId}/review`, { approve: true }, OPS)).status).toBe(409);
    expect((await api.post(`/v1/calls/${callId}/retry`, undefined, OPS)).status).toBe(409);
    expect((await api.post(`/v1/deliveries/${deliveryId}/retry`, undefined, OPS)).status).toBe(409);
    expect((await api.post("/v1/destinations/crm/test", undefined, OPS)).status).toBe(200);
    const started = await api.post("/v1/profiles/dental/backfill", { only_outdated: false }, OPS);
    expect(started.status).toBe(202);
    await api.post(`/v1/backfills/${started.body.backfill_id}/cancel`, undefined, OPS);
    expect((await api.post("/v1/admin/reload", undefined, ADMIN)).status).toBe(200);

    const { entries: all } = await entries("?limit=200", 8);
    const byAction = Object.fromEntries(all.map((entry: { action: string }) => [entry.action, entry]));
    expect(Object.keys(byAction).sort()).toEqual(
      ["backfill.cancel", "backfill.start", "call.reextract", "call.replay", "call.review", "config.reload", "delivery.send_now", "destination.test"].sort(),
    );
    expect(byAction["call.reextract"]).toMatchObject({ key: "ops", target: callId, outcome: "ok", details: { dry_run: true } });
    expect(byAction["call.review"]).toMatchObject({ key: "ops", target: callId, outcome: expect.not.stringMatching(/^ok$/), details: { approved: true } });
    expect(byAction["delivery.send_now"]).toMatchObject({ target: deliveryId, outcome: expect.not.stringMatching(/^ok$/) });
    expect(byAction["destination.test"]).toMatchObject({ target: "crm", outcome: "ok" });
    expect(byAction["backfill.start"]).toMatchObject({ target: "dental", details: { dry_run: false, backfill_id: started.body.backfill_id } });
    expect(byAction["backfill.cancel"]).toMatchObject({ target: started.body.backfill_id });
    expect(byAction["config.reload"]).toMatchObject({
      key: envName,
      target: null,
      outcome: "ok",
      details: {
        before: [expect.objectContaining({ name: "dental", version: expect.any(String) }), expect.objectContaining({ name: "held" })],
        after: [expect.objectContaining({ name: "dental" }), expect.objectContaining({ name: "held" })],
      },
    });
    expect(all.every((entry: { at: string }) => !Number.isNaN(Date.parse(entry.at)))).toBe(true);
  });

  it("filters by action, key, target and time, and pages with a cursor", async () => {
    expect((await entries("?action=call.reextract")).entries).toHaveLength(1);
    expect((await entries(`?key=${encodeURIComponent(envName)}`)).entries.map((entry: { action: string }) => entry.action)).toEqual(["config.reload"]);
    expect((await entries(`?target=${callId}`, 3)).entries).toHaveLength(3);
    expect((await api.get(`/v1/audit?until=2000-01-01T00:00:00Z`, ADMIN)).body.entries).toEqual([]);
    const seen: string[] = [];
    let cursor: string | null = "";
    while (cursor !== null) {
      const page: { entries: { id: string }[]; next_cursor: string | null } = (
        await api.get(`/v1/audit?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, ADMIN)
      ).body;
      expect(page.entries.length).toBeLessThanOrEqual(3);
      seen.push(...page.entries.map((entry) => entry.id));
      cursor = page.next_cursor;
    }
    expect(seen).toEqual((await entries("?limit=200", 8)).entries.map((entry: { id: string }) => entry.id));
    expect((await api.get("/v1/audit?action=call.delete", ADMIN)).status).toBe(400);
  });

  it("records a review decision and carries the reviewer's key name in the call view and the delivered payload", async () => {
    llm.logprobs = "give";
    llm.script = (request) => ({ json: answerFor(request, { status: true, summary: "Budget stated", budget: 4000 }), tokens: { uncertain: { budget: -2 } } });
    try {
      const accepted = await api.post("/v1/calls?profile=held", autocallsPayload({ id: `held-${engine}`, transcript: HELD_TRANSCRIPT }), ADMIN);
      const held = accepted.body.call_id as string;
      await until(() => api.get(`/v1/calls/${held}`, ADMIN), (call) => call.body.state === "needs_review", 20_000);
      const decided = await api.post(`/v1/calls/${held}/review`, { approve: true, values: { budget: 4500 } }, OPS);
      expect(decided.status).toBe(200);
      expect(decided.body.reviewed).toMatchObject({ approved: true, by: "ops", corrected: ["budget"] });
      expect((await api.get(`/v1/calls/${held}`, ADMIN)).body.reviewed).toMatchObject({ by: "ops" });
      const delivered = await until(
        async () => crm.requests.map((request) => JSON.parse(request.body)).find((body) => body.debrief?.call_id === held),
        (body) => body !== undefined,
        20_000,
      );
      expect(delivered.debrief.reviewed).toEqual({ at: expect.any(String), corrected: ["budget"], by: "ops" });
      const [entry] = (await entries(`?action=call.review&target=${held}`)).entries;
      expect(entry).toMatchObject({ key: "ops", outcome: "ok", details: { approved: true, corrected: ["budget"] } });
      expect(JSON.stringify(entry)).not.toContain("4500");
    } finally {
      llm.logprobs = "omit";
      llm.script = (request) => ({ json: answerFor(request) });
    }
  });

  it("records a reload on SIGHUP as the key `signal`", async () => {
    expect(reloadOnSignal(api.service, silentLogger)?.ok).toBe(true);
    const [entry] = (await entries("?key=signal")).entries;
    expect(entry).toMatchObject({ action: "config.reload", target: null, outcome: "ok", details: { changed: false } });
  });

  it("is for admin keys only", async () => {
    const res = await api.get("/v1/audit", OPS);
    expect(res.status).toBe(403);
    expect(res.body.error).toMatchObject({ code: "insufficient_scope", message: expect.stringContaining("admin") });
  });
});

describe.each(ENGINES)("retention of the audit log in the $name store", (engine) => {
  const harness = contractHarness(engine);
  afterAll(async () => {
    await harness.cleanup();
    await engine.dispose();
  });

  it("prunes entries older than the retention with the calls, and keeps newer ones", async () => {
    const { store, outbox } = await harness.open();
    await store.recordAudit({ actor: "ops", action: "call.replay", target: "call_old", outcome: "ok", details: {} });
    harness.clock.advance(10_000);
    const cutoff = harness.clock.now();
    await store.recordAudit({ actor: "ops", action: "call.replay", target: "call_new", outcome: "ok", details: {} });
    await pruneFinished(store, outbox, cutoff);
    expect((await store.listAudit({ limit: 10 })).map((entry) => entry.target)).toEqual(["call_new"]);
  });
});
