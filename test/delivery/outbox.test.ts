import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { compileDestinations, DeliveryOutbox, DeliveryWorker, LEASE_GRACE_MS, webhookIdFor } from "../../src/delivery/index.js";
import { silentLogger } from "../../src/logger.js";
import { fakeClock, onCleanup, runCleanups, setupDelivery, tempDir } from "./fixtures.js";
import { startReceiver } from "../support/receiver.js";

afterEach(runCleanups);

async function receiver(...args: Parameters<typeof startReceiver>) {
  const started = await startReceiver(...args);
  onCleanup(() => started.close());
  return started;
}

function openOutbox(file: string, clock = fakeClock()) {
  const outbox = DeliveryOutbox.open(file, clock.now);
  onCleanup(() => outbox.close());
  return outbox;
}

describe("DeliveryOutbox", () => {
  it("enqueues once per call and destination: a second enqueue returns the existing delivery", () => {
    const outbox = openOutbox(join(tempDir(), "outbox.sqlite"));
    const first = outbox.enqueue({ callId: "call_1", destination: "crm", payload: { v: 1 } });
    const again = outbox.enqueue({ callId: "call_1", destination: "crm", payload: { v: 2 } });
    const other = outbox.enqueue({ callId: "call_1", destination: "slack", payload: { v: 1 } });

    expect(again).toEqual(first);
    expect(other.id).not.toBe(first.id);
    expect(outbox.list()).toHaveLength(2);
    expect(first).toMatchObject({ status: "pending", attempts: 0, call_id: "call_1", destination: "crm", webhook_id: webhookIdFor("call_1", "crm") });
    expect(other.webhook_id).not.toBe(first.webhook_id);
  });

  it("lists newest first, filtered by status, destination and call", () => {
    const outbox = openOutbox(join(tempDir(), "outbox.sqlite"));
    const a = outbox.enqueue({ callId: "call_1", destination: "crm", payload: {} });
    const b = outbox.enqueue({ callId: "call_2", destination: "slack", payload: {} });
    const c = outbox.enqueue({ callId: "call_2", destination: "crm", payload: {} });

    expect(outbox.list().map((d) => d.id)).toEqual([c.id, b.id, a.id]);
    expect(outbox.list({ destination: "crm" }).map((d) => d.id)).toEqual([c.id, a.id]);
    expect(outbox.list({ callId: "call_2", destination: "slack" }).map((d) => d.id)).toEqual([b.id]);
    expect(outbox.list({ status: "failed" })).toEqual([]);
    expect(outbox.list({ limit: 1 }).map((d) => d.id)).toEqual([c.id]);
    expect(outbox.counts()).toEqual({ pending: 3, delivered: 0, failed: 0 });
  });

  it("keeps a delivery waiting for its retry across a restart, then delivers it", async () => {
    const hook = await receiver([{ status: 500 }, { status: 200 }]);
    const clock = fakeClock();
    const first = setupDelivery({ crm: { url: hook.url } }, { clock });
    const delivery = first.outbox.enqueue({ callId: "call_1", destination: "crm", payload: { n: 1 } });
    await first.worker.tick();
    await first.worker.stop(1_000);
    first.outbox.close(); // the process goes away mid-wait

    clock.advance(10_000);
    const second = setupDelivery({ crm: { url: hook.url } }, { clock, file: first.file });
    expect(second.outbox.get(delivery.id)).toMatchObject({ status: "pending", attempts: 1 });
    await second.worker.tick();

    expect(second.outbox.get(delivery.id)).toMatchObject({ status: "delivered", attempts: 2 });
    expect(hook.requests.map((r) => r.headers["webhook-id"])).toEqual([delivery.webhook_id, delivery.webhook_id]);
  });

  it("retries an attempt that was claimed but never recorded, once its lease expires", async () => {
    const hook = await receiver();
    const clock = fakeClock();
    const first = setupDelivery({ crm: { url: hook.url } }, { clock });
    const delivery = first.outbox.enqueue({ callId: "call_1", destination: "crm", payload: {} });
    const [due] = first.outbox.findDue({ limit: 10 });
    const claim = first.outbox.claim(due!.id, 45_000)!;
    expect(claim).toMatchObject({ id: delivery.id, attempt: 1, runAttempt: 1, claimedUntil: clock.now() + 45_000 });
    first.outbox.close(); // "crash": the attempt is never recorded

    const second = setupDelivery({ crm: { url: hook.url } }, { clock, file: first.file });
    await second.worker.tick();
    expect(hook.requests).toHaveLength(0); // the lease still holds

    clock.advance(45_000);
    await second.worker.tick();
    const after = second.outbox.get(delivery.id)!;
    expect(after).toMatchObject({ status: "delivered", attempts: 2 });
    expect(after.attempt_history.map((a) => a.outcome)).toEqual(["interrupted", "delivered"]);
    expect(hook.requests).toHaveLength(1);
  });

  it("ignores a late result from an attempt whose lease expired and was claimed again", () => {
    const clock = fakeClock();
    const outbox = openOutbox(join(tempDir(), "outbox.sqlite"), clock);
    const delivery = outbox.enqueue({ callId: "call_1", destination: "crm", payload: {} });
    const stale = outbox.claim(delivery.id, 1_000)!;
    clock.advance(1_000);
    const fresh = outbox.claim(delivery.id, 1_000)!;

    expect(outbox.recordAttempt(stale, { outcome: "failed", status: 400, latencyMs: 5, error: "late", responseSnippet: null })).toBeUndefined();
    expect(outbox.recordAttempt(fresh, { outcome: "delivered", status: 200, latencyMs: 5, error: null, responseSnippet: "ok" })).toMatchObject({
      status: "delivered",
    });
  });

  it("lists each delivery of a call with its attempts for the call view", async () => {
    const hook = await receiver([{ status: 503 }, { status: 200 }]);
    const { outbox, worker, clock } = setupDelivery({ crm: { url: hook.url }, slack: { url: hook.url } });
    outbox.enqueue({ callId: "call_1", destination: "crm", payload: {} });
    outbox.enqueue({ callId: "call_2", destination: "slack", payload: {} });
    await worker.tick();
    clock.advance(10_000);
    await worker.tick();

    const [crm, ...rest] = outbox.listForCall("call_1");
    expect(rest).toEqual([]);
    expect(crm).toMatchObject({ destination: "crm", status: "delivered", attempts: 2 });
    expect(crm!.attempt_history).toEqual([
      expect.objectContaining({ attempt: 1, status: 503, outcome: "retry", error: "HTTP 503", latency_ms: expect.any(Number) }),
      expect.objectContaining({ attempt: 2, status: 200, outcome: "delivered", error: null }),
    ]);
    expect(crm!.attempt_history[0]!.started_at).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it("prunes delivered rows but keeps dead letters", async () => {
    const hook = await receiver([{ status: 200 }, { status: 404 }]);
    const { outbox, worker, clock } = setupDelivery({ crm: { url: hook.url } }, { worker: { globalConcurrency: 1 } });
    outbox.enqueue({ callId: "call_1", destination: "crm", payload: {} });
    outbox.enqueue({ callId: "call_2", destination: "crm", payload: {} });
    await worker.tick();
    expect(outbox.pruneDelivered(clock.now() + 1)).toBe(1);
    expect(outbox.list().map((d) => d.status)).toEqual(["failed"]);
  });

  it("survives SIGKILL in the middle of an attempt: the receiver gets the payload after restart", async () => {
    const hook = await receiver([{ hang: true }, { status: 200 }]);
    const file = join(tempDir(), "outbox.sqlite");
    const child = spawn(process.execPath, ["--import", "tsx", join(import.meta.dirname, "crash-child.ts"), file, hook.url], { stdio: "inherit" });
    const exited = new Promise((resolve) => child.on("exit", resolve));
    onCleanup(() => child.kill("SIGKILL"));
    await hook.waitForRequests(1, 15_000);
    child.kill("SIGKILL");
    await exited;

    // Restart after the lease (timeout 60 s + grace) has run out.
    const clock = fakeClock(Date.now() + 60_000 + LEASE_GRACE_MS + 1_000);
    const outbox = openOutbox(file, clock);
    const worker = new DeliveryWorker({ outbox, destinations: compileDestinations({ crm: { url: hook.url } }, {}, { allowPrivate: true }), logger: silentLogger, allowPrivate: true });
    onCleanup(() => worker.stop(0));
    await worker.tick();

    const [delivery] = outbox.listForCall("call_crash");
    expect(delivery).toMatchObject({ status: "delivered", attempts: 2 });
    expect(delivery!.attempt_history.map((a) => a.outcome)).toEqual(["interrupted", "delivered"]);
    expect(hook.requests).toHaveLength(2);
    expect(hook.requests[1]!.headers["webhook-id"]).toBe(hook.requests[0]!.headers["webhook-id"]);
    expect(JSON.parse(hook.requests[1]!.body)).toEqual({ survived: true });
  }, 20_000);
});
