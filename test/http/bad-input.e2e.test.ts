// Whatever a client sends, the answer is a clear 4xx naming the problem: never a 500, never a crash.
import { brotliCompressSync, deflateSync, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { answerFor, startFakeLlm, type FakeLlm } from "../support/fake-llm.js";
import { startTestService, type TestService } from "../support/service.js";
import { HVAC_CALL_TEXT } from "../fixtures/calls.js";

let llm: FakeLlm;
let service: TestService;

const variable = (overrides: Record<string, unknown> = {}) => ({ name: "budget", type: "number", description: "Budget in USD", ...overrides });
const many = (n: number) => Array.from({ length: n }, (_, i) => variable({ name: `v_${i}` }));

beforeAll(async () => {
  llm = await startFakeLlm();
  service = await startTestService({ OPENAI_BASE_URL: llm.url, DEBRIEF_MAX_BODY: "64kb", DEBRIEF_MAX_VARIABLES: "100", DEBRIEF_MAX_DESCRIPTION_CHARS: "200" });
});
afterAll(async () => {
  await service.close();
  await llm.close();
});

describe("bad input", () => {
  it.each([
    ["a variable name with capitals", { variables: [variable({ name: "Budget" })] }, "variables[0].name"],
    ["a one-letter name", { variables: [variable({ name: "b" })] }, "variables[0].name"],
    ["a JavaScript prototype name", { variables: [variable({ name: "constructor" })] }, "variables[0].name"],
    ["a duplicate name", { variables: [variable(), variable()] }, "variables[1].name"],
    ["an unknown type", { variables: [variable({ type: "money" })] }, "variables[0].type"],
    ["an enum without options", { variables: [variable({ type: "enum" })] }, "variables[0].options"],
    ["an enum with repeated options", { variables: [variable({ type: "enum", options: ["a", "a"] })] }, "variables[0].options"],
    ["options on a number", { variables: [variable({ options: ["1"] })] }, "variables[0].options"],
    ["an enum option of 60,000 characters", { variables: [variable({ type: "enum", options: ["x".repeat(60_000)] })] }, "variables[0].options[0]"],
    ["an option over 500 characters", { variables: [variable({ type: "list", options: ["ok", "y".repeat(501)] })] }, "variables[0].options[1]"],
    ["more than 1,000 options in all", { variables: [0, 1].map((i) => variable({ name: `v_${i}`, type: "enum", options: Array.from({ length: 501 }, (_, j) => `o${j}`) })) }, "variables"],
    ["a missing description", { variables: [variable({ description: undefined })] }, "variables[0].description"],
    ["a blank description", { variables: [variable({ description: "   " })] }, "variables[0].description"],
    ["a description over the limit", { variables: [variable({ description: "x".repeat(201) })] }, "variables[0].description"],
    ["more variables than the limit", { variables: many(101) }, "variables"],
    ["variables that are not a list", { variables: { budget: "number" } }, "variables"],
    ["no transcript", { transcript: undefined }, "transcript"],
    ["an empty transcript", { transcript: "" }, "transcript"],
    ["a turn in no known shape", { transcript: [{ role: "user", content: "hi" }, { who: "me" }] }, "transcript[1]"],
    ["an unknown option", { options: { evidance: true } }, "options.evidance"],
    ["an unknown top-level key", { variable: [] }, "variable"],
    ["a non-boolean evidence option", { options: { evidence: "yes" } }, "options.evidence"],
    ["an unknown time zone", { context: { call: { timezone: "Mars/Olympus" } } }, "context.call.timezone"],
    ["a call date that is not a date", { context: { call: { created_at: "last Friday" } } }, "context.call.created_at"],
    ["a call date without a UTC offset", { context: { call: { created_at: "2026-06-12T01:30:00" } } }, "context.call.created_at"],
    ["a call date without a time", { context: { call: { created_at: "2026-06-12" } } }, "context.call.created_at"],
  ])("answers 400 invalid_request for %s, naming %s", async (_name, change, path) => {
    const res = await service.post("/v1/extract", { transcript: HVAC_CALL_TEXT, variables: [variable()], ...change });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("invalid_request");
    expect(res.body.error.details.map((detail: { path: string }) => detail.path)).toContain(path);
    expect(llm.requests).toHaveLength(0);
  });

  it("names a misspelt top-level key and the key it most likely meant", async () => {
    const res = await service.post("/v1/extract", { transcript: HVAC_CALL_TEXT, variable: [variable()], contxt: {}, zzz: 1 });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain("`variable` is an unknown key: did you mean `variables`?");
    expect(res.body.error.details).toEqual(
      expect.arrayContaining([
        { path: "variable", message: "unknown key: did you mean `variables`?" },
        { path: "contxt", message: "unknown key: did you mean `context`?" },
        { path: "zzz", message: "unknown key; expected `transcript`, `variables`, `context`, `options`" },
      ]),
    );
  });

  it("says what an option was most likely meant to be", async () => {
    const res = await service.post("/v1/extract", { transcript: HVAC_CALL_TEXT, options: { evidance: true } });
    expect(res.body.error.details).toContainEqual({ path: "options.evidance", message: "unknown key: did you mean `evidence`?" });
  });

  it("says a variable name needs at least two characters", async () => {
    const res = await service.post("/v1/extract", { transcript: HVAC_CALL_TEXT, variables: [variable({ name: "x" })] });
    expect(res.body.error.details[0].message).toContain("2 to 64 characters");
  });

  it("says, for a turn in no known shape, each shape it tried and why the turn did not fit it", async () => {
    const res = await service.post("/v1/extract", { transcript: [{ role: "narrator", content: "once upon a time" }] });
    expect(res.status).toBe(400);
    const message: string = res.body.error.details[0].message;
    expect(message).toContain("Autocalls {text, type, sender: bot|human}: no `sender` string");
    expect(message).toContain("Thoughtly {transcript, speaker: ai|user}: no `transcript` string");
    expect(message).toContain('{role, content|message|text}: role "narrator" is not a speaker\'s');
  });

  it("says what a transcript may be when it is neither a string nor a list", async () => {
    const res = await service.post("/v1/extract", { transcript: { text: "hi" } });
    expect(res.body.error.details).toContainEqual({ path: "transcript", message: expect.stringContaining("must be a string or an array of turns: `Speaker: text` lines") });
  });

  it("accepts 100 variables and the peers' type labels", async () => {
    llm.script = (request) => ({ json: answerFor(request) });
    const res = await service.post("/v1/extract", {
      transcript: HVAC_CALL_TEXT,
      variables: [...many(97), variable({ name: "qualified", type: "True/False" }), variable({ name: "notes", type: "text" }), variable({ name: "vip", type: "bool" })],
    });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body.extracted_variables)).toHaveLength(102);
    const values = (llm.requests[0]!.body.response_format!.json_schema!.schema as any).properties.values.properties;
    expect(values.qualified.type).toEqual(["boolean", "null"]);
    expect(values.notes.type).toEqual(["string", "null"]);
    llm.requests.length = 0;
  });

  it.each([
    ["malformed JSON", "{\"transcript\": ", 400, "invalid_json"],
    ["a JSON string", "\"hello\"", 400, "invalid_json"],
    ["a JSON array", "[1, 2]", 400, "invalid_request"],
    ["null", "null", 400, "invalid_json"],
  ])("answers %s with %i %s", async (_name, body, status, code) => {
    const res = await service.post("/v1/extract", body);
    expect(res.status).toBe(status);
    expect(res.body.error.code).toBe(code);
  });

  it("answers 400 for a body nested too deeply to walk, instead of overflowing the stack", async () => {
    const deep = `{"transcript": "AI: hi", "variables": [], "context": {"input_variables": {"a": ${"[".repeat(5_000)}${"]".repeat(5_000)}}}}`;
    const res = await service.post("/v1/extract", deep);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("invalid_request");
  });

  it("answers 400 naming the field for a number too large for a double anywhere in the body", async () => {
    // JSON.parse reads 1e999 as Infinity, which JSON.stringify would write back as null.
    const body = `{"transcript": "AI: hi", "variables": [], "context": {"input_variables": {"limits": [1, -1e999]}}}`;
    const res = await service.post("/v1/extract", body);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: "invalid_request", details: [{ path: "context.input_variables.limits[1]" }] });
  });

  it("answers a turn time out of any calendar's range as if it had none", async () => {
    llm.script = (request) => ({ json: answerFor(request) });
    const res = await service.post("/v1/extract", { transcript: [{ text: "hi", type: "transcript", sender: "human", timestamp: 1e16 }], variables: [] });
    expect(res.status).toBe(200);
    llm.requests.length = 0;
  });

  it("answers 413 payload_too_large for a body over DEBRIEF_MAX_BODY", async () => {
    const res = await service.post("/v1/extract", { transcript: `AI: ${"word ".repeat(20_000)}`, variables: [] });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe("payload_too_large");
  });

  it("answers 415 for a body that is not JSON", async () => {
    const res = await fetch(`${service.url}/v1/extract`, { method: "POST", headers: { "content-type": "text/plain" }, body: HVAC_CALL_TEXT });
    expect(res.status).toBe(415);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("unsupported_media_type");
  });

  const compressed = { gzip: gzipSync, deflate: deflateSync, br: brotliCompressSync };

  it.each(Object.keys(compressed))("accepts a body compressed with %s", async (encoding) => {
    llm.script = (request) => ({ json: answerFor(request) });
    const body = compressed[encoding as keyof typeof compressed](JSON.stringify({ transcript: HVAC_CALL_TEXT, variables: [variable()] }));
    const res = await fetch(`${service.url}/v1/extract`, { method: "POST", headers: { "content-type": "application/json", "content-encoding": encoding }, body });
    expect(res.status).toBe(200);
    llm.requests.length = 0;
  });

  it.each(Object.keys(compressed))("answers 400 invalid_body for a body that is not valid %s data", async (encoding) => {
    const res = await fetch(`${service.url}/v1/extract`, {
      method: "POST",
      headers: { "content-type": "application/json", "content-encoding": encoding },
      body: JSON.stringify({ transcript: HVAC_CALL_TEXT }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("invalid_body");
    expect(body.error.message).toContain(encoding);
  });

  it("answers 413 for a compressed body that inflates past DEBRIEF_MAX_BODY", async () => {
    const bomb = gzipSync(JSON.stringify({ transcript: `AI: ${"a".repeat(1_000_000)}` }));
    expect(bomb.length).toBeLessThan(64 * 1024);
    const res = await fetch(`${service.url}/v1/extract`, { method: "POST", headers: { "content-type": "application/json", "content-encoding": "gzip" }, body: bomb });
    expect(res.status).toBe(413);
  });

  it.each(["compress", "zstd", "gzip, br", "x-unknown"])("answers 415 unsupported_media_type for Content-Encoding: %s", async (encoding) => {
    const res = await fetch(`${service.url}/v1/extract`, {
      method: "POST",
      headers: { "content-type": "application/json", "content-encoding": encoding },
      body: JSON.stringify({ transcript: HVAC_CALL_TEXT }),
    });
    expect(res.status).toBe(415);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("unsupported_media_type");
  });

  it("answers 404 JSON for an unknown route, and for a known path with the wrong method", async () => {
    for (const [method, path] of [["GET", "/v1/nothing"], ["GET", "/v1/extract"], ["DELETE", "/healthz"]] as const) {
      const res = await fetch(`${service.url}${path}`, { method });
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("not_found");
    }
  });

  it("stays up after all of it", async () => {
    expect((await service.get("/healthz")).status).toBe(200);
  });
});
