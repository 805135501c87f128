// The post-call pipeline end to end: a platform posts a call, Debrief extracts it with the (loopback) LLM
// and delivers the enriched payload to real loopback receivers.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Webhook } from "standardwebhooks";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { answerFor, startFakeLlm, type FakeLlm, type RecordedRequest } from "../support/fake-llm.js";
import { startReceiver, type Receiver } from "../support/receiver.js";
import { startTestService, type TestService } from "../support/service.js";
import { AUTOCALLS_TURNS, autocallsPayload, THOUGHTLY_TURNS } from "../fixtures/calls.js";
import { until } from "../support/poll.js";

const SECRET = `whsec_${Buffer.from("debrief-test-secret-0123456789").toString("base64")}`;

const answer = (request: RecordedRequest, values: Record<string, unknown> = {}) =>
  answerFor(request, { status: true, summary: "Demo booked", plan: "pro", ...values });



let llm: FakeLlm;
let crm: Receiver;
let slack: Receiver;
const services: TestService[] = [];

function writeConfig(overrides: { booking?: Record<string, unknown>; crm?: Record<string, unknown>; extraction?: unknown } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "debrief-pipeline-"));
  const file = join(dir, "debrief.json");
  writeFileSync(
    file,
    JSON.stringify({
      profiles: {
        booking: {
          system_prompt: "Book product demos.",
          variables: [{ name: "plan", type: "enum", options: ["basic", "pro"], description: "The plan the customer wants a demo of" }],
          destinations: ["crm", "slack_qualified"],
          ...overrides.booking,
        },
      },
      destinations: {
        crm: { url: crm.url, secret: SECRET, headers: { "X-API-Token": "${CRM_TOKEN}" }, retry: { max_attempts: 3, initial_delay_ms: 100, max_delay_ms: 200 }, ...overrides.crm },
        slack_qualified: { url: slack.url, when: "extracted_variables.plan = 'basic'", transform: "{ 'text': 'Qualified: ' & customer_phone }" },
      },
      extraction: overrides.extraction ?? { retry: { max_attempts: 3, initial_delay_ms: 100, max_delay_ms: 200 } },
    }),
  );
  return file;
}

async function pipelineService(config = writeConfig(), env: Record<string, string> = {}) {
  const service = await startTestService({
    OPENAI_BASE_URL: llm.url,
    DEBRIEF_CONFIG: config,
    DEBRIEF_ALLOW_PRIVATE_DESTINATIONS: "true",
    DEBRIEF_LLM_MAX_RETRIES: "0",
    CRM_TOKEN: "crm-token-1",
    ...env,
  });
  services.push(service);
  return service;
}

beforeAll(async () => {
  llm = await startFakeLlm((request) => ({ json: answer(request) }));
  crm = await startReceiver();
  slack = await startReceiver();
});
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.close()));
  llm.requests.length = 0;
  llm.script = (request) => ({ json: answer(request) });
  crm.script([{ status: 200 }]);
  crm.requests.length = 0;
  slack.requests.length = 0;
});
afterAll(async () => {
  await Promise.all([llm.close(), crm.close(), slack.close()]);
});

describe("POST /v1/calls", () => {
  it("accepts a call, extracts it, and delivers the enriched, signed payload", async () => {
    const service = await pipelineService();
    const accepted = await service.post("/v1/calls?profile=booking", autocallsPayload());
    expect(accepted.status).toBe(202);
    expect(accepted.body).toEqual({ call_id: expect.stringMatching(/^call_/), state: "accepted" });

    await crm.waitForRequests(1);
    const delivery = crm.requests[0]!;
    const body = JSON.parse(delivery.body);
    // Every original field survives, for receivers built for Autocalls' webhook.
    expect(body).toMatchObject({
      id: 12345,
      customer_phone: "+15551234567",
      duration: 125,
      status: "completed",
      input_variables: { customer_name: "John Doe" },
      recording_url: "https://app.autocalls.ai/storage/recordings/call-12345.mp4",
      campaign: { id: 7, name: "Spring" },
      extracted_variables: { status: true, summary: "Demo booked", plan: "pro" },
      formatted_transcript: "AI: Hello! This is Sarah from Autocalls.\nCustomer: Hi, I'm doing well, thanks. I'd like a demo of the Pro plan.\nAI: Great, you're booked for a demo.",
      debrief: { call_id: accepted.body.call_id, profile: "booking", model: "gpt-4o-mini", cached: false },
    });
    expect(body.transcript).toHaveLength(3);
    expect(body.transcript[0]).toMatchObject({ text: "Hello! This is Sarah from Autocalls.", type: "transcript", sender: "bot" });
    expect(delivery.headers["x-api-token"]).toBe("crm-token-1");
    expect(delivery.headers["webhook-id"]).toMatch(/^msg_/);
    expect(() => new Webhook(SECRET).verify(delivery.body, delivery.headers)).not.toThrow();
    // `when` was false for Slack (plan is not basic): nothing sent there.
    expect(slack.requests).toHaveLength(0);

    const call = await until(
      () => service.get(`/v1/calls/${accepted.body.call_id}`),
      (res) => res.body.state === "delivered",
    );
    expect(call.body).toMatchObject({ state: "delivered", extracted_variables: { plan: "pro" }, external_id: "12345" });
    expect(call.body.destinations).toEqual([
      expect.objectContaining({ destination: "crm", fate: "delivered", reason: null, deliveries: [expect.objectContaining({ status: "delivered", attempts: 1 })] }),
      expect.objectContaining({ destination: "slack_qualified", fate: "skipped", reason: expect.objectContaining({ code: "when_false" }), deliveries: [] }),
    ]);
  });

  it("sends to a destination whose `when` holds, with the body its `transform` builds", async () => {
    llm.script = (request) => ({ json: answer(request, { plan: "basic" }) });
    const service = await pipelineService();
    await service.post("/v1/calls?profile=booking", autocallsPayload({ id: "thoughtly-1", transcript: THOUGHTLY_TURNS }));
    await slack.waitForRequests(1);
    expect(JSON.parse(slack.requests[0]!.body)).toEqual({ text: "Qualified: +15551234567" });
    expect(slack.requests[0]!.headers["webhook-id"]).toMatch(/^msg_/);
    expect(slack.requests[0]!.headers["webhook-signature"]).toBeUndefined();
  });

  it("answers a repeated call with its current state, and neither extracts nor delivers it twice", async () => {
    const service = await pipelineService();
    const first = await service.post("/v1/calls?profile=booking", autocallsPayload({ id: 777 }));
    await crm.waitForRequests(1);
    const again = await service.post("/v1/calls?profile=booking", autocallsPayload({ id: 777 }));
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ call_id: first.body.call_id, duplicate: true });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(llm.requests).toHaveLength(1);
    expect(crm.requests).toHaveLength(1);
  });

  it("stores a call that did not complete, with why, and neither extracts nor delivers it", async () => {
    const service = await pipelineService();
    const res = await service.post("/v1/calls?profile=booking", autocallsPayload({ id: 778, status: "busy" }));
    expect(res.status).toBe(202);
    expect(res.body.state).toBe("skipped");
    const call = await service.get(`/v1/calls/${res.body.call_id}`);
    expect(call.body).toMatchObject({ state: "skipped", reason: expect.stringContaining("busy"), extracted_variables: null });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(llm.requests).toHaveLength(0);
    expect(crm.requests).toHaveLength(0);
  });

  it("drops the recording URL when the profile says so, and assigns an id to a call without one", async () => {
    const service = await pipelineService(writeConfig({ booking: { include_recording: false } }));
    const { id: _none, ...withoutId } = autocallsPayload();
    const res = await service.post("/v1/calls?profile=booking", withoutId);
    expect(res.status).toBe(202);
    await crm.waitForRequests(1);
    const body = JSON.parse(crm.requests[0]!.body);
    expect(body).not.toHaveProperty("recording_url");
    expect(body.debrief.call_id).toBe(res.body.call_id);
  });

  it("keeps a call accepted during an LLM outage, retries it, and delivers it once the LLM is back", async () => {
    llm.script = () => ({ status: 503 });
    const service = await pipelineService();
    const res = await service.post("/v1/calls?profile=booking", autocallsPayload({ id: 779 }));
    const failing = await until(
      () => service.get(`/v1/calls/${res.body.call_id}`),
      (r) => r.body.attempts >= 1,
    );
    expect(failing.body).toMatchObject({ state: "extracting", reason: "llm_unavailable" });
    llm.script = (request) => ({ json: answer(request) });
    await crm.waitForRequests(1);
    const done = await until(() => service.get(`/v1/calls/${res.body.call_id}`), (r) => r.body.state === "delivered");
    expect(done.body.state).toBe("delivered");
  });

  it("retries a due call even while another call's extraction hangs", async () => {
    let failedOnce = false;
    llm.script = (request) => {
      const prompt = request.body.messages.map((m) => m.content).join("\n");
      if (prompt.includes("the call that hangs")) return { hang: true };
      if (!failedOnce) {
        failedOnce = true;
        return { status: 503 };
      }
      return { json: answer(request) };
    };
    const service = await pipelineService();
    await service.post("/v1/calls?profile=booking", autocallsPayload({ id: 790, transcript: "AI: Hello.\nCustomer: This is the call that hangs." }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const due = await service.post("/v1/calls?profile=booking", autocallsPayload({ id: 791 }));
    await crm.waitForRequests(1);
    expect(JSON.parse(crm.requests[0]!.body).debrief.call_id).toBe(due.body.call_id);
  });

  it("marks a call extraction_failed after its attempts, and a replay delivers it", async () => {
    llm.script = () => ({ status: 500 });
    const service = await pipelineService();
    const res = await service.post("/v1/calls?profile=booking", autocallsPayload({ id: 780 }));
    const failed = await until(() => service.get(`/v1/calls/${res.body.call_id}`), (r) => r.body.state === "extraction_failed");
    expect(failed.body).toMatchObject({ state: "extraction_failed", attempts: 3, last_error: expect.stringContaining("unavailable") });
    expect((await service.post(`/v1/calls/${res.body.call_id}/retry`, {})).status).toBe(200);
    expect((await service.post(`/v1/calls/${res.body.call_id}/retry`, {})).status).toBe(409);
    llm.script = (request) => ({ json: answer(request) });
    await crm.waitForRequests(1);
  });

  it("dead-letters a delivery the receiver rejects, and replays it on request", async () => {
    crm.script([{ status: 400, body: "bad payload" }]);
    const service = await pipelineService();
    const res = await service.post("/v1/calls?profile=booking", autocallsPayload({ id: 781 }));
    const failed = await until(() => service.get(`/v1/calls/${res.body.call_id}`), (r) => r.body.state === "delivery_failed");
    const [delivery] = failed.body.destinations[0].deliveries;
    expect(delivery).toMatchObject({ status: "failed", last_status: 400 });
    expect(failed.body.destinations[0]).toMatchObject({ destination: "crm", fate: "failed", reason: { code: "dead_lettered", message: "HTTP 400: not retried" } });
    const listed = await service.get("/v1/deliveries?status=failed&destination=crm");
    expect(listed.body.deliveries.map((d: { id: string }) => d.id)).toContain(delivery.id);

    crm.script([{ status: 200 }]);
    expect((await service.post(`/v1/deliveries/${delivery.id}/retry`, {})).status).toBe(200);
    const delivered = await until(() => service.get(`/v1/calls/${res.body.call_id}`), (r) => r.body.state === "delivered");
    expect(delivered.body.state).toBe("delivered");
    expect(new Set(crm.requests.map((r) => r.headers["webhook-id"])).size).toBe(1);
  });

  it("reports a destination whose expression fails on a call as delivery_failed, and lets the call be replayed", async () => {
    // $number() of a sentence fails at run time, after the expression compiled at start-up.
    const service = await pipelineService(writeConfig({ crm: { transform: "{ 'n': $number(extracted_variables.summary) }" } }));
    llm.script = (request) => ({ json: answer(request, { plan: "basic" }) });
    const res = await service.post("/v1/calls?profile=booking", autocallsPayload({ id: 782 }));
    await slack.waitForRequests(1);
    // The slack attempt is recorded a moment after its receiver answered: wait for its fate too, not only the call's state.
    const settled = (r: { body: { state: string; destinations: { destination: string; fate: string }[] } }) =>
      r.body.state === "delivery_failed" && r.body.destinations.some((d) => d.destination === "slack_qualified" && d.fate === "delivered");
    const call = await until(() => service.get(`/v1/calls/${res.body.call_id}`), settled);
    expect(call.body.state).toBe("delivery_failed");
    expect(call.body.destinations).toEqual([
      expect.objectContaining({
        destination: "crm",
        fate: "skipped",
        reason: { code: "transform_failed", message: expect.stringContaining("destinations.crm.transform") },
        deliveries: [],
      }),
      expect.objectContaining({ destination: "slack_qualified", fate: "delivered" }),
    ]);

    expect((await service.post(`/v1/calls/${res.body.call_id}/retry`, {})).status).toBe(200);
    const replayed = await until(() => service.get(`/v1/calls/${res.body.call_id}`), (r) => r.body.state === "delivery_failed" && r.body.updated_at !== call.body.updated_at);
    expect(replayed.body.updated_at).not.toBe(call.body.updated_at);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(slack.requests).toHaveLength(1); // the destination that worked is not sent the call twice
    expect(crm.requests).toHaveLength(0);
  });

  it.each([
    ["no profile", "/v1/calls", autocallsPayload(), "profile"],
    ["an unknown profile", "/v1/calls?profile=nope", autocallsPayload(), "profile"],
    ["a turn in no known shape", "/v1/calls?profile=booking", autocallsPayload({ transcript: [AUTOCALLS_TURNS[0], { words: "?" }] }), "transcript[1]"],
    ["an id that is an object", "/v1/calls?profile=booking", autocallsPayload({ id: { x: 1 } }), "id"],
    // JSON has no Infinity: 1e999 would be stored as null and fail the call later.
    ["a duration too large for a number", "/v1/calls?profile=booking", JSON.stringify(autocallsPayload()).replace(/}$/, ',"duration":1e999}'), "duration"],
  ])("rejects a call with %s, naming the field", async (_name, path, body, field) => {
    const service = await pipelineService();
    const res = await service.post(path, body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("invalid_request");
    expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain(field);
  });

  it("answers a payload no platform sends with unknown_payload_shape, saying per platform what is missing", async () => {
    const service = await pipelineService();
    const res = await service.post("/v1/calls?profile=booking", { ...autocallsPayload(), transcript: undefined });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("unknown_payload_shape");
    const missing = res.body.error.details.map((d: { source: string; path: string }) => `${d.source} ${d.path}`);
    expect(missing).toEqual([
      "vapi message.type",
      "retell event",
      "elevenlabs type",
      "bland call_id",
      "bland transcripts",
      "synthflow call.call_id",
      "thoughtly transcript",
      "autocalls transcript",
    ]);
    expect(llm.requests).toHaveLength(0);
  });

  it("rejects at the door a call whose input variables leave no room in the prompt budget, and stores nothing", async () => {
    const service = await pipelineService(writeConfig(), { DEBRIEF_MAX_INPUT_TOKENS: "3000" });
    const res = await service.post("/v1/calls?profile=booking", autocallsPayload({ id: "over-budget", input_variables: { notes: "lorem ipsum ".repeat(2_000) } }));
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("prompt_budget_exceeded");
    const again = await service.post("/v1/calls?profile=booking", autocallsPayload({ id: "over-budget" }));
    expect(again.status).toBe(202); // the first was never stored: the same id is a new call
    expect(llm.requests.every((request) => !JSON.stringify(request.body).includes("lorem ipsum"))).toBe(true);
  });

  it("answers 400, not 500, for a call id that is not valid percent-encoding", async () => {
    const service = await pipelineService();
    const res = await service.get("/v1/calls/%E0%A4%A");
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("invalid_request");
  });

  it("answers 404 for an unknown call, and for calls at all when no pipeline is configured", async () => {
    const service = await pipelineService();
    expect((await service.get("/v1/calls/call_nope")).status).toBe(404);
    const bare = await startTestService({ OPENAI_BASE_URL: llm.url });
    services.push(bare);
    expect((await bare.post("/v1/calls?profile=booking", autocallsPayload())).status).toBe(404);
  });
});
