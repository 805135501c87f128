// One LLM budget for two instances on PostgreSQL and Redis, against a loopback OpenAI-compatible server that allows 30
// requests a minute, replenished continuously, and refuses the rest with 429: what the issue measured at 85 refusals.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { autocallsPayload } from "../fixtures/calls.js";
import { answerFor, startFakeLlm, type FakeLlm } from "../support/fake-llm.js";
import { parseExposition } from "../support/metrics.js";
import { createTestDatabase, type TestDatabase } from "../support/postgres.js";
import { startReceiver, type Receiver } from "../support/receiver.js";
import { startTestService, type TestService } from "../support/service.js";

const CALLS = 45;

let llm: FakeLlm;
let crm: Receiver;
let database: TestDatabase;
const services: TestService[] = [];

beforeAll(async () => {
  llm = await startFakeLlm((request) => ({ json: answerFor(request, { status: true, summary: "Demo booked" }) }));
  llm.rateLimit = { rpm: 30, headers: true };
  crm = await startReceiver();
  database = await createTestDatabase();
});
afterAll(async () => {
  await Promise.all(services.map((service) => service.close()));
  await Promise.all([llm.close(), crm.close()]);
  await database.drop();
});

/** Two instances, 45 calls spread over them, until every call is delivered: the server's refusals, and each instance's metrics. */
async function twoInstances(extraEnv: Record<string, string>, options: { headers: boolean }) {
  llm.rateLimit = { rpm: 30, headers: options.headers };
  llm.refused = 0;
  crm.requests.length = 0;
  // A model name of this run's own: the budget's Redis keys are per model, and other test files share this Redis.
  const model = `gpt-4o-mini-budget-${randomBytes(4).toString("hex")}`;
  const config = join(mkdtempSync(join(tmpdir(), "debrief-budget-")), "debrief.json");
  writeFileSync(
    config,
    JSON.stringify({
      profiles: { booking: { model, variables: [], destinations: ["crm"] } },
      destinations: { crm: { url: crm.url } },
      extraction: { retry: { max_attempts: 10, initial_delay_ms: 100, max_delay_ms: 1_000 } },
    }),
  );
  const env = {
    OPENAI_BASE_URL: llm.url,
    DEBRIEF_CONFIG: config,
    DEBRIEF_ALLOW_PRIVATE_DESTINATIONS: "true",
    DEBRIEF_DATABASE_URL: database.url,
    DEBRIEF_REDIS_URL: "redis://127.0.0.1:6379",
    DEBRIEF_CACHE: "false",
    ...extraEnv,
  };
  const instances = [await startTestService(env), await startTestService(env)];
  services.push(...instances);
  for (let i = 0; i < CALLS; i += 1) {
    const accepted = await instances[i % 2]!.post("/v1/calls?profile=booking", autocallsPayload({ id: `budget-${model}-${i}` }));
    expect(accepted.status).toBe(202);
  }
  await crm.waitForRequests(CALLS, 100_000);
  const delivered = new Set(crm.requests.map((request) => JSON.parse(request.body).id)).size;
  const metrics = await Promise.all(instances.map(async (instance) => parseExposition(String((await instance.get("/metrics")).body))));
  await Promise.all(instances.map((instance) => instance.close()));
  services.length = 0;
  const sum = (series: string) => metrics.reduce((total, each) => total + (each.get(series) ?? 0), 0);
  return { delivered, refused: llm.refused, sum };
}

describe("two instances sharing one LLM budget through Redis", () => {
  it("delivers every call with at most 3 requests refused, with DEBRIEF_LLM_RPM as the server's limit", { timeout: 120_000 }, async () => {
    const run = await twoInstances({ DEBRIEF_LLM_RPM: "30" }, { headers: false });
    expect(run.delivered).toBe(CALLS);
    expect(run.refused).toBeLessThanOrEqual(3);
    // Calls past the first minute's 30 waited for the budget: the histogram says so, by priority.
    expect(run.sum('debrief_llm_budget_wait_seconds_count{priority="live"}')).toBeGreaterThan(0);
    // Refusals are still counted where they always were.
    expect(run.sum('debrief_llm_requests_total{outcome="rate_limited"}')).toBe(run.refused);
  });

  it("learns the server's limit from its x-ratelimit headers when none is configured", { timeout: 120_000 }, async () => {
    const run = await twoInstances({}, { headers: true });
    expect(run.delivered).toBe(CALLS);
    expect(run.refused).toBeLessThanOrEqual(3);
  });
});
