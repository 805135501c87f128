// The result cache seen from the API: hits, bypass, restarts, single flight, and several instances on one Redis.
import { randomUUID } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { answerFor, startFakeLlm, type FakeLlm, type RecordedRequest } from "../support/fake-llm.js";
import { startTestService, type TestService } from "../support/service.js";

const REDIS_URL = "redis://127.0.0.1:6379";
const VARIABLES = [{ name: "budget", type: "number", description: "Monthly budget in USD" }];
/** Redis outlives test runs: every run uses transcripts no earlier run has cached. */
const RUN = randomUUID();
let n = 0;
const uniqueCall = () => `AI: Hello, call ${RUN}-${(n += 1)}.\nCustomer: Our budget is four thousand a month.`;

const answer = (request: RecordedRequest) => answerFor(request, { status: true, summary: "Budget given", budget: 4000 });

let llm: FakeLlm;
const services: TestService[] = [];
async function serviceWith(env: Record<string, string> = {}) {
  const service = await startTestService({ OPENAI_BASE_URL: llm.url, DEBRIEF_CACHE_TTL: "10m", ...env });
  services.push(service);
  return service;
}

beforeAll(async () => {
  llm = await startFakeLlm((request) => ({ json: answer(request), usage: { prompt_tokens: 321, completion_tokens: 12 } }));
});
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.close()));
  llm.requests.length = 0;
  llm.script = (request) => ({ json: answer(request), usage: { prompt_tokens: 321, completion_tokens: 12 } });
});
afterAll(() => llm.close());

describe("result cache", () => {
  it("answers a repeated call from the cache, for free", async () => {
    const service = await serviceWith();
    const body = { transcript: uniqueCall(), variables: VARIABLES };
    const first = await service.post("/v1/extract", body);
    const second = await service.post("/v1/extract", body);
    expect(llm.requests).toHaveLength(1);
    expect(first.body.meta).toMatchObject({ cached: false, usage: { prompt_tokens: 321, completion_tokens: 12 } });
    expect(second.body.meta).toMatchObject({
      cached: true,
      usage: { prompt_tokens: 0, completion_tokens: 0 },
      original_usage: { prompt_tokens: 321, completion_tokens: 12 },
    });
    expect(second.body.extracted_variables).toEqual(first.body.extracted_variables);
  });

  it("misses when a variable's description changes", async () => {
    const service = await serviceWith();
    const transcript = uniqueCall();
    await service.post("/v1/extract", { transcript, variables: VARIABLES });
    const changed = await service.post("/v1/extract", { transcript, variables: [{ ...VARIABLES[0], description: "Yearly budget in USD" }] });
    expect(changed.body.meta.cached).toBe(false);
    expect(llm.requests).toHaveLength(2);
  });

  it("with cache: false skips the read but stores the fresh result", async () => {
    const service = await serviceWith();
    const transcript = uniqueCall();
    await service.post("/v1/extract", { transcript, variables: VARIABLES });
    llm.script = (request) => ({ json: { values: { ...answer(request).values, budget: 5000 } } });
    const fresh = await service.post("/v1/extract", { transcript, variables: VARIABLES, options: { cache: false } });
    expect(fresh.body.meta.cached).toBe(false);
    expect(fresh.body.extracted_variables.budget).toBe(5000);
    const after = await service.post("/v1/extract", { transcript, variables: VARIABLES });
    expect(after.body.meta.cached).toBe(true);
    expect(after.body.extracted_variables.budget).toBe(5000);
    expect(llm.requests).toHaveLength(2);
  });

  it("never caches a failure", async () => {
    const service = await serviceWith({ DEBRIEF_REPAIR_ATTEMPTS: "0" });
    const body = { transcript: uniqueCall(), variables: VARIABLES };
    llm.script = () => ({ content: "not json" });
    expect((await service.post("/v1/extract", body)).status).toBe(502);
    llm.script = (request) => ({ json: answer(request) });
    const retry = await service.post("/v1/extract", body);
    expect(retry.status).toBe(200);
    expect(retry.body.meta.cached).toBe(false);
  });

  it("survives a restart on the same SQLite file", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "debrief-restart-"));
    const body = { transcript: uniqueCall(), variables: VARIABLES };
    const before = await serviceWith({ DEBRIEF_DATA_DIR: dataDir });
    await before.post("/v1/extract", body);
    await before.close();
    const after = await serviceWith({ DEBRIEF_DATA_DIR: dataDir });
    const res = await after.post("/v1/extract", body);
    expect(res.body.meta.cached).toBe(true);
    expect(llm.requests).toHaveLength(1);
  });

  it("shares one LLM call among 10 identical concurrent requests", async () => {
    const service = await serviceWith();
    llm.script = async (request) => {
      await new Promise((resolve) => setTimeout(resolve, 150));
      return { json: answer(request) };
    };
    const body = { transcript: uniqueCall(), variables: VARIABLES };
    const results = await Promise.all(Array.from({ length: 10 }, () => service.post("/v1/extract", body)));
    expect(llm.requests).toHaveLength(1);
    expect(new Set(results.map((r) => JSON.stringify(r.body.extracted_variables))).size).toBe(1);
    expect(results.filter((r) => r.body.meta.cached === false)).toHaveLength(1);
  });

  it("lets instances on one Redis share results, and one LLM call for concurrent identical requests", async () => {
    const a = await serviceWith({ DEBRIEF_REDIS_URL: REDIS_URL });
    const b = await serviceWith({ DEBRIEF_REDIS_URL: REDIS_URL });
    const body = { transcript: uniqueCall(), variables: VARIABLES };
    await a.post("/v1/extract", body);
    const fromB = await b.post("/v1/extract", body);
    expect(fromB.body.meta.cached).toBe(true);
    expect(llm.requests).toHaveLength(1);

    llm.script = async (request) => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      return { json: answer(request) };
    };
    const concurrent = { transcript: uniqueCall(), variables: VARIABLES };
    const results = await Promise.all([a, b, a, b].map((service) => service.post("/v1/extract", concurrent)));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(llm.requests).toHaveLength(2);
  });

  it("keeps serving, from its local stores, when Redis is down", async () => {
    const service = await serviceWith({ DEBRIEF_REDIS_URL: "redis://127.0.0.1:1" });
    const body = { transcript: uniqueCall(), variables: VARIABLES };
    expect((await service.post("/v1/extract", body)).status).toBe(200);
    const again = await service.post("/v1/extract", body);
    expect(again.status).toBe(200);
    expect(again.body.meta.cached).toBe(true);
    expect((await service.get("/healthz")).status).toBe(200);
  });
});
