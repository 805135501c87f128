// API-key auth seen from a client: which routes need a key, how to send it, and what a refusal looks like.
import { mkdtempSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { loadSettings } from "../../src/settings.js";
import { startService } from "../../src/server.js";
import { HVAC_CALL_TEXT } from "../fixtures/calls.js";
import { answerFor, startFakeLlm, type FakeLlm } from "../support/fake-llm.js";
import { captureLogs } from "../support/log-capture.js";
import { startTestService, type TestService } from "../support/service.js";

const KEY_ONE = "dbr_live_4f9a1c2e7b3d8e6f0a5c9b1d";
const KEY_TWO = "dbr_live_8c2e5a7f1b9d3c6e4a0f2b8d";
const BODY = { transcript: HVAC_CALL_TEXT, variables: [] };

let llm: FakeLlm;
let service: TestService;
const services: TestService[] = [];

beforeAll(async () => {
  llm = await startFakeLlm((request) => ({
    json: answerFor(request),
  }));
  service = await startTestService({ OPENAI_BASE_URL: llm.url, DEBRIEF_CACHE: "false", DEBRIEF_API_KEYS: `${KEY_ONE}, ${KEY_TWO}` });
  services.push(service);
});
afterEach(() => {
  llm.requests.length = 0;
});
afterAll(async () => {
  await Promise.all(services.map((s) => s.close()));
  await llm.close();
});

function expectUnauthorized(res: { status: number; body: any; headers: Headers }) {
  expect(res.status).toBe(401);
  expect(res.headers.get("www-authenticate")).toBe("Bearer");
  expect(res.body).toEqual({ error: { code: "unauthorized", message: expect.any(String), details: [] } });
}

describe("with DEBRIEF_API_KEYS set", () => {
  it("refuses an extraction without a key, says how to send one, and never calls the LLM", async () => {
    const res = await service.post("/v1/extract", BODY);
    expectUnauthorized(res);
    expect(res.body.error.message).toContain("Authorization: Bearer");
    expect(res.body.error.message).toContain("X-API-Key");
    expect(llm.requests).toHaveLength(0);
  });

  it.each([
    ["a Bearer token", { authorization: `Bearer ${KEY_ONE}` }],
    ["a lowercase bearer scheme", { authorization: `bearer ${KEY_TWO}` }],
    ["an X-API-Key header", { "x-api-key": KEY_TWO }],
  ])("accepts any configured key as %s", async (_how, headers) => {
    const res = await service.post("/v1/extract", BODY, headers);
    expect(res.status).toBe(200);
    expect(llm.requests).toHaveLength(1);
  });

  it.each([
    ["an unknown key", { authorization: "Bearer dbr_live_0000000000000000000000000" }],
    ["a prefix of a real key", { authorization: `Bearer ${KEY_ONE.slice(0, -1)}` }],
    ["a real key with a character more", { "x-api-key": `${KEY_ONE}0` }],
    ["a real key in another scheme", { authorization: `Basic ${KEY_ONE}` }],
    ["an empty X-API-Key", { "x-api-key": "" }],
  ])("refuses %s", async (_what, headers) => {
    expectUnauthorized(await service.post("/v1/extract", BODY, headers));
    expect(llm.requests).toHaveLength(0);
  });

  it("refuses before reading the body, so an anonymous client cannot make it parse JSON", async () => {
    expectUnauthorized(await service.post("/v1/extract", "{not json"));
  });

  it("does not tell an anonymous client which /v1 routes exist", async () => {
    expectUnauthorized(await service.get("/v1/no-such-route"));
  });

  it.each(["/metrics", "/openapi.json"])("protects %s too", async (path) => {
    expectUnauthorized(await service.get(path));
    expect((await service.get(path, { "x-api-key": KEY_ONE })).status).toBe(200);
  });

  it("serves the /docs/ page without a key: it holds no data, and sends the console's key for the document", async () => {
    const page = await service.get("/docs/");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    const init = await service.get("/docs/swagger-ui-init.js");
    expect(init.status).toBe(200);
    expect(String(init.body)).toContain('sessionStorage.getItem("debrief.apiKey")');
    expect(String(init.body)).toMatch(/"requestInterceptor": function/);
  });

  it.each(["/healthz", "/readyz"])("leaves %s open for probes", async (path) => {
    expect((await service.get(path)).status).toBe(200);
  });
});

describe("without DEBRIEF_API_KEYS", () => {
  it("serves every route without a key, and warns at start-up that auth is off", async () => {
    const logs = captureLogs("info");
    const settings = loadSettings({
      PORT: "0",
      HOST: "127.0.0.1",
      OPENAI_BASE_URL: llm.url,
      DEBRIEF_CACHE: "false",
      DEBRIEF_DATA_DIR: mkdtempSync(join(tmpdir(), "debrief-auth-")),
    });
    const open = await startService(settings, logs.logger);
    try {
      const url = `http://127.0.0.1:${(open.server.address() as AddressInfo).port}`;
      const extraction = await fetch(`${url}/v1/extract`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(BODY) });
      expect(extraction.status).toBe(200);
      expect((await fetch(`${url}/metrics`)).status).toBe(200);
      expect((await fetch(`${url}/openapi.json`)).status).toBe(200);
      const warning = logs.lines().find((line) => line.level === 40 && /DEBRIEF_API_KEYS/.test(line.msg));
      expect(warning?.msg).toContain("auth is OFF");
    } finally {
      await open.close(1_000);
    }
  });

  it("warns at start-up about a key short enough to guess", async () => {
    const logs = captureLogs("warn");
    const settings = loadSettings({ PORT: "0", HOST: "127.0.0.1", DEBRIEF_CACHE: "false", DEBRIEF_LOCAL_MODEL: "off", DEBRIEF_API_KEYS: `${KEY_ONE},tiny-K3y` });
    const started = await startService(settings, logs.logger);
    await started.close(1_000);
    expect(logs.text()).toContain("short enough to guess");
    expect(logs.text()).not.toContain("tiny-K3y");
    expect(logs.text()).not.toContain(KEY_ONE);
  });
});
