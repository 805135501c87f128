// GET /metrics: what an operator's Prometheus sees after real traffic through the service.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { HVAC_CALL_TEXT } from "../fixtures/calls.js";
import { answerFor, startFakeLlm, type FakeLlm } from "../support/fake-llm.js";
import { parseExposition } from "../support/metrics.js";
import { startTestService, type TestService } from "../support/service.js";

const VARIABLES = [{ name: "budget", type: "number", description: "Monthly budget in USD" }];


let llm: FakeLlm;
const services: TestService[] = [];
async function serviceWith(env: Record<string, string> = {}) {
  const service = await startTestService({ OPENAI_BASE_URL: llm.url, DEBRIEF_LLM_MAX_RETRIES: "1", ...env });
  services.push(service);
  return service;
}
async function scrape(service: TestService) {
  const res = await service.get("/metrics");
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
  return { text: String(res.body), series: parseExposition(String(res.body)) };
}

beforeAll(async () => {
  llm = await startFakeLlm((request) => ({ json: answerFor(request, { budget: 4000 }), usage: { prompt_tokens: 100, completion_tokens: 20 } }));
});
afterEach(() => {
  llm.requests.length = 0;
  llm.script = (request) => ({ json: answerFor(request, { budget: 4000 }), usage: { prompt_tokens: 100, completion_tokens: 20 } });
});
afterAll(async () => {
  await Promise.all(services.map((s) => s.close()));
  await llm.close();
});

describe("GET /metrics", () => {
  it("counts requests, LLM calls, tokens, cache hits, repair rounds and chunks", async () => {
    const service = await serviceWith();
    const body = { transcript: `${HVAC_CALL_TEXT}\nCustomer: metrics run ${Date.now()}`, variables: VARIABLES };
    // 1: a 429 from the LLM, then an answer that needs one repair round.
    llm.script = (request, index) =>
      index === 0
        ? { status: 429, headers: { "retry-after": "0" } }
        : index === 1
          ? { json: answerFor(request, { budget: "four grand" }), usage: { prompt_tokens: 100, completion_tokens: 20 } }
          : { json: answerFor(request, { budget: 4000 }), usage: { prompt_tokens: 150, completion_tokens: 30 } };
    expect((await service.post("/v1/extract", body)).status).toBe(200);
    // 2: the same call again, from the cache.
    expect((await service.post("/v1/extract", body)).body.meta.cached).toBe(true);
    // 3: a request that skips the cache read is neither a hit nor a miss.
    llm.script = (request) => ({ json: answerFor(request, { budget: 4000 }), usage: { prompt_tokens: 0, completion_tokens: 0 } });
    expect((await service.post("/v1/extract", { ...body, options: { cache: false } })).body.meta.cached).toBe(false);

    const { series } = await scrape(service);
    expect(series.get('debrief_http_requests_total{method="POST",route="/v1/extract",status="200"}')).toBe(3);
    expect(series.get('debrief_http_request_duration_seconds_count{method="POST",route="/v1/extract",status="200"}')).toBe(3);
    expect(series.get('debrief_llm_requests_total{outcome="rate_limited"}')).toBe(1);
    expect(series.get('debrief_llm_requests_total{outcome="ok"}')).toBe(3);
    expect(series.get('debrief_llm_request_duration_seconds_count{outcome="ok"}')).toBe(3);
    expect(series.get('debrief_llm_tokens_total{type="prompt"}')).toBe(250);
    expect(series.get('debrief_llm_tokens_total{type="completion"}')).toBe(50);
    expect(series.get('debrief_cache_lookups_total{result="miss"}')).toBe(1);
    expect(series.get('debrief_cache_lookups_total{result="hit"}')).toBe(1);
    expect(series.get("debrief_llm_repair_rounds_total")).toBe(1);
    expect(series.get("debrief_extraction_chunks_count")).toBe(2);
    expect(series.get("debrief_extraction_chunks_sum")).toBe(2);
    expect(series.get('debrief_extraction_chunks_bucket{le="1"}')).toBe(2);
  });

  it("labels requests by route pattern, never by the raw URL, failures included", async () => {
    const service = await serviceWith();
    await service.post("/v1/extract?call=+15550104477", { transcript: 42 });
    await service.get("/v1/calls/+15550104477/raw");
    await service.get("/nowhere/jane.doe@example.com");
    const { text, series } = await scrape(service);
    expect(series.get('debrief_http_requests_total{method="POST",route="/v1/extract",status="400"}')).toBe(1);
    expect(series.get('debrief_http_requests_total{method="GET",route="/v1",status="404"}')).toBe(1);
    expect(series.get('debrief_http_requests_total{method="GET",route="unmatched",status="404"}')).toBe(1);
    expect(text).not.toContain("15550104477");
    expect(text).not.toContain("jane.doe");
  });

  it("reports 499 when the client leaves before the answer", async () => {
    const service = await serviceWith({ DEBRIEF_CACHE: "false" });
    llm.script = (request) => ({ json: answerFor(request), delayMs: 400 });
    const leaving = new AbortController();
    const request = fetch(`${service.url}/v1/extract`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ transcript: HVAC_CALL_TEXT, variables: VARIABLES }),
      signal: leaving.signal,
    }).catch(() => undefined);
    while (llm.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    leaving.abort();
    await request;
    await new Promise((resolve) => setTimeout(resolve, 50));
    const { series } = await scrape(service);
    expect(series.get('debrief_http_requests_total{method="POST",route="/v1/extract",status="499"}')).toBe(1);
  });

  it("exposes the delivery metrics the delivery worker reports, and the outbox depth", async () => {
    const service = await serviceWith();
    const metrics = service.service.metrics;
    metrics.deliveryAttempt("crm", "delivered", 120);
    metrics.deliveryAttempt("crm", "retry", 5_000);
    metrics.setOutboxDepth(7);
    let { series } = await scrape(service);
    expect(series.get('debrief_deliveries_total{destination="crm",outcome="delivered"}')).toBe(1);
    expect(series.get('debrief_deliveries_total{destination="crm",outcome="retry"}')).toBe(1);
    expect(series.get('debrief_delivery_attempt_duration_seconds_sum{destination="crm",outcome="delivered"}')).toBe(0.12);
    expect(series.get("debrief_outbox_depth")).toBe(7);

    let depth = 3;
    metrics.observeOutboxDepth(() => depth);
    depth = 4;
    ({ series } = await scrape(service));
    expect(series.get("debrief_outbox_depth")).toBe(4);
  });

  it("includes process metrics, and names every metric debrief_*", async () => {
    const service = await serviceWith();
    const { text, series } = await scrape(service);
    expect(series.has("debrief_process_cpu_user_seconds_total")).toBe(true);
    expect(series.has("debrief_nodejs_eventloop_lag_seconds")).toBe(true);
    expect(series.has("debrief_process_resident_memory_bytes")).toBe(true);
    expect(series.has("debrief_llm_queued_requests")).toBe(true);
    const names = text.split("\n").filter((line) => line.startsWith("# TYPE ")).map((line) => line.split(" ")[2]!);
    expect(names.length).toBeGreaterThan(20);
    expect(names.filter((name) => !name.startsWith("debrief_"))).toEqual([]);
  });

  it("keeps each service's numbers apart when several run in one process", async () => {
    const busy = await serviceWith({ DEBRIEF_CACHE: "false" });
    const idle = await serviceWith({ DEBRIEF_CACHE: "false" });
    await busy.post("/v1/extract", { transcript: HVAC_CALL_TEXT, variables: VARIABLES });
    expect((await scrape(busy)).series.get('debrief_llm_requests_total{outcome="ok"}')).toBe(1);
    expect((await scrape(idle)).series.get('debrief_llm_requests_total{outcome="ok"}')).toBeUndefined();
  });
});
