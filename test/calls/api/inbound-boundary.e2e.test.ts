// The inbound boundary against hostile senders (issue 21): who sent a POST /v1/calls is settled before its body is
// parsed, each platform's signature is verified under its own scheme only, every JSON body is held to limits before
// JSON.parse, and what a client sends is never a 500: impossible call times are unknown, NUL in ids and filters is a
// 404 or a 400, on SQLite and on PostgreSQL.
import { createHmac } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadSettings } from "../../../src/settings.js";
import { startService, type Service } from "../../../src/server.js";
import { fixture, fixtureText, type PlatformFixture } from "../../fixtures/platforms.js";
import { answerFor, startFakeLlm, type FakeLlm } from "../../support/fake-llm.js";
import { captureLogs, type LogCapture } from "../../support/log-capture.js";
import { signAs } from "../../support/platform-signing.js";
import { createTestDatabase, type TestDatabase } from "../../support/postgres.js";
import { startReceiver, type Receiver } from "../../support/receiver.js";
import { startTestService, type TestService } from "../../support/service.js";

const API_KEY = "dbr_live_boundary_5e2a9c7b1d3f";
const RETELL_KEY = "key_RetellBoundary_8c2e4a6b";
/** One secret for every scheme, as an `auto` profile has it. */
const SHARED_SECRET = "shared-inbound-secret-3b7d9f1a";
const SYNTHFLOW_SECRET = "synthflow-boundary-secret-6a2c";
const URL_TOKEN = "BoundaryToken-4f8b2d6e1a3c5e7f";

/** 2 MB of nesting: parsing and walking it held the event loop up to a second. */
const BRACKETS = `${"[".repeat(1_000_000)}${"]".repeat(1_000_000)}`;

let llm: FakeLlm;
let crm: Receiver;
let logs: LogCapture;
let service: Service;
let url: string;

async function post(path: string, body: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
  const text = await res.text();
  let parsed: any = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: kept as text for the failure message
  }
  return { status: res.status, body: parsed };
}

let sequence = 0;
/** A Retell call_analyzed with an id of its own. */
const retellBody = () => fixtureText("retell-call_analyzed").replaceAll("Jabr9TXYYJHfvl6Syypi88rdAHYHmcq6", `boundary-${++sequence}`);

/** A Retell call_analyzed of 3 hours, with per-word timings in transcript_object (and transcript_with_tool_calls). */
function threeHourRetellCall(): string {
  const vocabulary = ["I", "would", "like", "to", "book", "the", "cleaning", "next", "Monday", "at", "ten", "please", "and", "my", "budget", "is", "around", "four", "hundred", "dollars"];
  const utterances: { role: string; content: string; words: { word: string; start: number; end: number }[] }[] = [];
  // 150 words a minute for 3 hours: 27,000 words, in turns of 20 words (8 s each).
  for (let turn = 0, at = 0.5; turn < 1_350; turn += 1) {
    const words = vocabulary.map((word, i) => ({ word, start: Math.round((at + i * 0.4) * 1000) / 1000, end: Math.round((at + i * 0.4 + 0.3) * 1000) / 1000 }));
    utterances.push({ role: turn % 2 === 0 ? "agent" : "user", content: vocabulary.join(" "), words });
    at += 8;
  }
  const payload = fixture("retell-call_analyzed");
  payload.call.call_id = `three-hours-${++sequence}`;
  payload.call.end_timestamp = payload.call.start_timestamp + 3 * 3_600_000;
  payload.call.duration_ms = 3 * 3_600_000;
  payload.call.transcript = utterances.map((u) => `${u.role === "agent" ? "Agent" : "User"}: ${u.content}`).join("\n");
  payload.call.transcript_object = utterances;
  payload.call.transcript_with_tool_calls = utterances.flatMap((u, i) =>
    i % 50 === 0 ? [u, { role: "tool_call_invocation", tool_call_id: `tc_${i}`, name: "check_calendar", arguments: '{"day":"monday"}' }] : [u],
  );
  return JSON.stringify(payload);
}

beforeAll(async () => {
  llm = await startFakeLlm((request) => ({ json: answerFor(request, { status: true, summary: "Booked" }) }));
  crm = await startReceiver();
  logs = captureLogs("info");
  const dir = mkdtempSync(join(tmpdir(), "debrief-boundary-"));
  const config = join(dir, "debrief.json");
  writeFileSync(
    config,
    JSON.stringify({
      profiles: {
        signed: { source: "retell", inbound: { secret: RETELL_KEY }, destinations: ["crm"] },
        mixed: { inbound: { secret: SHARED_SECRET }, destinations: ["crm"] },
        synthflow: { source: "synthflow", inbound: { secret: SYNTHFLOW_SECRET }, destinations: ["crm"] },
        tokened: { inbound: { url_token: URL_TOKEN }, destinations: ["crm"] },
        plain: { destinations: ["crm"] },
      },
      destinations: { crm: { url: crm.url } },
    }),
  );
  const settings = loadSettings({
    PORT: "0",
    HOST: "127.0.0.1",
    OPENAI_BASE_URL: llm.url,
    DEBRIEF_API_KEYS: API_KEY,
    DEBRIEF_CONFIG: config,
    DEBRIEF_ALLOW_PRIVATE_DESTINATIONS: "true",
    DEBRIEF_RATE_LIMIT: "0",
    // A 3-hour call with per-word timings is over the default 2 MB.
    DEBRIEF_MAX_BODY: "8mb",
    DEBRIEF_LOCAL_MODEL: "off",
    DEBRIEF_DATA_DIR: join(dir, "data"),
  });
  service = await startService(settings, logs.logger, { pipelinePollIntervalMs: 50 });
  url = `http://127.0.0.1:${(service.server.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  await service?.close(1_000);
  await Promise.all([llm?.close(), crm?.close()]);
});

describe("who sent a call is settled before its body is read", () => {
  const bodies: [string, string][] = [
    ["2 MB of nesting", BRACKETS],
    ["a body that is not JSON", '{"event": "call_analyzed", "call": '],
    ["a JSON array", "[1, 2, 3]"],
    ["an object of 150,000 keys", JSON.stringify(Object.fromEntries(Array.from({ length: 150_000 }, (_, i) => [`k${i}`, 0])))],
  ];

  it.each(bodies)("answers %s without a signature 401, whatever the body", async (_name, body) => {
    const res = await post("/v1/calls?profile=signed", body);
    expect(res).toMatchObject({ status: 401, body: { error: { code: "invalid_signature", message: expect.stringContaining("missing signature") } } });
  });

  it.each(bodies)("answers %s with a well-formed signature made with another key 401", async (_name, body) => {
    const res = await post("/v1/calls?profile=signed", body, signAs("retell", body, "key_not_the_one", Date.now()));
    expect(res).toMatchObject({ status: 401, body: { error: { code: "invalid_signature", message: expect.stringContaining("mismatch") } } });
  });

  it.each(bodies)("answers %s with a stale signature 401, never a 400 that would tell the signature was right", async (_name, body) => {
    const res = await post("/v1/calls?profile=signed", body, signAs("retell", body, RETELL_KEY, Date.now() - 10 * 60_000));
    expect(res).toMatchObject({ status: 401, body: { error: { code: "invalid_signature", message: expect.stringContaining("stale timestamp") } } });
  });

  it("answers a body that is not even JSON by its Content-Type 401 when unsigned, and 415 only once signed", async () => {
    const body = retellBody();
    expect((await post("/v1/calls?profile=signed", body, { "content-type": "text/plain" })).status).toBe(401);
    const signed = await post("/v1/calls?profile=signed", body, { "content-type": "text/plain", ...signAs("retell", body, RETELL_KEY, Date.now()) });
    expect(signed).toMatchObject({ status: 415, body: { error: { code: "unsupported_media_type" } } });
  });

  it("answers a wrong URL token 401 unauthorized whatever the body", async () => {
    for (const [, body] of bodies) {
      const res = await post(`/v1/calls?profile=tokened&token=${URL_TOKEN}x`, body);
      expect(res).toMatchObject({ status: 401, body: { error: { code: "unauthorized" } } });
    }
  });

  it("checks the content of a signed body only after its signature: then 2 MB of nesting is a 400 naming the limit", async () => {
    const res = await post("/v1/calls?profile=signed", BRACKETS, signAs("retell", BRACKETS, RETELL_KEY, Date.now()));
    expect(res).toMatchObject({ status: 400, body: { error: { code: "invalid_request", message: expect.stringContaining("nested more than 64 levels deep") } } });
    expect(res.body.error.details[0]).toMatchObject({ limit: "maxDepth", max: 64 });
  });

  it("accepts a real 3-hour Retell call_analyzed with per-word timings, signed", async () => {
    const body = threeHourRetellCall();
    expect(body.length).toBeGreaterThan(2_000_000);
    const res = await post("/v1/calls?profile=signed", body, signAs("retell", body, RETELL_KEY, Date.now()));
    expect(res).toMatchObject({ status: 202, body: { state: "accepted" } });
  }, 30_000);
});

describe("each platform's signature under its own scheme only", () => {
  it("refuses the captured-Bland-request-as-Synthflow-payload forgery on an auto profile", async () => {
    // A genuine Bland request on the auto profile: accepted, and captured by whoever watches the wire.
    const captured = JSON.stringify({ call_id: `bland-${++sequence}`, completed: true, transcripts: [{ id: 1, text: "Hi, is now good?", user: "assistant" }] });
    const capturedSignature = signAs("bland", captured, SHARED_SECRET, Date.now())["x-webhook-signature"]!;
    expect(captured.length).toBeLessThanOrEqual(200);
    expect((await post("/v1/calls?profile=mixed", captured, { "x-webhook-signature": capturedSignature })).status).toBe(202);
    // Re-sent as a Synthflow payload whose call id is that body, with the same digest in base64.
    const forged = JSON.stringify({ status: "completed", call: { call_id: captured, status: "completed", transcript: "human: Put me down for the premium plan at any price." } });
    const res = await post("/v1/calls?profile=mixed", forged, { "synthflow-signature": Buffer.from(capturedSignature, "hex").toString("base64") });
    expect(res.status).not.toBe(202);
    expect(res).toMatchObject({ status: 401, body: { error: { code: "invalid_signature", message: expect.stringContaining("set `source: synthflow`") } } });
  });

  it("accepts Synthflow's signature on a profile that names it", async () => {
    const body = fixtureText("synthflow-post-call").replaceAll("1711646262471x768387119913843100", `sf-${++sequence}`);
    expect((await post("/v1/calls?profile=synthflow", body, signAs("synthflow", body, SYNTHFLOW_SECRET, Date.now()))).status).toBe(202);
  });

  it("refuses a request carrying two platforms' signature headers, each of them valid", async () => {
    const body = retellBody();
    const headers = { ...signAs("retell", body, SHARED_SECRET, Date.now()), ...signAs("bland", body, SHARED_SECRET, Date.now()) };
    const res = await post("/v1/calls?profile=mixed", body, headers);
    expect(res).toMatchObject({ status: 401, body: { error: { code: "invalid_signature", message: expect.stringContaining("retell and bland") } } });
  });

  it("reads a body signed under one platform's scheme as that platform's payload only", async () => {
    // Bland's scheme, a Retell body: not a Bland call, so not a call at all.
    const body = retellBody();
    const res = await post("/v1/calls?profile=mixed", body, signAs("bland", body, SHARED_SECRET, Date.now()));
    expect(res).toMatchObject({ status: 400, body: { error: { code: "unknown_payload_shape", message: expect.stringContaining("bland") } } });
    expect((await post("/v1/calls?profile=mixed", body, signAs("retell", body, SHARED_SECRET, Date.now()))).status).toBe(202);
  });

  it("refuses another platform's signature on a profile whose source is set", async () => {
    const body = retellBody();
    const res = await post("/v1/calls?profile=signed", body, signAs("bland", body, RETELL_KEY, Date.now()));
    expect(res).toMatchObject({ status: 401, body: { error: { code: "invalid_signature", message: expect.stringContaining("bland signature") } } });
  });

  it("warns at start-up, once, for each auto profile with a secret, suggesting its platform", () => {
    const warnings = logs.lines().filter((line) => line.level === 40 && typeof line.profile === "string");
    expect(warnings.map((line) => line.profile)).toEqual(["mixed"]);
    expect(warnings[0]!.msg).toContain('set "source"');
    expect(logs.text()).not.toContain(SHARED_SECRET);
  });
});

describe("every JSON body held to limits before JSON.parse, with a valid API key", () => {
  const key = { authorization: `Bearer ${API_KEY}` };
  const transcript = "AI: Hello.\nCustomer: Hi.";
  const cases: [string, string, string, string][] = [
    ["1,000,000 numbers in context.input_variables", JSON.stringify({ transcript, context: { input_variables: { ids: Array(1_000_000).fill(7) } } }), "maxArrayLength", "context.input_variables.ids"],
    ["1,000,000-deep nesting", `{"transcript": "AI: hi", "context": {"input_variables": {"a": ${BRACKETS}}}}`, "maxDepth", "context.input_variables.a"],
    ["150,000 unknown keys", JSON.stringify({ transcript, ...Object.fromEntries(Array.from({ length: 150_000 }, (_, i) => [`unknown_${i}`, 1])) }), "maxObjectKeys", ""],
  ];

  it.each(cases)("POST /v1/extract refuses %s with a 400 naming the limit", async (_name, body, limit, path) => {
    const res = await post("/v1/extract", body, key);
    expect(res).toMatchObject({ status: 400, body: { error: { code: "invalid_request" } } });
    expect(res.body.error.details[0]).toMatchObject({ limit });
    expect(res.body.error.details[0].path.startsWith(path)).toBe(true);
    expect(res.body.error.message).toMatch(/64 levels|100,000 elements|10,000 keys/);
  });

  it.each(["/v1/calls?profile=plain", "/v1/calls/call_none/review", "/v1/profiles/plain/backfill"])("so does POST %s", async (path) => {
    for (const [, body, limit] of cases) {
      const res = await post(path, body, key);
      expect(res.status).toBe(400);
      expect(res.body.error.details[0]).toMatchObject({ limit });
    }
  });
});

/** Each platform's payload with a duration no Date can span (the end left out, so it would be computed), and its id. */
const OUT_OF_RANGE: [PlatformFixture, (payload: Record<string, any>, id: string) => void][] = [
  ["autocalls-post-call", (p, id) => ((p.id = id), (p.duration = 9e15), delete p.finished_at)],
  ["thoughtly-new-response", (p, id) => ((p.call.id = id), (p.call.duration_seconds = 9e15), delete p.call.ended_at)],
  ["thoughtly-response", (p, id) => ((p.id = id), (p.duration_ms = 9e18), delete p.end_time)],
  ["vapi-end-of-call-report", (p, id) => ((p.message.call.id = id), (p.message.durationSeconds = 9e15), delete p.message.endedAt, delete p.message.call.endedAt)],
  ["retell-call_analyzed", (p, id) => ((p.call.call_id = id), (p.call.duration_ms = 9e15), delete p.call.end_timestamp)],
  ["elevenlabs-post_call_transcription", (p, id) => ((p.data.conversation_id = id), (p.data.metadata.call_duration_secs = 9e15))],
  ["bland-call", (p, id) => ((p.call_id = id), (p.call_length = 9e15), delete p.end_at)],
  ["synthflow-post-call", (p, id) => ((p.call.call_id = id), (p.call.duration = 9e15))],
];

describe.each(["sqlite", "postgres"] as const)("what a client sends is never a 500, on %s", { timeout: 60_000 }, (engine) => {
  let api: TestService;
  let database: TestDatabase | undefined;
  const key = { "x-api-key": API_KEY };

  beforeAll(async () => {
    database = engine === "postgres" ? await createTestDatabase() : undefined;
    const config = join(mkdtempSync(join(tmpdir(), "debrief-boundary-db-")), "debrief.json");
    writeFileSync(config, JSON.stringify({ profiles: { plain: { destinations: ["crm"] } }, destinations: { crm: { url: crm.url } } }));
    api = await startTestService({
      OPENAI_BASE_URL: llm.url,
      DEBRIEF_API_KEYS: API_KEY,
      DEBRIEF_CONFIG: config,
      DEBRIEF_ALLOW_PRIVATE_DESTINATIONS: "true",
      DEBRIEF_RATE_LIMIT: "0",
      ...(database ? { DEBRIEF_DATABASE_URL: database.url } : {}),
    });
  }, 60_000);

  afterAll(async () => {
    await api?.close();
    await database?.drop();
  });

  it.each(OUT_OF_RANGE)("stores %s's call with a duration of 9e15 as one of unknown length", async (name, change) => {
    const payload = fixture(name);
    change(payload, `${engine}-${name}-huge`);
    const res = await api.post("/v1/calls?profile=plain", payload, key);
    expect(res.status).toBe(202);
    const call = await api.get(`/v1/calls/${res.body.call_id}`, key);
    expect(call.status).toBe(200);
    expect(call.body.call).toMatchObject({ duration_s: null });
  });

  it.each([
    ["GET", "/v1/calls/%00"],
    ["GET", "/v1/calls/call_%00x"],
    ["POST", "/v1/calls/%00/retry"],
    ["POST", "/v1/calls/%00/review"],
    ["POST", "/v1/calls/%00/reextract"],
    ["GET", "/v1/backfills/%00"],
    ["POST", "/v1/backfills/bf%00/cancel"],
    ["GET", "/v1/deliveries/%00"],
    ["POST", "/v1/deliveries/%00/retry"],
  ])("answers %s %s (a NUL in the id) 404", async (method, path) => {
    const res = await fetch(`${api.url}${path}`, { method, headers: { ...key, "content-type": "application/json" }, body: method === "POST" ? '{"approve": true}' : undefined });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("not_found");
  });

  it.each([
    ["/v1/calls?profile=%00", "profile"],
    ["/v1/calls?destination=crm%00", "destination"],
    ["/v1/calls?external_id=a%00b", "external_id"],
    ["/v1/calls?state=%00", "state"],
    ["/v1/calls?cursor=%00", "cursor"],
    ["/v1/calls/export?profile=plain%00&format=eval", "profile"],
    ["/v1/callers/+15555550100?profile=%00", "profile"],
    ["/v1/deliveries?destination=%00", "destination"],
    ["/v1/deliveries?call_id=call_%00", "call_id"],
  ])("answers GET %s (a NUL in a filter) 400 naming %s", async (path, parameter) => {
    const res = await api.get(path, key);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("invalid_request");
    expect(res.body.error.details.map((detail: { path: string }) => detail.path)).toContain(parameter);
  });
});
