// Rate limiting seen from a client: a budget per API key (or per IP without auth), 429 with Retry-After, reset;
// shared through Redis by several instances, and let through while Redis is down.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { loadSettings, SettingsError } from "../../src/settings.js";
import { startService, type Service } from "../../src/server.js";
import { DOWN_REDIS_URL, REDIS_URL } from "../cache/fixtures.js";
import { captureLogs } from "../support/log-capture.js";
import { until } from "../support/poll.js";
import { freePort } from "../support/spawn-service.js";
import { startTestService, type TestService } from "../support/service.js";

const KEY_A = "dbr_live_a1b2c3d4e5f6a7b8c9d0e1f2";
const KEY_B = "dbr_live_f0e9d8c7b6a5f4e3d2c1b0a9";
/** Invalid, so it is answered (400) without an LLM, yet counts like any request. */
const CHEAP = { transcript: 42 };
/** A key of its own per test run: counters in the shared Redis never mix with another run's. */
const newKey = () => `dbr_test_${randomBytes(16).toString("hex")}`;

const services: TestService[] = [];
const closers: (() => Promise<void>)[] = [];
async function serviceWith(env: Record<string, string>) {
  const service = await startTestService({ DEBRIEF_CACHE: "false", ...env });
  services.push(service);
  return service;
}
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.close()));
  await Promise.all(closers.splice(0).map((close) => close()));
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

describe("rate limits shared through Redis", () => {
  it("counts one budget across two instances", async () => {
    const key = newKey();
    const env = { DEBRIEF_API_KEYS: key, DEBRIEF_RATE_LIMIT: "3", DEBRIEF_RATE_LIMIT_WINDOW: "1m", DEBRIEF_REDIS_URL: REDIS_URL };
    const [a, b] = [await serviceWith(env), await serviceWith(env)];
    const auth = { authorization: `Bearer ${key}` };
    expect((await a.post("/v1/extract", CHEAP, auth)).status).toBe(400);
    expect((await b.post("/v1/extract", CHEAP, auth)).status).toBe(400);
    const third = await a.post("/v1/extract", CHEAP, auth);
    expect(third.headers.get("ratelimit")).toMatch(/r=0/);
    const limited = await b.post("/v1/extract", CHEAP, auth);
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe("rate_limited");
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await a.post("/v1/extract", CHEAP, auth)).status).toBe(429);
    // Another key keeps its own budget.
    const other = newKey();
    const c = await serviceWith({ ...env, DEBRIEF_API_KEYS: `${key},${other}` });
    expect((await c.post("/v1/extract", CHEAP, { authorization: `Bearer ${other}` })).status).toBe(400);
  });

  it("lets requests through while Redis is down, with one warning rather than one per request", async () => {
    const logs = captureLogs("warn");
    const settings = loadSettings({ PORT: "0", HOST: "127.0.0.1", DEBRIEF_CACHE: "false", DEBRIEF_LOCAL_MODEL: "off", DEBRIEF_RATE_LIMIT: "2", DEBRIEF_REDIS_URL: DOWN_REDIS_URL });
    const service = await startService(settings, logs.logger);
    closers.push(() => service.close(1_000));
    const statuses = await postMany(service, 10);
    expect(statuses).toEqual(Array(10).fill(400));
    const warnings = logs.lines().filter((line) => /rate-limit|rate limit|allowing request/i.test(String(line.msg)));
    expect(warnings.length).toBeGreaterThanOrEqual(1);
    expect(warnings.length).toBeLessThanOrEqual(3);
  });

  it("limits again once a Redis that was down at start-up comes back", async () => {
    const port = await freePort();
    const settings = loadSettings({
      PORT: "0",
      HOST: "127.0.0.1",
      DEBRIEF_CACHE: "false",
      DEBRIEF_LOCAL_MODEL: "off",
      DEBRIEF_RATE_LIMIT: "2",
      DEBRIEF_REDIS_URL: `redis://127.0.0.1:${port}`,
    });
    const service = await startService(settings, captureLogs("silent").logger);
    closers.push(() => service.close(1_000));
    expect(await postMany(service, 4)).toEqual([400, 400, 400, 400]); // no Redis: unlimited

    const redis = startRedis(port);
    closers.push(async () => void redis.kill("SIGKILL"));
    // ioredis reconnects on its own schedule; then the limiter's scripts load again and the budget applies.
    const statuses = await until(() => postMany(service, 3), (answers) => answers.includes(429), 15_000);
    expect(statuses).toContain(429);
  });
});

function startRedis(port: number): ChildProcess {
  return spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
}

async function postMany(service: Service, count: number): Promise<number[]> {
  const { port } = service.server.address() as { port: number };
  const statuses: number[] = [];
  for (let i = 0; i < count; i++) {
    const res = await fetch(`http://127.0.0.1:${port}/v1/extract`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(CHEAP) });
    await res.arrayBuffer();
    statuses.push(res.status);
  }
  return statuses;
}
