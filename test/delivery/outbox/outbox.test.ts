// The SQLite outbox across restarts of its one process: waiting retries, leases left by a crash, SIGKILL mid-attempt.
// What every adapter must do is in outbox.contract.test.ts.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { compileDestinations, DeliveryWorker, LEASE_GRACE_MS, SqliteOutbox } from "../../../src/delivery/index.js";
import { silentLogger } from "../../../src/logger.js";
import { fakeClock, onCleanup, runCleanups, setupDelivery, tempDir } from "../fixtures.js";
import { startReceiver } from "../../support/receiver.js";

afterEach(runCleanups);

async function receiver(...args: Parameters<typeof startReceiver>) {
  const started = await startReceiver(...args);
  onCleanup(() => started.close());
  return started;
}

function openOutbox(file: string, clock = fakeClock()) {
  const outbox = SqliteOutbox.open(file, clock.now);
  onCleanup(() => outbox.close());
  return outbox;
}

describe("the SQLite outbox across restarts", () => {
  it("keeps a delivery waiting for its retry across a restart, then delivers it", async () => {
    const hook = await receiver([{ status: 500 }, { status: 200 }]);
    const clock = fakeClock();
    const first = setupDelivery({ crm: { url: hook.url } }, { clock });
    const delivery = await first.outbox.enqueue({ callId: "call_1", destination: "crm", payload: { n: 1 } });
    await first.worker.tick();
    await first.worker.stop(1_000);
    await first.outbox.close(); // the process goes away mid-wait

    clock.advance(10_000);
    const second = setupDelivery({ crm: { url: hook.url } }, { clock, file: first.file });
    expect(await second.outbox.get(delivery.id)).toMatchObject({ status: "pending", attempts: 1 });
    await second.worker.tick();

    expect(await second.outbox.get(delivery.id)).toMatchObject({ status: "delivered", attempts: 2 });
    expect(hook.requests.map((r) => r.headers["webhook-id"])).toEqual([delivery.webhook_id, delivery.webhook_id]);
  });

  it("retries an attempt that was claimed but never recorded, once its lease expires", async () => {
    const hook = await receiver();
    const clock = fakeClock();
    const first = setupDelivery({ crm: { url: hook.url } }, { clock });
    const delivery = await first.outbox.enqueue({ callId: "call_1", destination: "crm", payload: {} });
    const [claim] = await first.outbox.claimDue({ limit: 10, destinations: new Map(), other: { room: 1, leaseMs: 45_000 } });
    expect(claim).toMatchObject({ id: delivery.id, attempt: 1, runAttempt: 1, claimedUntil: clock.now() + 45_000 });
    await first.outbox.close(); // "crash": the attempt is never recorded

    const second = setupDelivery({ crm: { url: hook.url } }, { clock, file: first.file });
    await second.worker.tick();
    expect(hook.requests).toHaveLength(0); // the lease still holds

    clock.advance(45_000);
    await second.worker.tick();
    const after = (await second.outbox.get(delivery.id))!;
    expect(after).toMatchObject({ status: "delivered", attempts: 2 });
    expect(after.attempt_history.map((a) => a.outcome)).toEqual(["interrupted", "delivered"]);
    expect(hook.requests).toHaveLength(1);
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

    const [delivery] = await outbox.listForCall("call_crash");
    expect(delivery).toMatchObject({ status: "delivered", attempts: 2 });
    expect(delivery!.attempt_history.map((a) => a.outcome)).toEqual(["interrupted", "delivered"]);
    expect(hook.requests).toHaveLength(2);
    expect(hook.requests[1]!.headers["webhook-id"]).toBe(hook.requests[0]!.headers["webhook-id"]);
    expect(JSON.parse(hook.requests[1]!.body)).toEqual({ survived: true });
  }, 20_000);
});
