import { Webhook } from "standardwebhooks";
import { afterEach, describe, expect, it } from "vitest";
import { DeliveryWorker, type DeliveryOutbox } from "../../src/delivery/index.js";
import { silentLogger } from "../../src/logger.js";
import { newSecret, onCleanup, runCleanups, setupDelivery } from "./fixtures.js";
import { captureLogs } from "../support/log-capture.js";
import { until } from "../support/poll.js";
import { startReceiver } from "../support/receiver.js";

afterEach(runCleanups);

async function receiver(...args: Parameters<typeof startReceiver>) {
  const started = await startReceiver(...args);
  onCleanup(() => started.close());
  return started;
}

const iso = (ms: number) => new Date(ms).toISOString();

describe("DeliveryWorker retries", () => {
  it("delivers once after 500, 500, 200 with one webhook-id, fresh timestamps and a verifiable signature", async () => {
    const hook = await receiver([{ status: 500 }, { status: 500 }, { status: 200 }]);
    const secret = newSecret();
    const { outbox, worker, clock } = setupDelivery({
      crm: { url: hook.url, secret, retry: { initial_delay_ms: 1_000, max_delay_ms: 60_000 } },
    });
    const delivery = await outbox.enqueue({ callId: "call_1", destination: "crm", payload: { qualified: true } });

    await worker.tick();
    expect(await outbox.get(delivery.id)).toMatchObject({ status: "pending", attempts: 1, last_status: 500, next_attempt_at: iso(clock.now() + 1_000) });
    await worker.tick();
    expect(hook.requests).toHaveLength(1); // not due yet

    clock.advance(1_000);
    await worker.tick();
    expect((await outbox.get(delivery.id))!.next_attempt_at).toBe(iso(clock.now() + 2_000)); // doubled
    clock.advance(2_000);
    await worker.tick();
    clock.advance(60_000);
    await worker.tick();

    expect(await outbox.get(delivery.id)).toMatchObject({ status: "delivered", attempts: 3, last_status: 200, next_attempt_at: null });
    expect(hook.requests).toHaveLength(3);
    const ids = hook.requests.map((request) => request.headers["webhook-id"]);
    expect(new Set(ids)).toEqual(new Set([delivery.webhook_id]));
    const timestamps = hook.requests.map((request) => Number(request.headers["webhook-timestamp"]));
    const firstSecond = timestamps[0]!;
    expect(timestamps).toEqual([firstSecond, firstSecond + 1, firstSecond + 3]);
    const last = hook.requests[2]!;
    expect(new Webhook(secret).verify(last.body, last.headers)).toEqual({ qualified: true });
    expect(hook.requests.every((request) => request.body === last.body)).toBe(true);
  });

  it("signs with every secret during a rotation, and each signature verifies on its own", async () => {
    const hook = await receiver();
    const [oldSecret, newSecretValue] = [newSecret(), newSecret()];
    const { outbox, worker } = setupDelivery({ crm: { url: hook.url, secret: [oldSecret, newSecretValue] } });
    await outbox.enqueue({ callId: "call_1", destination: "crm", payload: { a: 1 } });
    await worker.tick();

    const [request] = hook.requests;
    const signatures = request!.headers["webhook-signature"]!.split(" ");
    expect(signatures).toHaveLength(2);
    expect(signatures.every((signature) => signature.startsWith("v1,"))).toBe(true);
    for (const [index, secret] of [oldSecret, newSecretValue].entries()) {
      const alone = { ...request!.headers, "webhook-signature": signatures[index]! };
      expect(new Webhook(secret).verify(request!.body, alone)).toEqual({ a: 1 });
    }
    expect(() => new Webhook(newSecret()).verify(request!.body, request!.headers)).toThrow();
  });

  it("sends a webhook-id but no signature when the destination has no secret", async () => {
    const hook = await receiver();
    const { outbox, worker } = setupDelivery({ zapier: { url: hook.url, headers: { "X-Team": "sales" } } });
    const delivery = await outbox.enqueue({ callId: "call_1", destination: "zapier", payload: { a: 1 } });
    await worker.tick();
    expect(hook.requests[0]!.headers).toMatchObject({ "webhook-id": delivery.webhook_id, "content-type": "application/json", "x-team": "sales" });
    expect(hook.requests[0]!.headers["webhook-signature"]).toBeUndefined();
    expect(hook.requests[0]!.method).toBe("POST");
  });

  it("waits at least Retry-After before retrying a 429", async () => {
    const hook = await receiver([{ status: 429, headers: { "Retry-After": "2" } }, { status: 200 }]);
    const { outbox, worker, clock } = setupDelivery({ crm: { url: hook.url } });
    const delivery = await outbox.enqueue({ callId: "call_1", destination: "crm", payload: {} });
    const start = clock.now();

    await worker.tick();
    expect((await outbox.get(delivery.id))!.next_attempt_at).toBe(iso(start + 2_000));
    clock.advance(1_999);
    await worker.tick();
    expect(hook.requests).toHaveLength(1);
    clock.advance(1);
    await worker.tick();
    expect(hook.requests).toHaveLength(2);
    expect((await outbox.get(delivery.id))!.status).toBe("delivered");
  });

  it("retries an attempt that timed out", async () => {
    const hook = await receiver([{ hang: true }, { status: 200 }]);
    const { outbox, worker, clock } = setupDelivery({ crm: { url: hook.url, timeout_ms: 200 } });
    const delivery = await outbox.enqueue({ callId: "call_1", destination: "crm", payload: {} });

    await worker.tick();
    const afterTimeout = (await outbox.get(delivery.id))!;
    expect(afterTimeout).toMatchObject({ status: "pending", attempts: 1, last_status: null, last_error: "no response within 200 ms" });
    expect(afterTimeout.attempt_history[0]).toMatchObject({ outcome: "retry", status: null, error: "no response within 200 ms" });

    clock.advance(6_000); // the default schedule's first delay is 5 s ± 20%
    await worker.tick();
    expect((await outbox.get(delivery.id))!.status).toBe("delivered");
    expect(hook.requests).toHaveLength(2);
  });

  it("retries when nothing listens on the destination port", async () => {
    const closed = await startReceiver();
    await closed.close();
    const { outbox, worker } = setupDelivery({ crm: { url: closed.url } });
    const delivery = await outbox.enqueue({ callId: "call_1", destination: "crm", payload: {} });
    await worker.tick();
    expect(await outbox.get(delivery.id)).toMatchObject({ status: "pending", attempts: 1 });
    expect((await outbox.get(delivery.id))!.last_error).toMatch(/ECONNREFUSED/);
  });

  it("dead-letters a 400 at once with its status and at most 20 KB of the response", async () => {
    const hook = await receiver([{ status: 400, body: "x".repeat(100 * 1024) }]);
    const { outbox, worker, clock } = setupDelivery({ crm: { url: hook.url } });
    const delivery = await outbox.enqueue({ callId: "call_1", destination: "crm", payload: {} });

    await worker.tick();
    const failed = (await outbox.get(delivery.id))!;
    expect(failed).toMatchObject({ status: "failed", attempts: 1, last_status: 400, next_attempt_at: null, last_error: "HTTP 400: not retried" });
    expect(Buffer.byteLength(failed.last_response!)).toBe(20 * 1024);
    expect(failed.last_response!.startsWith("xxxx")).toBe(true);

    clock.advance(86_400_000);
    await worker.tick();
    expect(hook.requests).toHaveLength(1);
  });

  it("treats a redirect as a failure and does not follow it", async () => {
    const hook = await receiver([{ status: 302, headers: { Location: "/elsewhere" } }]);
    const { outbox, worker } = setupDelivery({ crm: { url: hook.url } });
    const delivery = await outbox.enqueue({ callId: "call_1", destination: "crm", payload: {} });
    await worker.tick();
    expect(await outbox.get(delivery.id)).toMatchObject({ status: "failed", last_status: 302, last_error: "HTTP 302: redirects are not followed" });
    expect(hook.requests.map((request) => request.path)).toEqual(["/hook"]);
  });

  it("gives up after max_attempts and says so", async () => {
    const hook = await receiver([{ status: 503 }]);
    const { outbox, worker, clock } = setupDelivery({ crm: { url: hook.url, retry: { max_attempts: 2, initial_delay_ms: 1_000 } } });
    const delivery = await outbox.enqueue({ callId: "call_1", destination: "crm", payload: {} });
    await worker.tick();
    clock.advance(1_000);
    await worker.tick();
    expect(await outbox.get(delivery.id)).toMatchObject({ status: "failed", attempts: 2, last_status: 503, last_error: "gave up after 2 attempts; last: HTTP 503" });
  });

  it("reports each finished attempt to the metrics hook and delivered ones to onDelivered", async () => {
    const hook = await receiver([{ status: 500 }, { status: 200 }]);
    const seen: string[] = [];
    const delivered: string[] = [];
    const { outbox, worker, clock } = setupDelivery(
      { crm: { url: hook.url } },
      { worker: { metrics: { attempt: (destination, outcome) => seen.push(`${destination}:${outcome}`) }, onDelivered: (d) => delivered.push(d.id) } },
    );
    const delivery = await outbox.enqueue({ callId: "call_1", destination: "crm", payload: {} });
    await worker.tick();
    clock.advance(10_000);
    await worker.tick();
    expect(seen).toEqual(["crm:retry", "crm:delivered"]);
    expect(delivered).toEqual([delivery.id]);
  });

  it("fails a delivery whose destination was removed from the config, without crashing", async () => {
    const hook = await receiver();
    const { outbox, worker } = setupDelivery({ crm: { url: hook.url } });
    const delivery = await outbox.enqueue({ callId: "call_1", destination: "old_crm", payload: {} });
    await worker.tick();
    expect(await outbox.get(delivery.id)).toMatchObject({ status: "failed", last_error: 'destination "old_crm" is no longer configured' });
  });
});

describe("DeliveryWorker concurrency and shutdown", () => {
  it("keeps a slow destination from delaying a fast one", async () => {
    const slow = await receiver([{ status: 200, delayMs: 800 }]);
    const fast = await receiver();
    const { outbox, worker } = setupDelivery(
      { slow: { url: slow.url }, fast: { url: fast.url } },
      { worker: { globalConcurrency: 3, perDestinationConcurrency: 2, pollIntervalMs: 10 } },
    );
    for (let index = 0; index < 6; index++) await outbox.enqueue({ callId: `call_${index}`, destination: "slow", payload: {} });
    await outbox.enqueue({ callId: "call_fast", destination: "fast", payload: {} });

    const started = Date.now();
    worker.start();
    await fast.waitForRequests(1);
    expect(Date.now() - started).toBeLessThan(400);
    expect(slow.requests.length).toBeLessThanOrEqual(2);
    await slow.waitForRequests(6);
    expect(slow.maxConcurrent).toBe(2);
  });

  it("on stop, lets the in-flight attempt finish and leaves the others pending", async () => {
    const slow = await receiver([{ status: 200, delayMs: 500 }]);
    const { outbox, worker } = setupDelivery({ slow: { url: slow.url } }, { worker: { perDestinationConcurrency: 1, pollIntervalMs: 10 } });
    const ids: string[] = [];
    for (const n of [1, 2, 3]) ids.push((await outbox.enqueue({ callId: `call_${n}`, destination: "slow", payload: {} })).id);

    worker.start();
    await slow.waitForRequests(1);
    await worker.stop(5_000);

    const after = await Promise.all(ids.map((id) => outbox.get(id)));
    expect(after.map((delivery) => delivery!.status)).toEqual(["delivered", "pending", "pending"]);
    expect(after.slice(1).map((delivery) => delivery!.attempts)).toEqual([0, 0]);
    expect(slow.requests).toHaveLength(1);
  });

  it("on a stop deadline, interrupts a hung attempt and keeps it pending without using its budget", async () => {
    const hung = await receiver([{ hang: true }]);
    const { outbox, worker } = setupDelivery({ crm: { url: hung.url, timeout_ms: 60_000 } }, { worker: { pollIntervalMs: 10 } });
    const delivery = await outbox.enqueue({ callId: "call_1", destination: "crm", payload: {} });

    worker.start();
    await hung.waitForRequests(1);
    const stopping = Date.now();
    await worker.stop(100);
    expect(Date.now() - stopping).toBeLessThan(2_000);

    const after = (await outbox.get(delivery.id))!;
    expect(after).toMatchObject({ status: "pending", attempts: 1, run_attempts: 0 });
    expect(after.attempt_history).toEqual([expect.objectContaining({ attempt: 1, outcome: "interrupted", error: "interrupted by shutdown" })]);
  });
});

/** The real outbox, with its claims counted. A proxy, not a copy: every other method runs on the outbox itself. */
function countClaims(outbox: DeliveryOutbox) {
  const counts = { claims: 0 };
  const wrapped = new Proxy(outbox, {
    get(target, key) {
      if (key === "claimDue") {
        return (...args: Parameters<DeliveryOutbox["claimDue"]>) => {
          counts.claims++;
          return target.claimDue(...args);
        };
      }
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { outbox: wrapped, counts };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("DeliveryWorker polling", () => {
  it("claims once for a delivery it has room for: no empty claim after it, none when the attempt ends", async () => {
    const hook = await receiver();
    const setup = setupDelivery({ crm: { url: hook.url } });
    const { outbox, counts } = countClaims(setup.outbox);
    const delivery = await setup.outbox.enqueue({ callId: "call_1", destination: "crm", payload: {} });
    const worker = new DeliveryWorker({ outbox, destinations: setup.destinations, logger: silentLogger, allowPrivate: true, pollIntervalMs: 60_000 });
    onCleanup(() => worker.stop(0));

    worker.start();
    await until(() => setup.outbox.get(delivery.id), (found) => found?.status === "delivered");
    await pause(200);
    expect(counts.claims).toBe(1);
  });

  it("claims again as attempts end while due deliveries wait for a slot, without waiting for the poll", async () => {
    const hook = await receiver([{ status: 200, delayMs: 30 }]);
    const setup = setupDelivery({ crm: { url: hook.url } });
    for (let n = 0; n < 5; n++) await setup.outbox.enqueue({ callId: `call_${n}`, destination: "crm", payload: {} });
    const worker = new DeliveryWorker({
      outbox: setup.outbox,
      destinations: setup.destinations,
      logger: silentLogger,
      allowPrivate: true,
      perDestinationConcurrency: 2,
      pollIntervalMs: 60_000,
    });
    onCleanup(() => worker.stop(0));
    worker.start();
    await hook.waitForRequests(5);
    expect(hook.maxConcurrent).toBe(2);
  });

  it("logs an outbox that fails every poll once, then once per 10 s with the number of failures it did not log", async () => {
    const setup = setupDelivery({ crm: { url: "http://127.0.0.1:9/hook" } });
    const { outbox, counts } = countClaims(setup.outbox);
    setup.outbox.close(); // every claim now fails the same way
    const logs = captureLogs();
    const worker = new DeliveryWorker({ outbox, destinations: setup.destinations, logger: logs.logger, allowPrivate: true, pollIntervalMs: 5, clock: setup.clock.now });
    onCleanup(() => worker.stop(0));
    const failures = () => logs.lines().filter((line) => line.msg === "could not read due deliveries from the outbox");

    worker.start();
    await until(async () => counts.claims, (n) => n >= 30);
    expect(failures()).toHaveLength(1);
    expect(failures()[0]).toMatchObject({ level: 50, err: expect.objectContaining({ message: expect.any(String) }) });

    setup.clock.advance(9_999);
    const before = counts.claims;
    await until(async () => counts.claims, (n) => n >= before + 5);
    expect(failures()).toHaveLength(1);

    setup.clock.advance(1);
    await until(async () => failures().length, (n) => n >= 2);
    expect(failures()).toHaveLength(2);
    expect(failures()[1]!.suppressed).toBeGreaterThanOrEqual(30);
    expect(failures()[1]!.suppressed).toBeLessThan(counts.claims);
  });
});
