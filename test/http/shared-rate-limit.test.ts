// Rate limits shared through Redis: several instances enforce one limit; Redis down lets requests through (logged,
// throttled), and limiting resumes once Redis is back.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { loadSettings } from "../../src/config.js";
import { startService, type Service } from "../../src/server.js";
import { DOWN_REDIS_URL, REDIS_URL } from "../cache/fixtures.js";
import { captureLogs } from "../support/log-capture.js";
import { until } from "../support/poll.js";
import { freePort } from "../support/spawn-service.js";
import { startTestService, type TestService } from "../support/service.js";

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
    const settings = loadSettings({ PORT: "0", HOST: "127.0.0.1", DEBRIEF_CACHE: "false", DEBRIEF_RATE_LIMIT: "2", DEBRIEF_REDIS_URL: DOWN_REDIS_URL });
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
