// The logs at their most verbose (trace) during real traffic: one line per request with ids and outcomes, and
// none of the call's content, personal data or credentials anywhere.
import { mkdtempSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadSettings } from "../../src/settings.js";
import { startService, type Service } from "../../src/server.js";
import { answerFor, startFakeLlm, type FakeLlm } from "../support/fake-llm.js";
import { captureLogs, type LogCapture } from "../support/log-capture.js";

// Distinctive strings: any of them in the output is a leak.
const TRANSCRIPT_WORDS = "Quillfeather-Marmalade-Zeppelin";
const PHONE = "+15550137946";
const EMAIL = "ottoline.vantwest@example.org";
const VALUE = "Vermilion-Abacus-Orchard";
const API_KEY = "dbr_live_LOGCANARY_5e1f9a7c3b2d8e6f";
const WRONG_KEY = "dbr_live_WRONGCANARY_0a9b8c7d6e5f";
const LLM_KEY = "sk-LLMCANARY-7d3c9e1a5b";
const HEADER_SECRET = "HeaderCanary-Pelican-4411";
const SECRETS = [TRANSCRIPT_WORDS, PHONE, PHONE.slice(2), EMAIL, VALUE, API_KEY, WRONG_KEY, LLM_KEY, HEADER_SECRET];

const TRANSCRIPT = [
  "Agent: Thanks for calling, may I have your details?",
  `Customer: Sure, it's ${PHONE}, email ${EMAIL}. The project is ${TRANSCRIPT_WORDS}.`,
  "Agent: Noted, we will call you back.",
].join("\n");
const VARIABLES = [
  { name: "phone", type: "string", description: "The customer's phone number" },
  { name: "email", type: "string", description: "The customer's email" },
  { name: "project", type: "string", description: "The project's code name" },
];

let llm: FakeLlm;
let logs: LogCapture;
let service: Service;
let url: string;

async function post(path: string, body: string, headers: Record<string, string> = {}) {
  return fetch(`${url}${path}`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${API_KEY}`, ...headers }, body });
}

beforeAll(async () => {
  llm = await startFakeLlm();
  logs = captureLogs("trace");
  const settings = loadSettings({
    PORT: "0",
    HOST: "127.0.0.1",
    LOG_LEVEL: "trace",
    OPENAI_BASE_URL: llm.url,
    OPENAI_API_KEY: LLM_KEY,
    DEBRIEF_API_KEYS: API_KEY,
    DEBRIEF_LLM_MAX_RETRIES: "0",
    DEBRIEF_DATA_DIR: mkdtempSync(join(tmpdir(), "debrief-logging-")),
  });
  service = await startService(settings, logs.logger);
  url = `http://127.0.0.1:${(service.server.address() as AddressInfo).port}`;

  const body = JSON.stringify({ transcript: TRANSCRIPT, variables: VARIABLES, context: { input_variables: { customer_phone: PHONE } } });
  // A successful extraction whose values are the personal data, then the same from the cache.
  llm.script = (request) => ({
    json: answerFor(request, { phone: PHONE, email: EMAIL, project: TRANSCRIPT_WORDS, summary: VALUE }),
    usage: { prompt_tokens: 321, completion_tokens: 45 },
  });
  const ok = await post("/v1/extract", body, { "x-request-id": "req-logging-1", "x-canary": HEADER_SECRET });
  expect(ok.status).toBe(200);
  expect((await post("/v1/extract", body, { "x-request-id": "req-logging-2" })).status).toBe(200);
  // An answer that never validates: its raw text and validation details hold the values.
  llm.script = () => ({ json: { values: { phone: { nested: PHONE }, email: [EMAIL], summary: VALUE } } });
  expect((await post("/v1/extract", JSON.stringify({ transcript: TRANSCRIPT, variables: VARIABLES, options: { cache: false } }))).status).toBe(502);
  // An LLM that refuses its credentials, echoing them as OpenAI does.
  llm.script = () => ({ status: 401, body: { error: { message: `Incorrect API key provided: ${LLM_KEY}`, type: "invalid_request_error" } } });
  expect((await post("/v1/extract", JSON.stringify({ transcript: TRANSCRIPT, variables: VARIABLES, options: { cache: false } }))).status).toBe(502);
  // A body that is not JSON: the parser's message quotes it.
  expect((await post("/v1/extract", `{"transcript": "${PHONE} ${EMAIL}`)).status).toBe(400);
  // A wrong key, and personal data in the URL.
  expect((await post(`/v1/extract?phone=${encodeURIComponent(PHONE)}`, body, { authorization: `Bearer ${WRONG_KEY}` })).status).toBe(401);
  await fetch(`${url}/v1/lookup/${encodeURIComponent(EMAIL)}`, { headers: { "x-api-key": API_KEY } });
});

afterAll(async () => {
  await service.close(1_000);
  await llm.close();
});

describe("logs", () => {
  it("never contain the transcript, extracted values, phone numbers, emails or keys, at any level", () => {
    const output = logs.text();
    expect(output.length).toBeGreaterThan(0);
    for (const secret of SECRETS) expect(output, `the logs contain ${secret}`).not.toContain(secret);
    expect(output).not.toContain(encodeURIComponent(PHONE));
    expect(output).not.toContain(encodeURIComponent(EMAIL));
  });

  it("are JSON lines, one per request, with its id, route, status, latency, model, cache and tokens", () => {
    const lines = logs.lines();
    const first = lines.find((line) => line.request_id === "req-logging-1");
    expect(first).toMatchObject({
      level: 30,
      service: "debrief",
      msg: "request completed",
      method: "POST",
      route: "/v1/extract",
      status: 200,
      model: "gpt-4o-mini",
      cached: false,
      chunks: 1,
      tokens: { prompt: 321, completion: 45 },
      key_id: expect.stringMatching(/^[0-9a-f]{12}$/),
    });
    expect(first!.latency_ms).toEqual(expect.any(Number));
    expect(lines.filter((line) => line.request_id === "req-logging-1")).toHaveLength(1);
    expect(lines.find((line) => line.request_id === "req-logging-2")).toMatchObject({ cached: true, tokens: { prompt: 0, completion: 0 } });
  });

  it("give failures their error code and the cause's kind, not their message", () => {
    const lines = logs.lines().filter((line) => line.msg?.startsWith("request"));
    expect(lines.find((line) => line.status === 502 && line.error?.code === "extraction_failed")).toMatchObject({ level: 40, route: "/v1/extract" });
    expect(lines.find((line) => line.error?.code === "llm_unauthorized")).toMatchObject({
      status: 502,
      error: { cause: { type: "AuthenticationError", status: 401 } },
    });
    // Refused before any route matched: labelled by the mount path.
    expect(lines.find((line) => line.status === 400)).toMatchObject({ route: "/v1", error: { code: "invalid_json" } });
    expect(lines.find((line) => line.status === 401)).toMatchObject({ route: "/v1", error: { code: "unauthorized" } });
    expect(lines.find((line) => line.status === 404)).toMatchObject({ route: "/v1", error: { code: "not_found" } });
    expect(lines.find((line) => line.status === 401)).not.toHaveProperty("key_id");
  });

  it("return the request id to the caller, and make one when none was sent", async () => {
    const given = await fetch(`${url}/healthz`, { headers: { "x-request-id": "trace-abc.123" } });
    expect(given.headers.get("x-request-id")).toBe("trace-abc.123");
    const made = await fetch(`${url}/healthz`, { headers: { "x-request-id": "not an id; <script>" } });
    expect(made.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });
});
