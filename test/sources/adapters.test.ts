// Each platform's adapter on its own post-call webhooks: which ones it recognises, acknowledges or refuses, and the one
// normalised call it reads from them.
import { describe, expect, it } from "vitest";
import { recognizePayload, sourceNamed, UnknownPayloadShapeError, type SourceName } from "../../src/sources/index.js";
import { fixture, type PlatformFixture } from "../fixtures/platforms.js";

describe("recognising a payload under source auto", () => {
  it.each<[PlatformFixture, SourceName, "call" | "ignored"]>([
    ["autocalls-post-call", "autocalls", "call"],
    ["thoughtly-new-response", "thoughtly", "call"],
    ["thoughtly-response", "thoughtly", "call"],
    ["thoughtly-phone-transfer", "thoughtly", "ignored"],
    ["vapi-end-of-call-report", "vapi", "call"],
    ["vapi-status-update", "vapi", "ignored"],
    ["retell-call_ended", "retell", "call"],
    ["retell-call_analyzed", "retell", "call"],
    ["retell-call_started", "retell", "ignored"],
    ["elevenlabs-post_call_transcription", "elevenlabs", "call"],
    ["elevenlabs-post_call_audio", "elevenlabs", "ignored"],
    ["elevenlabs-call_initiation_failure", "elevenlabs", "ignored"],
    ["bland-call", "bland", "call"],
    ["synthflow-post-call", "synthflow", "call"],
  ])("reads %s as %s's (%s)", (name, source, kind) => {
    const recognized = recognizePayload(fixture(name), "auto");
    expect(recognized.source.name).toBe(source);
    expect(recognized.kind).toBe(kind);
    if (recognized.kind === "ignored") expect(recognized.reason).toMatch(new RegExp(`^${source} `));
  });

  it("reads an Autocalls payload carrying Thoughtly's transcript array as Thoughtly's", () => {
    const payload = { ...fixture("autocalls-post-call"), transcript: fixture("thoughtly-new-response").transcript };
    expect(recognizePayload(payload, "auto").source.name).toBe("thoughtly");
  });

  it("refuses a payload that is not the profile's platform, naming what that platform's has", () => {
    const error = (() => {
      try {
        recognizePayload(fixture("retell-call_ended"), "vapi");
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(UnknownPayloadShapeError);
    expect((error as UnknownPayloadShapeError).details).toEqual([
      { path: "message.type", source: "vapi", message: 'vapi: expected message.type (a server message, "end-of-call-report" for a finished call)' },
    ]);
  });

  it.each([
    ["a Retell call_ended without call.call_id", { event: "call_ended", call: {} }, "retell", "call.call_id"],
    ["an ElevenLabs event without data", { type: "post_call_transcription" }, "elevenlabs", "type"],
    ["a Bland call without a transcript", { call_id: "x" }, "bland", "transcripts"],
    ["a Synthflow call without a transcript", { call: { call_id: "x" } }, "synthflow", "call.call_id"],
  ])("does not recognise %s", (_name, payload, source, path) => {
    expect(sourceNamed(source as SourceName).recognize(payload)).toEqual({
      kind: "unrecognized",
      missing: expect.arrayContaining([expect.objectContaining({ path, source })]),
    });
  });
});

describe("normalising a call", () => {
  it.each<[PlatformFixture, SourceName, Record<string, unknown>]>([
    [
      "autocalls-post-call",
      "autocalls",
      {
        external_id: "12345",
        completed: true,
        started_at: "2025-01-15T10:30:00.000Z",
        ended_at: "2025-01-15T10:32:05.000Z",
        duration_s: 125,
        customer_phone: "+15551234567",
        agent_phone: "+15557654321",
        recording_url: "https://app.autocalls.ai/storage/recordings/call-12345.mp4",
        ended_reason: "completed",
        input_variables: { customer_name: "John Doe", product_interest: "Pro Plan" },
        agent_prompt: undefined,
      },
    ],
    [
      "thoughtly-new-response",
      "thoughtly",
      {
        external_id: "call_01J0F3K9T2",
        completed: true,
        started_at: "2026-05-24T15:31:10.000Z",
        ended_at: "2026-05-24T15:34:14.000Z",
        duration_s: 184,
        customer_phone: null,
        agent_phone: "+15555550104",
        recording_url: "https://recordings.thoughtly.com/call_01J0F3K9T2.mp3",
        ended_reason: "success",
      },
    ],
    [
      "thoughtly-response",
      "thoughtly",
      {
        external_id: "5b1e9c2a-7d3f-4a8e-b6c0-2f4d8e1a3c5b",
        completed: true,
        duration_s: 184,
        customer_phone: "+15555550188",
        agent_phone: "+15555550104",
        input_variables: { plan: "pro" },
      },
    ],
    [
      "vapi-end-of-call-report",
      "vapi",
      {
        external_id: "3c5e7a2b-1d4f-4e8a-9b6c-0f2d1e3a5b7c",
        completed: true,
        started_at: "2026-01-01T12:00:00.114Z",
        ended_at: "2026-01-01T12:02:01.480Z",
        duration_s: 121.366,
        customer_phone: "+15555550142",
        agent_phone: "+15555550100",
        recording_url: "https://storage.vapi.ai/3c5e7a2b-mono.wav",
        ended_reason: "customer-ended-call",
        input_variables: { customer_name: "Jordan", unit: "furnace" },
        agent_prompt: "You are Riley, the scheduling assistant for Northwind Heating. Book furnace visits.",
      },
    ],
    [
      "retell-call_analyzed",
      "retell",
      {
        external_id: "Jabr9TXYYJHfvl6Syypi88rdAHYHmcq6",
        completed: true,
        started_at: "2026-01-01T13:00:00.000Z",
        ended_at: "2026-01-01T13:01:34.500Z",
        duration_s: 94.5,
        customer_phone: "+15555550177",
        agent_phone: "+15555550101",
        recording_url: "https://dxc03zgurdly9.cloudfront.net/Jabr9TXY/recording.wav",
        ended_reason: "user_hangup",
        input_variables: { customer_name: "Morgan", account_tier: "gold" },
      },
    ],
    [
      "elevenlabs-post_call_transcription",
      "elevenlabs",
      {
        external_id: "conv_01jx8q7k9m2n4p6r8t0v2x4z6b",
        completed: true,
        started_at: "2026-01-01T14:00:00.000Z",
        ended_at: "2026-01-01T14:01:58.000Z",
        duration_s: 118,
        customer_phone: "+15555550155",
        agent_phone: "+15555550102",
        recording_url: null,
        ended_reason: "Call ended by remote party",
        input_variables: { customer_name: "Sam", listing: "14 Elm Street" },
        agent_prompt: "You are Ava, a leasing agent for Lakeside Realty. Book property viewings.",
      },
    ],
    [
      "bland-call",
      "bland",
      {
        external_id: "9d404c1b-6a23-4426-953a-a52c392ff8f1",
        completed: true,
        started_at: "2026-01-02T09:15:00.000Z",
        ended_at: "2026-01-02T09:17:30.000Z",
        duration_s: 150,
        customer_phone: "+15555550163",
        agent_phone: "+15555550103",
        ended_reason: "USER",
        input_variables: { customer_name: "Riley", policy: "auto" },
        agent_prompt: "You are Quinn from Harbor Insurance. Confirm the customer's renewal and ask about adding a second driver.",
      },
    ],
    [
      "synthflow-post-call",
      "synthflow",
      {
        external_id: "1711646262471x768387119913843100",
        completed: true,
        started_at: "2026-01-03T17:17:46.205Z",
        ended_at: "2026-01-03T17:19:39.205Z",
        duration_s: 113,
        customer_phone: "+15555550171",
        agent_phone: null,
        recording_url: "https://storage.synthflow.ai/recordings/1711646262471x768387119913843100.mp3",
        ended_reason: "agent_goodbye",
        input_variables: { customer_name: "Avery", property: "2 bed condo" },
        timezone: "Europe/Berlin",
      },
    ],
  ])("reads %s's facts", (name, source, expected) => {
    const call = sourceNamed(source).normalize(fixture(name));
    expect(call).toMatchObject(expected);
  });

  it.each<[PlatformFixture, SourceName, string[]]>([
    ["vapi-end-of-call-report", "vapi", ["agent", "customer", "agent", "customer"]],
    ["retell-call_ended", "retell", ["agent", "customer", "agent", "customer"]],
    ["elevenlabs-post_call_transcription", "elevenlabs", ["agent", "customer", "agent", "customer"]],
    ["bland-call", "bland", ["agent", "customer", "agent"]],
    ["synthflow-post-call", "synthflow", ["agent", "customer", "agent", "customer"]],
    ["thoughtly-response", "thoughtly", ["agent", "customer"]],
  ])("reads %s's spoken turns only, skipping tool calls and system prompts", (name, source, speakers) => {
    const { turns } = sourceNamed(source).normalize(fixture(name));
    expect(turns.map((turn) => turn.speaker)).toEqual(speakers);
    expect(turns.every((turn) => turn.text.length > 0 && !/check_availability|book_viewing|lookup_policy/.test(turn.text))).toBe(true);
  });

  it("falls back to Vapi's transcript string when the report has no messages", () => {
    const payload = fixture("vapi-end-of-call-report");
    delete payload.message.artifact.messages;
    const { turns, agent_prompt } = sourceNamed("vapi").normalize(payload);
    expect(turns.map((turn) => turn.speaker)).toEqual(["agent", "customer", "agent", "customer"]);
    expect(agent_prompt).toBeUndefined();
  });

  it("falls back to Retell's transcript with tool calls, then to its transcript string", () => {
    const payload = fixture("retell-call_ended");
    delete payload.call.transcript_object;
    expect(sourceNamed("retell").normalize(payload).turns).toHaveLength(4);
    delete payload.call.transcript_with_tool_calls;
    expect(sourceNamed("retell").normalize(payload).turns.map((turn) => turn.text)).toContain("Yes please.");
  });

  it("takes Bland's call_length in minutes, and its concatenated transcript when there are no turns", () => {
    const payload = fixture("bland-call");
    delete payload.transcripts;
    delete payload.end_at;
    payload.call_length = 1.25;
    const call = sourceNamed("bland").normalize(payload);
    expect(call.duration_s).toBe(75);
    expect(call.ended_at).toBe("2026-01-02T09:16:15.000Z");
    expect(call.turns.map((turn) => turn.speaker)).toEqual(["agent", "customer", "agent"]);
  });

  it("refuses a huge transcript of nothing but agent actions as empty, naming the field", () => {
    const payload = { ...fixture("bland-call"), transcripts: Array.from({ length: 5_000 }, (_, id) => ({ id, text: "Tool: lookup", user: "agent-action" })) };
    expect(() => sourceNamed("bland").normalize(payload)).toThrow(expect.objectContaining({ status: 400, details: [{ path: "transcripts", message: expect.stringContaining("empty") }] }));
  });

  it("reads an inbound Bland call's customer from `from`", () => {
    const call = sourceNamed("bland").normalize({ ...fixture("bland-call"), inbound: true });
    expect([call.customer_phone, call.agent_phone]).toEqual(["+15555550103", "+15555550163"]);
  });

  it.each<[string, SourceName, (payload: Record<string, any>) => void, boolean]>([
    ["a Vapi call the customer never answered", "vapi", (p) => (p.message.endedReason = "customer-did-not-answer"), false],
    ["a Vapi call that reached voicemail", "vapi", (p) => (p.message.endedReason = "voicemail"), false],
    ["a Retell call that was never connected", "retell", (p) => ((p.call.call_status = "not_connected"), (p.call.disconnection_reason = "dial_no_answer")), false],
    ["a Retell call that reached voicemail", "retell", (p) => (p.call.disconnection_reason = "voicemail_reached"), false],
    ["a Retell call the agent hung up", "retell", (p) => (p.call.disconnection_reason = "agent_hangup"), true],
    ["a Vapi call the assistant ended", "vapi", (p) => (p.message.endedReason = "assistant-said-end-call-phrase"), true],
    ["a finished Bland call without a completed flag", "bland", (p) => ((p.completed = undefined), (p.status = "completed")), true],
    ["a failed ElevenLabs conversation", "elevenlabs", (p) => (p.data.status = "failed"), false],
    ["an unfinished Bland call", "bland", (p) => ((p.completed = false), (p.status = "no-answer")), false],
    ["a busy Synthflow call", "synthflow", (p) => (p.call.status = "busy"), false],
  ])("tells whether %s completed", (_name, source, change, completed) => {
    const fixtureName = { vapi: "vapi-end-of-call-report", retell: "retell-call_ended", elevenlabs: "elevenlabs-post_call_transcription", bland: "bland-call", synthflow: "synthflow-post-call" }[
      source as "vapi"
    ] as PlatformFixture;
    const payload = fixture(fixtureName);
    change(payload);
    expect(sourceNamed(source).normalize(payload).completed).toBe(completed);
  });

  it.each<[string, SourceName, Record<string, unknown>, string]>([
    ["a Vapi call id that is a number", "vapi", { message: { ...fixture("vapi-end-of-call-report").message, call: { id: 5 } } }, "message.call.id"],
    ["a Retell transcript turn in no known shape", "retell", { event: "call_ended", call: { call_id: "c1", transcript_object: [{ speaker: "x" }] } }, "call.transcript_object[0]"],
    ["an ElevenLabs transcript that is empty", "elevenlabs", { type: "post_call_transcription", data: { conversation_id: "c", transcript: [] } }, "data.transcript"],
  ])("refuses %s with a 400 naming the field", (_name, source, payload, path) => {
    let details: { path?: string }[] = [];
    try {
      sourceNamed(source).normalize(payload);
    } catch (error) {
      details = (error as { details: { path?: string }[] }).details;
      expect((error as { status: number }).status).toBe(400);
    }
    expect(details.map((detail) => detail.path)).toContain(path);
  });
});

/**
 * Each platform's payload with a duration no Date could span (and the end left out, so it would be computed from the
 * start): `"duration": 9e15` used to throw a RangeError past the Date range, a 500 the platform would retry forever.
 */
const OUT_OF_RANGE_TIMES: [PlatformFixture, SourceName, (payload: Record<string, any>) => void][] = [
  ["autocalls-post-call", "autocalls", (p) => ((p.duration = 9e15), delete p.finished_at)],
  ["thoughtly-new-response", "thoughtly", (p) => ((p.call.duration_seconds = 9e15), delete p.call.ended_at)],
  ["thoughtly-response", "thoughtly", (p) => ((p.duration_ms = 9e18), delete p.end_time)],
  ["vapi-end-of-call-report", "vapi", (p) => ((p.message.durationSeconds = 9e15), delete p.message.endedAt, delete p.message.call.endedAt)],
  ["retell-call_analyzed", "retell", (p) => ((p.call.duration_ms = 8.64e15), delete p.call.end_timestamp)],
  ["retell-call_ended", "retell", (p) => ((p.call.start_timestamp = 9e15), (p.call.end_timestamp = -9e15))],
  ["elevenlabs-post_call_transcription", "elevenlabs", (p) => ((p.data.metadata.call_duration_secs = 9e15), (p.event_timestamp = 9e15))],
  ["elevenlabs-post_call_transcription", "elevenlabs", (p) => ((p.data.metadata.start_time_unix_secs = 9e15), (p.data.metadata.call_duration_secs = 1e300))],
  ["bland-call", "bland", (p) => ((p.call_length = 9e15), delete p.end_at)],
  ["synthflow-post-call", "synthflow", (p) => (p.call.duration = 9e15)],
];

describe("times no Date can hold", () => {
  it.each(OUT_OF_RANGE_TIMES)("reads %s's as unknown, and the call is still read", (name, source, change) => {
    const payload = fixture(name);
    change(payload);
    const call = sourceNamed(source).normalize(payload);
    expect(call.duration_s === null || call.duration_s <= 8.64e12).toBe(true);
    for (const at of [call.started_at, call.ended_at]) expect(at === null || !Number.isNaN(Date.parse(at))).toBe(true);
    expect(call.turns.length).toBeGreaterThan(0);
  });

  it("keeps a long but possible duration, and leaves unknown an end past the last instant a Date holds", () => {
    const payload = fixture("retell-call_analyzed");
    // 8.64e15 ms is as long as a Date reaches from 1970: from 2026 the end is past it.
    payload.call.duration_ms = 8.64e15;
    delete payload.call.end_timestamp;
    const call = sourceNamed("retell").normalize(payload);
    expect(call).toMatchObject({ started_at: "2026-01-01T13:00:00.000Z", ended_at: null, duration_s: 8.64e12 });
  });

  it("reads a duration of 9e15 s as none", () => {
    const payload = fixture("synthflow-post-call");
    payload.call.duration = 9e15;
    expect(sourceNamed("synthflow").normalize(payload)).toMatchObject({ duration_s: null, ended_at: null });
  });
});
