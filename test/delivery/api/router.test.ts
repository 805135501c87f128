import type { AddressInfo } from "node:net";
import express, { type ErrorRequestHandler } from "express";
import { Webhook } from "standardwebhooks";
import { afterEach, describe, expect, it } from "vitest";
import { DebriefError } from "../../../src/errors.js";
import type { VariableSpec } from "../../../src/schema/index.js";
import { deliveriesRouter } from "../../../src/delivery/index.js";
import { newSecret, onCleanup, runCleanups, setupDelivery } from "../fixtures.js";
import { startReceiver, type ScriptedResponse } from "../../support/receiver.js";

afterEach(runCleanups);

/** The profiles a test sample may be built from. */
const PROFILES: Record<string, VariableSpec[]> = {
  dental: [
    { name: "insurance", type: "string", description: "The patient's insurer" },
    { name: "visit", type: "enum", options: ["cleaning", "filling"], description: "What the visit is for" },
    { name: "visit_date", type: "date", description: "When" },
    { name: "new_patient", type: "boolean", description: "First visit" },
    { name: "teeth", type: "list", description: "Teeth concerned" },
    { name: "copay", type: "number", description: "Copay in dollars" },
  ],
};

/** The app as the lead mounts it: the router under /v1, then an error middleware rendering DebriefErrors. */
async function startApi(responses: ScriptedResponse[] = [{ status: 200 }], extra: (hookUrl: string) => Record<string, unknown> = () => ({})) {
  const hook = await startReceiver(responses);
  onCleanup(() => hook.close());
  const secret = newSecret();
  const setup = setupDelivery({ crm: { url: hook.url, secret }, slack: { url: hook.url }, ...extra(hook.url) });
  const app = express();
  let woken = 0;
  const worker = { wake: () => void woken++ };
  app.use(
    "/v1",
    deliveriesRouter({ outbox: setup.outbox, worker, destinations: setup.destinations, allowPrivate: true, profileVariables: (name) => PROFILES[name] }),
  );
  const renderErrors: ErrorRequestHandler = (error, _req, res, _next) => {
    if (error instanceof DebriefError) res.status(error.status).json({ error: { code: error.code, message: error.message, details: error.details } });
    else res.status(500).json({ error: { code: "internal", message: String(error) } });
  };
  app.use(renderErrors);
  const server = app.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  onCleanup(() => new Promise((resolve) => server.close(resolve)));
  onCleanup(() => server.closeAllConnections());
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  const call = async (method: string, path: string) => {
    const response = await fetch(`${base}${path}`, { method });
    return { status: response.status, body: (await response.json()) as any };
  };
  return {
    ...setup,
    hook,
    secret,
    call,
    /** How often the route woke the workers. */
    get woken() {
      return woken;
    },
  };
}

describe("deliveries API", () => {
  it("lists deliveries newest first, filtered by status and destination", async () => {
    const api = await startApi([{ status: 200 }, { status: 422 }]);
    const first = await api.outbox.enqueue({ callId: "call_1", destination: "crm", payload: {} });
    await api.worker.tick();
    const second = await api.outbox.enqueue({ callId: "call_2", destination: "crm", payload: {} });
    const third = await api.outbox.enqueue({ callId: "call_2", destination: "slack", payload: {} });

    const all = await api.call("GET", "/deliveries");
    expect(all.status).toBe(200);
    expect(all.body.deliveries.map((d: { id: string }) => d.id)).toEqual([third.id, second.id, first.id]);
    expect(Object.keys(all.body.deliveries[2]).sort()).toEqual(
      ["id", "call_id", "destination", "event", "status", "attempts", "run_attempts", "last_status", "next_attempt_at", "created_at", "delivered_at", "last_error", "last_response", "webhook_id"].sort(),
    );
    expect((await api.call("GET", "/deliveries?status=delivered")).body.deliveries.map((d: { id: string }) => d.id)).toEqual([first.id]);
    expect((await api.call("GET", "/deliveries?status=pending&destination=slack")).body.deliveries.map((d: { id: string }) => d.id)).toEqual([third.id]);
    expect((await api.call("GET", "/deliveries?limit=1")).body.deliveries).toHaveLength(1);
  });

  it("answers 400 naming the status parameter when it is not a known status", async () => {
    const api = await startApi();
    const response = await api.call("GET", "/deliveries?status=sent");
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe("invalid_request");
    expect(response.body.error.message).toContain('"status"');
    expect(response.body.error.details).toEqual([{ path: "status", message: "must be one of pending, delivered, failed" }]);
    expect((await api.call("GET", "/deliveries?limit=5000")).body.error.details[0].path).toBe("limit");
  });

  it("shows one delivery with its attempts", async () => {
    const api = await startApi([{ status: 500 }]);
    const delivery = await api.outbox.enqueue({ callId: "call_1", destination: "crm", payload: {} });
    await api.worker.tick();
    const response = await api.call("GET", `/deliveries/${delivery.id}`);
    expect(response.body.delivery).toMatchObject({ id: delivery.id, attempts: 1, attempt_history: [{ attempt: 1, status: 500, outcome: "retry" }] });
    expect((await api.call("GET", "/deliveries/dlv_missing")).status).toBe(404);
  });

  it("replays a dead-lettered delivery to success with the same webhook-id", async () => {
    const api = await startApi([{ status: 400, body: "bad phone" }]);
    const delivery = await api.outbox.enqueue({ callId: "call_1", destination: "crm", payload: { phone: "+15555550123" } });
    await api.worker.tick();
    expect(await api.outbox.get(delivery.id)).toMatchObject({ status: "failed", last_status: 400, last_response: "bad phone" });

    api.hook.script([{ status: 200 }]);
    const replay = await api.call("POST", `/deliveries/${delivery.id}/retry`);
    expect(replay.status).toBe(200);
    expect(replay.body.delivery).toMatchObject({ id: delivery.id, status: "pending", attempts: 1, run_attempts: 0 });
    await api.worker.tick();

    expect(await api.outbox.get(delivery.id)).toMatchObject({ status: "delivered", attempts: 2, run_attempts: 1 });
    expect((await api.outbox.get(delivery.id))!.attempt_history.map((a) => a.attempt)).toEqual([1, 2]);
    expect(api.hook.requests.map((r) => r.headers["webhook-id"])).toEqual([delivery.webhook_id, delivery.webhook_id]);
  });

  it("sends a delivery waiting out a long backoff now, once the receiver is back, its run going on", async () => {
    const api = await startApi([{ status: 503 }, { status: 200 }], (url) => ({
      crm: { url, retry: { initial_delay_ms: 10 * 3_600_000, max_delay_ms: 10 * 3_600_000 } },
    }));
    const delivery = await api.outbox.enqueue({ callId: "call_1", destination: "crm", payload: {} });
    await api.worker.tick();
    expect(await api.outbox.get(delivery.id)).toMatchObject({ status: "pending", next_attempt_at: new Date(api.clock.now() + 10 * 3_600_000).toISOString() });
    await api.worker.tick();
    expect(api.hook.requests).toHaveLength(1); // ten hours to go

    const sent = await api.call("POST", `/deliveries/${delivery.id}/retry`);
    expect(sent.status).toBe(200);
    expect(sent.body.delivery).toMatchObject({ status: "pending", attempts: 1, run_attempts: 1, next_attempt_at: new Date(api.clock.now()).toISOString() });
    expect(api.woken).toBe(1);
    await api.worker.tick();
    expect(api.hook.requests).toHaveLength(2);
    expect(await api.outbox.get(delivery.id)).toMatchObject({ status: "delivered", attempts: 2, run_attempts: 2 });
  });

  it("answers 404 for an unknown delivery, and 409 for a delivered one or one with an attempt in flight", async () => {
    const api = await startApi();
    const missing = await api.call("POST", "/deliveries/dlv_nope/retry");
    expect(missing).toMatchObject({ status: 404, body: { error: { code: "not_found" } } });

    const delivered = await api.outbox.enqueue({ callId: "call_1", destination: "crm", payload: {} });
    await api.worker.tick();
    const done = await api.call("POST", `/deliveries/${delivered.id}/retry`);
    expect(done).toMatchObject({ status: 409, body: { error: { code: "conflict", details: [{ path: "status", message: "is delivered" }] } } });

    const inFlight = await api.outbox.enqueue({ callId: "call_2", destination: "crm", payload: {} });
    await api.outbox.claimDue({ limit: 1, destinations: new Map(), other: { room: 1, leaseMs: 60_000 } });
    const busy = await api.call("POST", `/deliveries/${inFlight.id}/retry`);
    expect(busy).toMatchObject({ status: 409, body: { error: { code: "conflict" } } });
    expect(busy.body.error.message).toContain("in flight");
    expect(api.woken).toBe(0);
  });
});

describe("destination test endpoint", () => {
  it("sends a signed Autocalls-shaped sample straight to the destination and reports what came back", async () => {
    const api = await startApi([{ status: 200, body: "thanks" }]);
    const response = await api.call("POST", "/destinations/crm/test");

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ ok: true, status: 200, body_snippet: "thanks", error: null, latency_ms: expect.any(Number) });
    const [request] = api.hook.requests;
    const sample = new Webhook(api.secret).verify(request!.body, request!.headers) as Record<string, any>;
    expect(sample).toMatchObject({ id: expect.any(Number), duration: expect.any(Number), extracted_variables: { status: true, summary: expect.any(String) } });
    expect(request!.headers["webhook-id"]).toBe(response.body.webhook_id);
    expect(await api.outbox.list()).toEqual([]); // not through the outbox
  });

  it("applies the destination's transform to the sample, and reports a failing receiver", async () => {
    const api = await startApi([{ status: 500, body: "down" }], (url) => ({
      shaped: { url, transform: "{ 'phone': customer_phone }" },
      closed: { url: "http://127.0.0.1:1/unused" },
    }));
    const failing = await api.call("POST", "/destinations/shaped/test");
    expect(failing.body).toMatchObject({ ok: false, status: 500, body_snippet: "down" });
    expect(JSON.parse(api.hook.requests[0]!.body)).toEqual({ phone: expect.stringMatching(/^\+\d+$/) });

    const unreachable = await api.call("POST", "/destinations/closed/test");
    expect(unreachable.body).toMatchObject({ ok: false, status: null, error: expect.stringMatching(/ECONNREFUSED/) });
  });

  it("sends a sample built from a profile's variables when one is named, each with a value of its type", async () => {
    const api = await startApi([{ status: 200 }]);
    const response = await api.call("POST", "/destinations/crm/test?profile=dental");
    expect(response.body).toMatchObject({ ok: true, status: 200 });
    const sample = new Webhook(api.secret).verify(api.hook.requests[0]!.body, api.hook.requests[0]!.headers) as Record<string, any>;
    expect(sample.extracted_variables).toEqual({
      status: true,
      summary: expect.any(String),
      insurance: expect.any(String),
      visit: "cleaning",
      visit_date: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/),
      new_patient: true,
      teeth: [expect.any(String), expect.any(String)],
      copay: expect.any(Number),
    });
    // Not the generic sales sample's fields.
    expect(sample.extracted_variables).not.toHaveProperty("budget");
  });

  it("answers 404 for an unknown profile, and 400 for a parameter it does not take", async () => {
    const api = await startApi();
    expect(await api.call("POST", "/destinations/crm/test?profile=nope")).toMatchObject({
      status: 404,
      body: { error: { code: "profile_not_found", message: 'No profile named "nope"' } },
    });
    expect(await api.call("POST", "/destinations/crm/test?profle=dental")).toMatchObject({ status: 400, body: { error: { code: "invalid_request" } } });
    expect(api.hook.requests).toHaveLength(0);
  });

  it("answers 404 for an unknown destination", async () => {
    const api = await startApi();
    expect(await api.call("POST", "/destinations/nope/test")).toMatchObject({ status: 404, body: { error: { code: "not_found" } } });
  });
});
