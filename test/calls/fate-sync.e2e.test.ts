// The call store's copy of each delivery's fate against the outbox, the truth: a crash between the outbox's write and
// the call store's leaves the call listed in an old state only until the fate sweep (at start-up, then every 30 s).
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { routedFates } from "../../src/calls/fates.js";
import { syncFates, type CallStore } from "../../src/calls/index.js";
import { enqueueCallDeliveries, type ClaimRequest, type CompiledDestination, type DeliveryOutbox } from "../../src/delivery/index.js";
import { autocallsPayload, UNKNOWN_FACTS } from "../fixtures/calls.js";
import { answerFor, startFakeLlm } from "../support/fake-llm.js";
import { until } from "../support/poll.js";
import { startReceiver } from "../support/receiver.js";
import { startTestService } from "../support/service.js";
import { contractHarness, ENGINES } from "../support/stores.js";

const ANY: ClaimRequest = { limit: 10, destinations: new Map(), other: { room: 10, leaseMs: 60_000 } };

/** A destination that takes every call as it is. */
const destination = (name: string) => ({ name, expressions: { name, path: `destinations.${name}` } }) as unknown as CompiledDestination;

/** A call extracted and routed to `destinations`, as the call worker does it, up to (not including) the fate push. */
async function routed(store: CallStore, outbox: DeliveryOutbox, externalId: string, destinations: string[]) {
  const { call } = await store.accept({ profile: "booking", source: "autocalls", call: UNKNOWN_FACTS, externalId, payload: { transcript: "AI: hi" }, state: "accepted" });
  await store.claimDue(10, 60_000);
  const report = await enqueueCallDeliveries({ outbox, destinations: destinations.map(destination), callId: call.id, payload: {} });
  await store.markExtracted(call.id, { extracted_variables: {}, meta: {} }, routedFates(report));
  return call.id;
}

const listed = async (store: CallStore, state: "delivering" | "delivered" | "delivery_failed") => (await store.list({ states: [state], limit: 50 })).map((c) => c.id);

describe.each(ENGINES)("fate sync on $name", (engine) => {
  const harness = contractHarness(engine);
  afterEach(() => harness.cleanup());
  afterAll(() => engine.dispose());

  it("heals a call whose delivery's outcome was recorded in the outbox but never reached the call store", async () => {
    const { store, outbox } = await harness.open();
    const id = await routed(store, outbox, "crash-1", ["crm", "slack"]);
    expect(await syncFates(store, outbox)).toBe(2); // the extraction's own push
    const claims = await outbox.claimDue(ANY);
    for (const claim of claims) {
      const failed = claim.destination === "slack";
      await outbox.recordAttempt(claim, { outcome: failed ? "failed" : "delivered", status: failed ? 410 : 200, latencyMs: 1, error: failed ? "HTTP 410: not retried" : null, responseSnippet: null });
    }
    // The process died here, before it told the call store.
    expect(await listed(store, "delivering")).toEqual([id]);

    expect(await syncFates(store, outbox)).toBe(2); // the sweep
    expect(await listed(store, "delivering")).toEqual([]);
    expect(await listed(store, "delivery_failed")).toEqual([id]);
    expect((await store.listFates(id)).map((f) => [f.destination, f.fate, f.reason_code, f.reason])).toEqual([
      ["crm", "delivered", null, null],
      ["slack", "failed", "dead_lettered", "HTTP 410: not retried"],
    ]);
    expect(await syncFates(store, outbox)).toBe(0); // nothing left unconfirmed

    // The dead letter is sent again from an API instance that dies before telling the call store: the sweep heals it.
    await outbox.retry(claims.find((claim) => claim.destination === "slack")!.id);
    expect(await listed(store, "delivery_failed")).toEqual([id]);
    expect(await syncFates(store, outbox)).toBe(1);
    expect(await listed(store, "delivering")).toEqual([id]);
  });

  it("pushes a delivery that was delivered before its call recorded the extraction, and keeps it delivered", async () => {
    const { store, outbox } = await harness.open();
    const { call } = await store.accept({ profile: "booking", source: "autocalls", call: UNKNOWN_FACTS, externalId: "early", payload: {}, state: "accepted" });
    await store.claimDue(10, 60_000);
    const report = await enqueueCallDeliveries({ outbox, destinations: [destination("crm")], callId: call.id, payload: {} });
    const [claim] = await outbox.claimDue(ANY);
    await outbox.recordAttempt(claim!, { outcome: "delivered", status: 200, latencyMs: 1, error: null, responseSnippet: null });
    await syncFates(store, outbox, { ids: [claim!.id] }); // the delivery worker's push, first
    await store.markExtracted(call.id, { extracted_variables: {}, meta: {} }, routedFates(report)); // then the extraction's write, saying pending
    await syncFates(store, outbox, { ids: report.enqueued.map((d) => d.id) });
    expect(await listed(store, "delivered")).toEqual([call.id]);
  });

  it("sweeps a whole outbox in batches", async () => {
    const { store, outbox } = await harness.open();
    const ids: string[] = [];
    for (let n = 0; n < 3; n++) ids.push(await routed(store, outbox, `batch-${n}`, ["crm", "slack", "sheets", "hubspot"]));
    for (const claim of await outbox.claimDue({ ...ANY, limit: 100 })) {
      await outbox.recordAttempt(claim, { outcome: "delivered", status: 200, latencyMs: 1, error: null, responseSnippet: null });
    }
    expect(await syncFates(store, outbox)).toBe(12);
    expect((await listed(store, "delivered")).sort()).toEqual(ids.sort());
  });
});

describe("after a crash, on restart", () => {
  it("lists a call whose fate the crash left behind in its true state once the start-up sweep has run", async () => {
    const llm = await startFakeLlm((request) => ({ json: answerFor(request, { status: true, summary: "ok" }) }));
    const crm = await startReceiver();
    const dataDir = mkdtempSync(join(tmpdir(), "debrief-fate-crash-"));
    const config = join(dataDir, "debrief.json");
    writeFileSync(config, JSON.stringify({ profiles: { booking: { variables: [], destinations: ["crm"] } }, destinations: { crm: { url: crm.url } } }));
    const env = { OPENAI_BASE_URL: llm.url, DEBRIEF_CONFIG: config, DEBRIEF_DATA_DIR: dataDir, DEBRIEF_ALLOW_PRIVATE_DESTINATIONS: "true" };
    try {
      const first = await startTestService(env);
      const id = (await first.post("/v1/calls?profile=booking", autocallsPayload({ id: 1 }))).body.call_id;
      await until(() => first.get("/v1/calls?state=delivered"), (res) => res.body.calls.length === 1);
      await first.close();
      // What a process killed between its two writes leaves: the outbox says delivered, the call store still pending.
      const calls = new Database(join(dataDir, "calls.sqlite"));
      calls.prepare("UPDATE call_fates SET fate = 'pending', version = 1").run();
      calls.prepare("UPDATE calls SET public_state = 'delivering'").run();
      calls.close();
      const outbox = new Database(join(dataDir, "outbox.sqlite"));
      outbox.prepare("UPDATE deliveries SET fate_version = 1").run();
      outbox.close();

      const restarted = await startTestService(env);
      try {
        const listed = await until(() => restarted.get("/v1/calls?state=delivered"), (res) => res.body.calls.length === 1);
        expect(listed.body.calls.map((c: { call_id: string }) => c.call_id)).toEqual([id]);
        expect((await restarted.get("/v1/calls?state=delivering")).body.calls).toEqual([]);
        expect(crm.requests).toHaveLength(1); // healing the list sends nothing again
      } finally {
        await restarted.close();
      }
    } finally {
      await Promise.all([llm.close(), crm.close()]);
    }
  });
});
