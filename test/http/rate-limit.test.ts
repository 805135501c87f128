// Rate limiting seen from a client: a budget per API key (or per IP without auth), 429 with Retry-After, reset.
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { loadSettings, SettingsError } from "../../src/config.js";
import { startTestService, type TestService } from "../support/service.js";

const KEY_A = "dbr_live_a1b2c3d4e5f6a7b8c9d0e1f2";
const KEY_B = "dbr_live_f0e9d8c7b6a5f4e3d2c1b0a9";
/** Invalid, so it is answered (400) without an LLM, yet counts like any request. */
const CHEAP = { transcript: 42 };

const services: TestService[] = [];
async function serviceWith(env: Record<string, string>) {
  const service = await startTestService({ DEBRIEF_CACHE: "false", ...env });
  services.push(service);
  return service;
}
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  await Promise.all(services.map((s) => s.close()));
});

describe("rate limiting", () => {
  it("answers 429 rate_limited with Retry-After once a key spends its budget, and counts each key apart", async () => {
    const service = await serviceWith({ DEBRIEF_API_KEYS: `${KEY_A},${KEY_B}`, DEBRIEF_RATE_LIMIT: "3", DEBRIEF_RATE_LIMIT_WINDOW: "1m" });
    const a = { authorization: `Bearer ${KEY_A}` };
    const first = await service.post("/v1/extract", CHEAP, a);
    expect(first.status).toBe(400);
    expect(first.headers.get("ratelimit")).toBe('"3-per-1m"; r=2; t=60');
    expect(first.headers.get("ratelimit-policy")).toMatch(/^"3-per-1m"; q=3; w=60; pk=:[\w+/=]+:$/);
    await service.post("/v1/extract", CHEAP, a);
    await service.post("/v1/extract", CHEAP, a);

    const limited = await service.post("/v1/extract", CHEAP, a);
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ error: { code: "rate_limited", message: expect.stringContaining("3 per 1m"), details: [] } });
    const retryAfter = Number(limited.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(limited.headers.get("ratelimit")).toMatch(/r=0/);

    // Another key has its own budget.
    expect((await service.post("/v1/extract", CHEAP, { "x-api-key": KEY_B })).status).toBe(400);
    // Neither the key nor its plain hash is exposed in the headers.
    for (const value of [...limited.headers.values()]) expect(value).not.toContain(KEY_A);
  });

  it("does not count refused credentials against a key, nor limit the probes and metrics", async () => {
    const service = await serviceWith({ DEBRIEF_API_KEYS: KEY_A, DEBRIEF_RATE_LIMIT: "1" });
    const a = { authorization: `Bearer ${KEY_A}` };
    for (let i = 0; i < 3; i += 1) expect((await service.post("/v1/extract", CHEAP, { authorization: "Bearer wrong" })).status).toBe(401);
    expect((await service.post("/v1/extract", CHEAP, a)).status).toBe(400);
    expect((await service.post("/v1/extract", CHEAP, a)).status).toBe(429);
    expect((await service.get("/healthz")).status).toBe(200);
    expect((await service.get("/metrics", a)).status).toBe(200);
  });

  it("limits per client IP when auth is off", async () => {
    const service = await serviceWith({ DEBRIEF_RATE_LIMIT: "2" });
    expect((await service.post("/v1/extract", CHEAP)).status).toBe(400);
    expect((await service.post("/v1/extract", CHEAP)).status).toBe(400);
    expect((await service.post("/v1/extract", CHEAP)).status).toBe(429);
  });

  it("tells clients apart by X-Forwarded-For only behind a trusted proxy", async () => {
    const from = (ip: string) => ({ "x-forwarded-for": ip });
    const direct = await serviceWith({ DEBRIEF_RATE_LIMIT: "1" });
    expect((await direct.post("/v1/extract", CHEAP, from("203.0.113.1"))).status).toBe(400);
    expect((await direct.post("/v1/extract", CHEAP, from("203.0.113.2"))).status).toBe(429); // a header anyone can send
    const proxied = await serviceWith({ DEBRIEF_RATE_LIMIT: "1", DEBRIEF_TRUST_PROXY: "1" });
    expect((await proxied.post("/v1/extract", CHEAP, from("203.0.113.1"))).status).toBe(400);
    expect((await proxied.post("/v1/extract", CHEAP, from("203.0.113.2"))).status).toBe(400);
    expect((await proxied.post("/v1/extract", CHEAP, from("203.0.113.1"))).status).toBe(429);
  });

  it("lets a client in again once the window has passed", async () => {
    const service = await serviceWith({ DEBRIEF_RATE_LIMIT: "1", DEBRIEF_RATE_LIMIT_WINDOW: "1s" });
    expect((await service.post("/v1/extract", CHEAP)).status).toBe(400);
    const limited = await service.post("/v1/extract", CHEAP);
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("1");
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect((await service.post("/v1/extract", CHEAP)).status).toBe(400);
  });

  it("is off with DEBRIEF_RATE_LIMIT=0", async () => {
    const service = await serviceWith({ DEBRIEF_RATE_LIMIT: "0" });
    const answers = await Promise.all(Array.from({ length: 20 }, () => service.post("/v1/extract", CHEAP)));
    expect(answers.map((res) => res.status)).toEqual(Array(20).fill(400));
    expect(answers[0]!.headers.get("ratelimit")).toBeNull();
  });

  it("defaults to 600 requests a minute", () => {
    expect(loadSettings({}).rateLimit).toEqual({ limit: 600, windowMs: 60_000 });
  });

  it.each([
    [{ DEBRIEF_RATE_LIMIT: "-1" }, "DEBRIEF_RATE_LIMIT"],
    [{ DEBRIEF_RATE_LIMIT_WINDOW: "500ms" }, "at least 1s"],
    [{ DEBRIEF_RATE_LIMIT_WINDOW: "30d" }, "under 24d"],
    [{ DEBRIEF_RATE_LIMIT_WINDOW: "soon" }, "not a duration"],
  ])("refuses to start with %o", (env, message) => {
    expect(() => loadSettings(env)).toThrow(SettingsError);
    expect(() => loadSettings(env)).toThrow(message);
  });
});
