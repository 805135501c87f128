// Every voice platform's post-call webhook through the real service: recognised, extracted with the agent's own
// context, and delivered as the platform's payload plus Debrief's values and call facts; other events acknowledged.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { SourceName } from "../../src/sources/index.js";
import { fixture, fixtureText, type PlatformFixture } from "../fixtures/platforms.js";
import { answerFor, startFakeLlm, type FakeLlm, type RecordedRequest } from "../support/fake-llm.js";
import { until } from "../support/poll.js";
import { startReceiver, type Receiver } from "../support/receiver.js";
import { startTestService, type TestService } from "../support/service.js";

let llm: FakeLlm;
let crm: Receiver;
let longCalls: Receiver;
const services: TestService[] = [];

const answer = (request: RecordedRequest) => ({ json: answerFor(request, { status: true, summary: "Booked", booked: true }) });
const prompt = (request: RecordedRequest) => request.body.messages.map((message) => message.content).join("\n");

async function serviceWith(profile: Record<string, unknown> = {}) {
  const dir = mkdtempSync(join(tmpdir(), "debrief-platforms-"));
  const config = join(dir, "debrief.json");
  writeFileSync(
    config,
    JSON.stringify({
      profiles: {
        calls: {
          variables: [{ name: "booked", type: "boolean", description: "Whether the customer booked" }],
          destinations: ["crm", "long_calls"],
          ...profile,
        },
      },
      destinations: { crm: { url: crm.url }, long_calls: { url: longCalls.url, when: "debrief.call.duration_s > 120" } },
      extraction: { retry: { max_attempts: 2, initial_delay_ms: 100, max_delay_ms: 100 } },
    }),
  );
  const service = await startTestService({ OPENAI_BASE_URL: llm.url, DEBRIEF_CONFIG: config, DEBRIEF_ALLOW_PRIVATE_DESTINATIONS: "true", DEBRIEF_CACHE: "false" });
  services.push(service);
  return service;
}

beforeAll(async () => {
  llm = await startFakeLlm(answer);
  crm = await startReceiver();
  longCalls = await startReceiver();
});
afterEach(async () => {
  await Promise.all(services.splice(0).map((service) => service.close()));
  llm.requests.length = 0;
  crm.requests.length = 0;
  longCalls.requests.length = 0;
});
afterAll(async () => {
  await Promise.all([llm.close(), crm.close(), longCalls.close()]);
});

describe("each platform's post-call webhook", () => {
  it.each<[PlatformFixture, SourceName, string, Record<string, unknown>]>([
    ["vapi-end-of-call-report", "vapi", "3c5e7a2b-1d4f-4e8a-9b6c-0f2d1e3a5b7c", { duration_s: 121.366, customer_phone: "+15555550142", recording_url: "https://storage.vapi.ai/3c5e7a2b-mono.wav" }],
    ["retell-call_analyzed", "retell", "Jabr9TXYYJHfvl6Syypi88rdAHYHmcq6", { duration_s: 94.5, customer_phone: "+15555550177", agent_phone: "+15555550101" }],
    ["elevenlabs-post_call_transcription", "elevenlabs", "conv_01jx8q7k9m2n4p6r8t0v2x4z6b", { duration_s: 118, customer_phone: "+15555550155", recording_url: null }],
    ["bland-call", "bland", "9d404c1b-6a23-4426-953a-a52c392ff8f1", { duration_s: 150, customer_phone: "+15555550163" }],
    ["synthflow-post-call", "synthflow", "1711646262471x768387119913843100", { duration_s: 113, customer_phone: "+15555550171" }],
    ["thoughtly-new-response", "thoughtly", "call_01J0F3K9T2", { duration_s: 184, agent_phone: "+15555550104" }],
  ])("delivers %s unchanged, with the values, the transcript and the call's facts under debrief", async (name, source, externalId, facts) => {
    const service = await serviceWith();
    const res = await service.post("/v1/calls?profile=calls", fixtureText(name));
    expect(res.status).toBe(202);
    await crm.waitForRequests(1);
    const delivered = JSON.parse(crm.requests[0]!.body);
    const { extracted_variables, formatted_transcript, debrief, ...original } = delivered;
    expect(original).toEqual(fixture(name));
    expect(extracted_variables).toEqual({ status: true, summary: "Booked", booked: true });
    expect(formatted_transcript).toMatch(/^AI: .+\nCustomer: /);
    expect(debrief).toMatchObject({ call_id: res.body.call_id, profile: "calls", source, external_id: externalId, call: { completed: true, ...facts } });
    expect(Object.keys(debrief.call).sort()).toEqual(["agent_phone", "completed", "customer_phone", "duration_s", "ended_at", "recording_url", "started_at"]);

    const call = await until(() => service.get(`/v1/calls/${res.body.call_id}`), (r) => r.body.state === "delivered");
    expect(call.body).toMatchObject({ source, external_id: externalId, call: { completed: true, ...facts } });
  });

  it("routes on the call's facts: a `when` on debrief.call.duration_s works for every platform", async () => {
    const service = await serviceWith();
    await service.post("/v1/calls?profile=calls", fixtureText("thoughtly-new-response")); // 184 s
    await service.post("/v1/calls?profile=calls", fixtureText("retell-call_analyzed")); // 94.5 s
    await crm.waitForRequests(2);
    await longCalls.waitForRequests(1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(longCalls.requests.map((request) => JSON.parse(request.body).debrief.source)).toEqual(["thoughtly"]);
  });

  it("extracts with the agent's own prompt and what it knew before the call when the profile has no prompt", async () => {
    const service = await serviceWith();
    await service.post("/v1/calls?profile=calls", fixtureText("vapi-end-of-call-report"));
    await crm.waitForRequests(1);
    const sent = prompt(llm.requests[0]!);
    expect(sent).toContain("You are Riley, the scheduling assistant for Northwind Heating.");
    expect(sent).toContain("furnace");
    expect(sent).toContain("Jordan");
    expect(sent).not.toContain("check_availability");
  });

  it("prefers the profile's prompt to the agent's", async () => {
    const service = await serviceWith({ system_prompt: "Qualify leads for the furnace team." });
    await service.post("/v1/calls?profile=calls", fixtureText("vapi-end-of-call-report"));
    await crm.waitForRequests(1);
    const sent = prompt(llm.requests[0]!);
    expect(sent).toContain("Qualify leads for the furnace team.");
    expect(sent).not.toContain("You are Riley");
  });

  it("keeps Autocalls deliveries in today's shape, with the new debrief keys added", async () => {
    const service = await serviceWith();
    const res = await service.post("/v1/calls?profile=calls", fixtureText("autocalls-post-call"));
    await crm.waitForRequests(1);
    const delivered = JSON.parse(crm.requests[0]!.body);
    expect(delivered.transcript).toEqual([
      { text: "Hello! This is Sarah from Autocalls.", type: "transcript", sender: "bot", speaker: "agent", timestamp: 1756812511.315 },
      { text: "Hi, I'm doing well, thanks. I'd like a demo of the Pro plan.", type: "transcript", sender: "human", speaker: "customer", timestamp: 1756812514.104 },
      { text: "Great, you're booked for a demo.", type: "transcript", sender: "bot", speaker: "agent", timestamp: 1756812516.2 },
    ]);
    expect(delivered.debrief).toEqual({
      event: "call.extracted",
      call_id: res.body.call_id,
      profile: "calls",
      profile_version: expect.stringMatching(/^[0-9a-f]{12}$/),
      model: "gpt-4o-mini",
      prompt_version: expect.any(String),
      extracted_at: expect.any(String),
      cached: false,
      cost_usd: expect.any(Number),
      source: "autocalls",
      external_id: "12345",
      call: {
        completed: true,
        started_at: "2025-01-15T10:30:00.000Z",
        ended_at: "2025-01-15T10:32:05.000Z",
        duration_s: 125,
        customer_phone: "+15551234567",
        agent_phone: "+15557654321",
        recording_url: "https://app.autocalls.ai/storage/recordings/call-12345.mp4",
      },
      review: { needed: false, fields: {} },
    });
  });

  it.each<[PlatformFixture, string[][]]>([
    ["vapi-end-of-call-report", [["message", "artifact", "recordingUrl"], ["message", "artifact", "stereoRecordingUrl"], ["message", "artifact", "recording"]]],
    ["retell-call_analyzed", [["call", "recording_url"], ["call", "recording_multi_channel_url"]]],
    ["bland-call", [["recording_url"]]],
    ["synthflow-post-call", [["call", "recording_url"]]],
    ["thoughtly-new-response", [["call", "recording_url"]]],
  ])("drops %s's own recording fields and debrief.call.recording_url with include_recording: false", async (name, paths) => {
    const service = await serviceWith({ include_recording: false });
    await service.post("/v1/calls?profile=calls", fixtureText(name));
    await crm.waitForRequests(1);
    const delivered = JSON.parse(crm.requests[0]!.body);
    const original = fixture(name);
    for (const path of paths) {
      const parent = path.slice(0, -1).reduce((node, key) => node[key], delivered);
      expect(path.slice(0, -1).reduce((node, key) => node[key], original)).toHaveProperty(path.at(-1)!);
      expect(parent, path.join(".")).not.toHaveProperty(path.at(-1)!);
    }
    expect(delivered.debrief.call).not.toHaveProperty("recording_url");
    expect(JSON.stringify(delivered)).not.toMatch(/\.(wav|mp3|mp4)"|\/recordings\//);
  });
});

describe("the platforms' other events", () => {
  it.each<[PlatformFixture, string]>([
    ["vapi-status-update", "vapi status-update message"],
    ["retell-call_started", "retell call_started event"],
    ["elevenlabs-post_call_audio", "elevenlabs post_call_audio webhook"],
    ["elevenlabs-call_initiation_failure", "elevenlabs call_initiation_failure webhook"],
    ["thoughtly-phone-transfer", "thoughtly PHONE_TRANSFER event"],
  ])("acknowledges %s with 200 and stores nothing", async (name, reason) => {
    const service = await serviceWith();
    const res = await service.post("/v1/calls?profile=calls", fixtureText(name));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ignored: true, reason: expect.stringContaining(reason) });
    const metrics = String((await service.get("/metrics")).body);
    expect(metrics).toMatch(new RegExp(`debrief_calls_received_total\\{source="${name.split("-")[0]}",outcome="ignored"\\} 1`));
    expect(metrics).not.toMatch(/outcome="accepted"/);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(llm.requests).toHaveLength(0);
    expect(crm.requests).toHaveLength(0);
  });

  it("treats Retell's call_analyzed after call_ended as the same call, not a second one", async () => {
    const service = await serviceWith();
    const ended = await service.post("/v1/calls?profile=calls", fixtureText("retell-call_ended"));
    const analyzed = await service.post("/v1/calls?profile=calls", fixtureText("retell-call_analyzed"));
    expect(ended.status).toBe(202);
    expect(analyzed).toMatchObject({ status: 200, body: { call_id: ended.body.call_id, duplicate: true } });
  });
});

describe("a profile's source", () => {
  it("refuses another platform's payload with unknown_payload_shape naming what its own has", async () => {
    const service = await serviceWith({ source: "retell" });
    const res = await service.post("/v1/calls?profile=calls", fixtureText("vapi-end-of-call-report"));
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({
      code: "unknown_payload_shape",
      message: expect.stringContaining("retell"),
      details: [expect.objectContaining({ source: "retell", path: "event" })],
    });
  });

  it("accepts its own platform's payload", async () => {
    const service = await serviceWith({ source: "bland" });
    expect((await service.post("/v1/calls?profile=calls", fixtureText("bland-call"))).status).toBe(202);
  });
});

describe("gates", () => {
  it.each<[string, Record<string, unknown>, PlatformFixture, string]>([
    ["shorter than min_duration_s", { min_duration_s: 120 }, "retell-call_analyzed", "min_duration_s: the call lasted 94.5 s, under 120 s"],
    ["with fewer customer turns than min_customer_turns", { min_customer_turns: 3 }, "bland-call", "min_customer_turns: 1 customer turns, under 3"],
    ["ended for a reason in skip_ended_reasons", { skip_ended_reasons: ["voicemail", "customer-ended-call"] }, "vapi-end-of-call-report", 'ended_reason: "customer-ended-call" is in skip_ended_reasons'],
  ])("stores a call %s as skipped with the reason, and neither extracts nor delivers it", async (_name, profile, name, reason) => {
    const service = await serviceWith(profile);
    const res = await service.post("/v1/calls?profile=calls", fixtureText(name));
    expect(res.status).toBe(202);
    expect(res.body.state).toBe("skipped");
    expect((await service.get(`/v1/calls/${res.body.call_id}`)).body).toMatchObject({ state: "skipped", reason });
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(llm.requests).toHaveLength(0);
    expect(crm.requests).toHaveLength(0);
  });

  it("lets a call through that meets every gate", async () => {
    const service = await serviceWith({ min_duration_s: 60, min_customer_turns: 2, skip_ended_reasons: ["voicemail_reached"] });
    const res = await service.post("/v1/calls?profile=calls", fixtureText("retell-call_analyzed"));
    expect(res.body.state).toBe("accepted");
    await crm.waitForRequests(1);
  });

  it("skips a call the platform says did not complete, with its own word for why", async () => {
    const service = await serviceWith();
    const payload = fixture("vapi-end-of-call-report");
    payload.message.endedReason = "customer-did-not-answer";
    const res = await service.post("/v1/calls?profile=calls", payload);
    expect((await service.get(`/v1/calls/${res.body.call_id}`)).body).toMatchObject({ state: "skipped", reason: 'not_completed: Vapi\'s endedReason is "customer-did-not-answer"' });
  });
});
