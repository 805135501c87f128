// What an extraction cost: POST /v1/extract's meta.cost_usd and the cost and token metrics, against a loopback LLM.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { HVAC_CALL_TEXT, longCall } from "../fixtures/calls.js";
import { answerFor, startFakeLlm, type FakeLlm } from "../support/fake-llm.js";
import { parseExposition } from "../support/metrics.js";
import { startTestService, type TestService } from "../support/service.js";
import { SettingsError } from "../../src/settings.js";

const VARIABLES = [{ name: "budget", type: "number", description: "Monthly budget in USD" }];
// gpt-4o-mini: $0.15 per 1M prompt tokens, $0.60 per 1M completion tokens.
const MINI = (prompt: number, completion: number) => Math.round(prompt * 0.15 + completion * 0.6) / 1_000_000;

let llm: FakeLlm;
const services: TestService[] = [];
async function serviceWith(env: Record<string, string> = {}) {
  const service = await startTestService({ OPENAI_BASE_URL: llm.url, DEBRIEF_LLM_MAX_RETRIES: "0", ...env });
  services.push(service);
  return service;
}
const reply = { usage: { prompt_tokens: 1_200, completion_tokens: 80 } };
const unique = (label: string) => `${HVAC_CALL_TEXT}\nCustomer: ${label} ${Date.now()} ${Math.random()}`;

beforeAll(async () => {
  llm = await startFakeLlm((request) => ({ json: answerFor(request, { budget: 4000 }), ...reply }));
});
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.close()));
  llm.requests.length = 0;
  llm.script = (request) => ({ json: answerFor(request, { budget: 4000 }), ...reply });
});
afterAll(async () => {
  await llm.close();
});

describe("POST /v1/extract: meta.cost_usd", () => {
  it("prices the tokens by the model asked for, a dated snapshot name as its base model", async () => {
    const service = await serviceWith();
    const plain = await service.post("/v1/extract", { transcript: unique("plain"), variables: VARIABLES });
    expect(plain.status).toBe(200);
    expect(plain.body.meta).toMatchObject({ model: "gpt-4o-mini", usage: reply.usage, cost_usd: MINI(1_200, 80) });
    const dated = await service.post("/v1/extract", { transcript: unique("dated"), variables: VARIABLES, options: { model: "gpt-4o-mini-2024-07-18" } });
    expect(dated.body.meta).toMatchObject({ model: "gpt-4o-mini-2024-07-18", cost_usd: MINI(1_200, 80) });
  });

  it("answers null, not 0, for a model the price table does not know", async () => {
    const service = await serviceWith();
    const res = await service.post("/v1/extract", { transcript: unique("unknown"), variables: VARIABLES, options: { model: "llama3.1:8b" } });
    expect(res.status).toBe(200);
    expect(res.body.meta.usage).toEqual(reply.usage);
    expect(res.body.meta.cost_usd).toBeNull();
  });

  it("costs nothing on a cache hit", async () => {
    const service = await serviceWith();
    const body = { transcript: unique("cached"), variables: VARIABLES };
    expect((await service.post("/v1/extract", body)).body.meta.cost_usd).toBe(MINI(1_200, 80));
    const hit = await service.post("/v1/extract", body);
    expect(hit.body.meta).toMatchObject({ cached: true, cost_usd: 0, original_usage: reply.usage });
  });

  it("sums every LLM call of a chunked call, the final pass included", async () => {
    const service = await serviceWith({ DEBRIEF_MAX_INPUT_TOKENS: "2500", DEBRIEF_CHUNK_OVERLAP_TURNS: "2" });
    llm.script = (request) =>
      request.body.response_format?.json_schema?.name === "call_outcome"
        ? { json: { values: { status: true, summary: "Visit booked" } }, usage: { prompt_tokens: 300, completion_tokens: 10 } }
        : { json: answerFor(request, { budget: 4000 }), ...reply };
    const res = await service.post("/v1/extract", { transcript: longCall(["AI: Hi."], [`Customer: budget four thousand ${Date.now()}`]), variables: VARIABLES });
    expect(res.status).toBe(200);
    const chunks = res.body.meta.chunks as number;
    expect(chunks).toBeGreaterThanOrEqual(2);
    expect(llm.requests).toHaveLength(chunks + 1);
    const prompt = chunks * 1_200 + 300;
    const completion = chunks * 80 + 10;
    expect(res.body.meta.usage).toEqual({ prompt_tokens: prompt, completion_tokens: completion });
    expect(res.body.meta.cost_usd).toBe(MINI(prompt, completion));
  });

  it("prices a model from a DEBRIEF_PRICES file", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "debrief-prices-")), "prices.json");
    writeFileSync(file, JSON.stringify({ models: { "llama3.1:8b": { prompt: 0.05, completion: 0.1 } } }));
    const service = await serviceWith({ DEBRIEF_PRICES: file });
    const res = await service.post("/v1/extract", { transcript: unique("priced"), variables: VARIABLES, options: { model: "llama3.1:8b" } });
    expect(res.body.meta.cost_usd).toBe(Math.round(1_200 * 0.05 + 80 * 0.1) / 1_000_000);
  });

  it("refuses to start with a DEBRIEF_PRICES file that is not a price table, naming the setting", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "debrief-prices-")), "prices.json");
    writeFileSync(file, JSON.stringify({ models: { "llama3.1:8b": { prompt: "cheap" } } }));
    const started = serviceWith({ DEBRIEF_PRICES: file });
    await expect(started).rejects.toThrow(SettingsError);
    await expect(started).rejects.toThrow(/DEBRIEF_PRICES: The price table .* is invalid/);
  });
});

describe("GET /metrics: tokens and cost by profile and model", () => {
  it("counts /v1/extract under profile _extract, by the model asked for, and leaves unpriced models out of the cost", async () => {
    const service = await serviceWith();
    await service.post("/v1/extract", { transcript: unique("m1"), variables: VARIABLES });
    await service.post("/v1/extract", { transcript: unique("m2"), variables: VARIABLES });
    await service.post("/v1/extract", { transcript: unique("m3"), variables: VARIABLES, options: { model: "llama3.1:8b" } });
    const series = parseExposition(String((await service.get("/metrics")).body));
    expect(series.get('debrief_llm_tokens_total{type="prompt",profile="_extract",model="gpt-4o-mini"}')).toBe(2_400);
    expect(series.get('debrief_llm_tokens_total{type="completion",profile="_extract",model="gpt-4o-mini"}')).toBe(160);
    expect(series.get('debrief_llm_tokens_total{type="prompt",profile="_extract",model="llama3.1:8b"}')).toBe(1_200);
    expect(series.get('debrief_llm_cost_usd_total{profile="_extract",model="gpt-4o-mini"}')).toBeCloseTo(2 * MINI(1_200, 80), 12);
    expect(series.get('debrief_llm_cost_usd_total{profile="_extract",model="llama3.1:8b"}')).toBeUndefined();
  });
});
