// The outbox port's contract: every adapter (SQLite, PostgreSQL) behaves the same, seen through the interface only.
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { webhookIdFor, type ClaimRequest, type DeliveryOutbox } from "../../../src/delivery/index.js";
import { contractHarness, ENGINES } from "../../support/stores.js";

/** Room for everything, every claim leased for `leaseMs`. */
function claimAll(leaseMs = 60_000, extra: Partial<ClaimRequest> = {}): ClaimRequest {
  return { limit: 100, destinations: new Map(), other: { room: 100, leaseMs }, ...extra };
}

describe.each(ENGINES)("DeliveryOutbox on $name", (engine) => {
  const harness = contractHarness(engine);
  async function open(): Promise<DeliveryOutbox & { reopen(): Promise<DeliveryOutbox> }> {
    const stores = await harness.open();
    return Object.assign(stores.outbox, { reopen: async () => (await stores.reopen()).outbox });
  }
  afterEach(() => harness.cleanup());
  afterAll(() => engine.dispose());

  it("enqueues once per call and destination: a second enqueue returns the existing delivery", async () => {
    const outbox = await open();
    const first = await outbox.enqueue({ callId: "call_1", destination: "crm", payload: { v: 1 } });
    const again = await outbox.enqueue({ callId: "call_1", destination: "crm", payload: { v: 2 } });
    const other = await outbox.enqueue({ callId: "call_1", destination: "slack", payload: { v: 1 } });

    expect(again).toEqual(first);
    expect(other.id).not.toBe(first.id);
    expect(await outbox.list()).toHaveLength(2);
    expect(first).toMatchObject({ status: "pending", attempts: 0, call_id: "call_1", destination: "crm", webhook_id: webhookIdFor("call_1", "crm") });
    expect(other.webhook_id).not.toBe(first.webhook_id);
  });

  it("keeps the body's exact bytes, key order included", async () => {
    const outbox = await open();
    await outbox.enqueue({ callId: "call_1", destination: "crm", payload: { z: 1, a: [2, { y: "é", b: null }] } });
    const [claim] = await outbox.claimDue(claimAll());
    expect(claim!.body).toBe('{"z":1,"a":[2,{"y":"é","b":null}]}');
  });

  it("lists newest first, filtered by status, destination and call", async () => {
    const outbox = await open();
    const a = await outbox.enqueue({ callId: "call_1", destination: "crm", payload: {} });
    const b = await outbox.enqueue({ callId: "call_2", destination: "slack", payload: {} });
    const c = await outbox.enqueue({ callId: "call_2", destination: "crm", payload: {} });

    expect((await outbox.list()).map((d) => d.id)).toEqual([c.id, b.id, a.id]);
    expect((await outbox.list({ destination: "crm" })).map((d) => d.id)).toEqual([c.id, a.id]);
    expect((await outbox.list({ callId: "call_2", destination: "slack" })).map((d) => d.id)).toEqual([b.id]);
    expect(await outbox.list({ status: "failed" })).toEqual([]);
    expect((await outbox.list({ limit: 1 })).map((d) => d.id)).toEqual([c.id]);
    expect(await outbox.counts()).toEqual({ pending: 3, delivered: 0, failed: 0 });
    expect(await outbox.hasDeliveries("call_2")).toBe(true);
    expect(await outbox.hasDeliveries("call_3")).toBe(false);
  });

  it("claims a due delivery once, under a lease, and records the attempt as started", async () => {
    const outbox = await open();
    const delivery = await outbox.enqueue({ callId: "call_1", destination: "crm", payload: {} });
    const [claim, ...rest] = await outbox.claimDue(claimAll(45_000));
    expect(rest).toEqual([]);
    expect(claim).toMatchObject({ id: delivery.id, callId: "call_1", webhookId: delivery.webhook_id, attempt: 1, runAttempt: 1, claimedUntil: harness.clock.now() + 45_000 });
    expect(await outbox.claimDue(claimAll())).toEqual([]); // the lease holds
    expect((await outbox.get(delivery.id))!.attempt_history).toEqual([expect.objectContaining({ attempt: 1, finished_at: null, outcome: null })]);
  });

  it("claims a delivery again once its lease has expired, closing the attempt that was never recorded as interrupted", async () => {
    const outbox = await open();
    const delivery = await outbox.enqueue({ callId: "call_1", destination: "crm", payload: {} });
    await outbox.claimDue(claimAll(45_000));
    harness.clock.advance(44_999);
    expect(await outbox.claimDue(claimAll())).toEqual([]);
    harness.clock.advance(1);
    const [again] = await outbox.claimDue(claimAll());
    expect(again).toMatchObject({ attempt: 2, runAttempt: 2 });
    await outbox.recordAttempt(again!, { outcome: "delivered", status: 200, latencyMs: 5, error: null, responseSnippet: "ok" });
    const after = (await outbox.get(delivery.id))!;
    expect(after).toMatchObject({ status: "delivered", attempts: 2 });
    expect(after.attempt_history.map((a) => a.outcome)).toEqual(["interrupted", "delivered"]);
  });

  it("ignores a late result from an attempt whose lease expired and was claimed again", async () => {
    const outbox = await open();
    await outbox.enqueue({ callId: "call_1", destination: "crm", payload: {} });
    const [stale] = await outbox.claimDue(claimAll(1_000));
    harness.clock.advance(1_000);
    const [fresh] = await outbox.claimDue(claimAll(1_000));

    expect(await outbox.recordAttempt(stale!, { outcome: "failed", status: 400, latencyMs: 5, error: "late", responseSnippet: null })).toBeUndefined();
    expect(await outbox.recordAttempt(fresh!, { outcome: "delivered", status: 200, latencyMs: 5, error: null, responseSnippet: "ok" })).toMatchObject({
      status: "delivered",
      last_status: 200,
    });
  });

  it("schedules a retry without a lease: nobody gets it before it is due, anyone after", async () => {
    const outbox = await open();
    const delivery = await outbox.enqueue({ callId: "call_1", destination: "crm", payload: {} });
    const [claim] = await outbox.claimDue(claimAll());
    const next = harness.clock.now() + 5_000;
    expect(
      await outbox.recordAttempt(claim!, { outcome: "retry", nextAttemptAt: next, status: 503, latencyMs: 12.6, error: "HTTP 503", responseSnippet: "busy" }),
    ).toMatchObject({ status: "pending", attempts: 1, last_status: 503, last_error: "HTTP 503", last_response: "busy", next_attempt_at: new Date(next).toISOString() });
    expect(await outbox.claimDue(claimAll())).toEqual([]);
    harness.clock.advance(5_000);
    const other = await outbox.reopen(); // another process (SQLite) or instance (PostgreSQL)
    expect((await other.claimDue(claimAll())).map((c) => c.id)).toEqual([delivery.id]);
    expect((await outbox.get(delivery.id))!.attempt_history[0]).toMatchObject({ outcome: "retry", status: 503, latency_ms: 13, error: "HTTP 503" });
  });

  it("dead-letters, refuses to send again one in flight or delivered, and replays a dead letter with a fresh budget", async () => {
    const outbox = await open();
    const delivery = await outbox.enqueue({ callId: "call_1", destination: "crm", payload: {} });
    await expect(outbox.retry("dlv_missing")).rejects.toMatchObject({ code: "not_found", status: 404 });
    const [claim] = await outbox.claimDue(claimAll());
    await expect(outbox.retry(delivery.id)).rejects.toMatchObject({ code: "conflict", status: 409, message: expect.stringContaining("in flight") });
    await outbox.recordAttempt(claim!, { outcome: "failed", status: 400, latencyMs: 5, error: "HTTP 400: not retried", responseSnippet: "bad" });
    expect(await outbox.list({ status: "failed" })).toEqual([expect.objectContaining({ id: delivery.id, next_attempt_at: null })]);

    const replayed = await outbox.retry(delivery.id);
    expect(replayed).toMatchObject({ id: delivery.id, status: "pending", attempts: 1, run_attempts: 0 });
    expect(replayed).not.toHaveProperty("attempt_history");
    const [again] = await outbox.claimDue(claimAll());
    expect(again).toMatchObject({ attempt: 2, runAttempt: 1 });
    await outbox.recordAttempt(again!, { outcome: "delivered", status: 200, latencyMs: 5, error: null, responseSnippet: "ok" });
    const after = (await outbox.get(delivery.id))!;
    expect(after).toMatchObject({ status: "delivered", attempts: 2, run_attempts: 1 });
    expect(after.attempt_history).toHaveLength(after.attempts);
    await expect(outbox.retry(delivery.id)).rejects.toMatchObject({ code: "conflict", details: [{ path: "status", message: "is delivered" }] });
  });

  it("sends a pending delivery waiting for its next attempt now, its run going on", async () => {
    const outbox = await open();
    const delivery = await outbox.enqueue({ callId: "call_1", destination: "crm", payload: {} });
    const [claim] = await outbox.claimDue(claimAll());
    await outbox.recordAttempt(claim!, { outcome: "retry", nextAttemptAt: harness.clock.now() + 36_000_000, status: 503, latencyMs: 3, error: "HTTP 503", responseSnippet: null });
    expect(await outbox.claimDue(claimAll())).toEqual([]);
    harness.clock.advance(1_000);
    expect(await outbox.retry(delivery.id)).toMatchObject({ status: "pending", run_attempts: 1, next_attempt_at: new Date(harness.clock.now()).toISOString() });
    const [now] = await outbox.claimDue(claimAll());
    expect(now).toMatchObject({ id: delivery.id, attempt: 2, runAttempt: 2 });
    // An attempt whose worker died can be sent now too, once its lease has run out.
    harness.clock.advance(60_000);
    expect(await outbox.retry(delivery.id)).toMatchObject({ status: "pending" });
    expect((await outbox.claimDue(claimAll())).map((c) => c.attempt)).toEqual([3]);
    expect((await outbox.get(delivery.id))!.attempt_history.map((a) => a.outcome)).toEqual(["retry", "interrupted", null]);
  });

  it("keeps one delivery per call, destination and event, each event with its own webhook-id (event 1 keeps the id it always had)", async () => {
    const outbox = await open();
    const first = await outbox.enqueue({ callId: "call_1", destination: "crm", payload: { n: 1 } });
    const again = await outbox.enqueue({ callId: "call_1", destination: "crm", event: 1, payload: { n: 9 } });
    const second = await outbox.enqueue({ callId: "call_1", destination: "crm", event: 2, payload: { n: 2 } });
    expect(again).toEqual(first);
    expect(first).toMatchObject({ event: 1, webhook_id: webhookIdFor("call_1", "crm") });
    expect(webhookIdFor("call_1", "crm", 1)).toBe(webhookIdFor("call_1", "crm"));
    expect(second).toMatchObject({ event: 2, webhook_id: webhookIdFor("call_1", "crm", 2), status: "pending" });
    expect(second.webhook_id).not.toBe(first.webhook_id);
    expect(second.id).not.toBe(first.id);
    expect((await outbox.enqueue({ callId: "call_1", destination: "crm", event: 2, payload: {} })).id).toBe(second.id);
    expect((await outbox.listForCall("call_1")).map((d) => [d.event, d.webhook_id])).toEqual([
      [1, first.webhook_id],
      [2, second.webhook_id],
    ]);
    expect((await outbox.unsyncedFates({ limit: 10 })).map((row) => [row.id, row.event])).toEqual([
      [first.id, 1],
      [second.id, 2],
    ]);
  });

  it("lists each status change until the call store confirms it, and only the newer one after", async () => {
    const outbox = await open();
    const a = await outbox.enqueue({ callId: "call_1", destination: "crm", payload: {} });
    const b = await outbox.enqueue({ callId: "call_2", destination: "crm", payload: {} });
    const unsynced = async (ids?: string[]) => (await outbox.unsyncedFates({ ids, limit: 10 })).map((row) => [row.id, row.status, row.version]);
    expect(await unsynced()).toEqual([[a.id, "pending", 1], [b.id, "pending", 1]]);
    expect(await unsynced([b.id])).toEqual([[b.id, "pending", 1]]);
    await outbox.markFatesSynced([{ id: a.id, version: 1 }, { id: b.id, version: 1 }]);
    expect(await unsynced()).toEqual([]);

    const claims = await outbox.claimDue(claimAll());
    const claimOf = (id: string) => claims.find((claim) => claim.id === id)!;
    await outbox.recordAttempt(claimOf(a.id), { outcome: "retry", nextAttemptAt: harness.clock.now(), status: 503, latencyMs: 1, error: "HTTP 503", responseSnippet: null });
    expect(await unsynced()).toEqual([]); // still pending: its fate did not change
    await outbox.recordAttempt(claimOf(b.id), { outcome: "failed", status: 410, latencyMs: 1, error: "HTTP 410: not retried", responseSnippet: null });
    expect(await outbox.unsyncedFates({ limit: 10 })).toEqual([
      { id: b.id, call_id: "call_2", destination: "crm", event: 1, status: "failed", last_error: "HTTP 410: not retried", version: 2 },
    ]);
    await outbox.retry(b.id);
    await outbox.markFatesSynced([{ id: b.id, version: 2 }]); // a confirmation of the older version changes nothing
    expect(await unsynced()).toEqual([[b.id, "pending", 3]]);
    await outbox.markFatesSynced([{ id: b.id, version: 3 }, { id: b.id, version: 1 }]);
    expect(await unsynced()).toEqual([]);
  });

  it("keeps each destination's failure streak, last error and last success, and counts its last day", async () => {
    const outbox = await open();
    const earlier: string[] = [];
    const attempt = async (callId: string, destination: string, outcome: "delivered" | "retry" | "failed" | "interrupted", error: string | null = null) => {
      const { id } = await outbox.enqueue({ callId, destination, payload: {} });
      const [claim] = await outbox.claimDue(claimAll(60_000, { excludeIds: [...earlier] }));
      earlier.push(id);
      const next = outcome === "retry" ? { nextAttemptAt: harness.clock.now() + 1_000_000 } : {};
      await outbox.recordAttempt(claim!, { outcome, ...next, status: outcome === "delivered" ? 200 : 503, latencyMs: 1, error, responseSnippet: null });
      harness.clock.advance(10);
    };
    expect(await outbox.destinationHealth(0)).toEqual([]);
    await attempt("call_1", "crm", "failed", "HTTP 503 one");
    const started = harness.clock.now();
    await attempt("call_2", "crm", "delivered");
    await attempt("call_3", "crm", "retry", "HTTP 503 two");
    await attempt("call_4", "crm", "failed", "HTTP 503 three");
    await attempt("call_5", "crm", "interrupted", "interrupted by shutdown"); // neither a failure nor a success
    await attempt("call_6", "slack", "delivered");
    expect(await outbox.consecutiveFailures()).toEqual(new Map([["crm", 2], ["slack", 0]]));
    const health = await outbox.destinationHealth(started);
    expect(health).toEqual([
      {
        destination: "crm",
        pending: 2,
        delivered: 1,
        failed: 1, // call_1's dead letter was before the window
        consecutive_failures: 2,
        last_error: "HTTP 503 three",
        last_error_at: started + 20,
        last_delivered_at: started,
      },
      { destination: "slack", pending: 0, delivered: 1, failed: 0, consecutive_failures: 0, last_error: null, last_error_at: null, last_delivered_at: started + 40 },
    ]);
    await attempt("call_7", "crm", "delivered");
    expect((await outbox.consecutiveFailures()).get("crm")).toBe(0);
  });

  it("puts an attempt cut short by shutdown back at once, without using its budget", async () => {
    const outbox = await open();
    const delivery = await outbox.enqueue({ callId: "call_1", destination: "crm", payload: {} });
    const [claim] = await outbox.claimDue(claimAll());
    await outbox.recordAttempt(claim!, { outcome: "interrupted", status: null, latencyMs: 3, error: "interrupted by shutdown", responseSnippet: null });
    expect(await outbox.get(delivery.id)).toMatchObject({ status: "pending", attempts: 1, run_attempts: 0 });
    expect((await outbox.claimDue(claimAll())).map((c) => c.attempt)).toEqual([2]);
  });

  it("stores a response and an error holding NUL bytes and control characters", async () => {
    const outbox = await open();
    const delivery = await outbox.enqueue({ callId: "call_1", destination: "crm", payload: { text: "a\u0000b" } });
    const [claim] = await outbox.claimDue(claimAll());
    expect(JSON.parse(claim!.body)).toEqual({ text: "a\u0000b" });
    const recorded = await outbox.recordAttempt(claim!, {
      outcome: "failed",
      status: 500,
      latencyMs: 1,
      error: "HTTP 500: \u0000\u0001",
      responseSnippet: "bin\u0000ary\u0007",
    });
    expect(recorded).toMatchObject({ status: "failed" });
    const stored = (await outbox.get(delivery.id))!;
    expect(stored.last_response).toMatch(/^bin.ary\u0007$/);
    expect(stored.last_error).toMatch(/^HTTP 500: .\u0001$/);
  });

  it("gives back a response and an error holding NUL bytes exactly as they came, wherever it shows them", async () => {
    const outbox = await open();
    // And the PostgreSQL escaping's own escape character, and text that looks like an escape.
    const error = "HTTP 500: \u0000\u0001 \ue000";
    const snippet = "bin\u0000ary\u0007 \ue0000000";
    const delivery = await outbox.enqueue({ callId: "call_1", destination: "crm", payload: {} });
    const [claim] = await outbox.claimDue(claimAll());
    expect(await outbox.recordAttempt(claim!, { outcome: "failed", status: 500, latencyMs: 1, error, responseSnippet: snippet })).toMatchObject({
      last_error: error,
      last_response: snippet,
    });
    const stored = (await outbox.get(delivery.id))!;
    expect([stored.last_error, stored.last_response]).toEqual([error, snippet]);
    expect(stored.attempt_history.map((attempt) => [attempt.error, attempt.response_snippet])).toEqual([[error, snippet]]);
    expect((await outbox.listForCall("call_1")).map((d) => [d.last_error, d.attempt_history[0]!.error])).toEqual([[error, error]]);
    expect((await outbox.list()).map((d) => d.last_response)).toEqual([snippet]);
    expect((await outbox.unsyncedFates({ limit: 10 })).map((row) => row.last_error)).toEqual([error]);
    expect((await outbox.destinationHealth(0)).map((health) => health.last_error)).toEqual([error]);
  });

  it("takes the oldest due first, no more than each destination has room for, each with its destination's lease", async () => {
    const outbox = await open();
    for (let i = 0; i < 3; i++) {
      await outbox.enqueue({ callId: `call_${i}`, destination: "slow", payload: {} });
      harness.clock.advance(1);
    }
    await outbox.enqueue({ callId: "call_fast", destination: "fast", payload: {} });
    await outbox.enqueue({ callId: "call_gone", destination: "removed", payload: {} });
    const request: ClaimRequest = {
      limit: 10,
      destinations: new Map([
        ["slow", { room: 2, leaseMs: 10_000 }],
        ["fast", { room: 1, leaseMs: 2_000 }],
      ]),
      other: { room: 1, leaseMs: 500 },
    };
    const claims = await outbox.claimDue(request);
    expect(claims.map((c) => [c.callId, c.claimedUntil - harness.clock.now()])).toEqual([
      ["call_0", 10_000],
      ["call_1", 10_000],
      ["call_fast", 2_000],
      ["call_gone", 500],
    ]);
    const full: ClaimRequest = { ...request, destinations: new Map([["slow", { room: 0, leaseMs: 10_000 }]]) };
    expect(await outbox.claimDue(full)).toEqual([]);
    expect((await outbox.claimDue({ ...request, limit: 1 })).map((c) => c.callId)).toEqual(["call_2"]);
  });

  it("never hands the same delivery to two claimers at once", async () => {
    const outbox = await open();
    const other = await outbox.reopen();
    for (let i = 0; i < 40; i++) await outbox.enqueue({ callId: `call_${i}`, destination: "crm", payload: {} });
    const batches = await Promise.all([outbox, other, outbox, other].map((handle) => handle.claimDue(claimAll(60_000, { limit: 15 }))));
    const ids = batches.flat().map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(40);
  });

  it("skips excluded ids", async () => {
    const outbox = await open();
    const a = await outbox.enqueue({ callId: "call_1", destination: "crm", payload: {} });
    const b = await outbox.enqueue({ callId: "call_2", destination: "crm", payload: {} });
    expect((await outbox.claimDue(claimAll(1_000, { excludeIds: [a.id] }))).map((c) => c.id)).toEqual([b.id]);
  });

  it("lists each delivery of a call with its attempts for the call view", async () => {
    const outbox = await open();
    await outbox.enqueue({ callId: "call_1", destination: "crm", payload: {} });
    await outbox.enqueue({ callId: "call_2", destination: "slack", payload: {} });
    const first = (await outbox.claimDue(claimAll())).find((c) => c.callId === "call_1")!;
    await outbox.recordAttempt(first, { outcome: "retry", nextAttemptAt: harness.clock.now(), status: 503, latencyMs: 9, error: "HTTP 503", responseSnippet: null });
    const [second] = await outbox.claimDue(claimAll());
    await outbox.recordAttempt(second!, { outcome: "delivered", status: 200, latencyMs: 4, error: null, responseSnippet: "ok" });

    const [crm, ...rest] = await outbox.listForCall("call_1");
    expect(rest).toEqual([]);
    expect(crm).toMatchObject({ destination: "crm", status: "delivered", attempts: 2 });
    expect(crm!.attempt_history).toEqual([
      expect.objectContaining({ attempt: 1, status: 503, outcome: "retry", error: "HTTP 503", latency_ms: 9 }),
      expect.objectContaining({ attempt: 2, status: 200, outcome: "delivered", error: null }),
    ]);
    expect(crm!.attempt_history[0]!.started_at).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it("prunes delivered rows once their calls have their fates, but keeps dead letters and pending ones", async () => {
    const outbox = await open();
    for (const [n, outcome] of [[1, "delivered"], [2, "failed"]] as const) {
      await outbox.enqueue({ callId: `call_${n}`, destination: "crm", payload: {} });
      const [claim] = await outbox.claimDue(claimAll());
      await outbox.recordAttempt(claim!, { outcome, status: outcome === "delivered" ? 200 : 404, latencyMs: 1, error: null, responseSnippet: null });
    }
    await outbox.enqueue({ callId: "call_3", destination: "crm", payload: {} });
    expect(await outbox.pruneDelivered(harness.clock.now())).toBe(0); // not before the cut-off
    expect(await outbox.pruneDelivered(harness.clock.now() + 1)).toBe(0); // its call does not know it was delivered yet
    await outbox.markFatesSynced((await outbox.unsyncedFates({ limit: 10 })).map(({ id, version }) => ({ id, version })));
    expect(await outbox.pruneDelivered(harness.clock.now() + 1)).toBe(1);
    expect((await outbox.list()).map((d) => d.status)).toEqual(["pending", "failed"]);
    expect(await outbox.hasDeliveries("call_1")).toBe(false);
  });

  it(
    engine.shared
      ? "leaves a claim found at start-up to its lease: another live instance may hold it"
      : "frees a claim found at start-up: it was left by a process that died",
    async () => {
      const outbox = await open();
      const delivery = await outbox.enqueue({ callId: "call_1", destination: "crm", payload: {} });
      await outbox.claimDue(claimAll(600_000));
      const restarted = await outbox.reopen();
      expect(await restarted.releaseAbandonedClaims()).toBe(engine.shared ? 0 : 1);
      const claims = await restarted.claimDue(claimAll());
      expect(claims.map((c) => c.id)).toEqual(engine.shared ? [] : [delivery.id]);
    },
  );
});
