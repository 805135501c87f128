// POST /v1/extract on the embedded model: real HTTP into the service, the real llama.cpp runtime (node-llama-cpp)
// running a tiny GGUF with random weights. The values are random; what is tested is that they always have the
// declared types (the grammar), that long calls are chunked to the model's own context, that /healthz answers while
// the model works, and that an abandoned or timed-out generation frees its sequence.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outputSchemaFor, parseExtractRequest } from "../../src/schema/index.js";
import { HVAC_CALL_TEXT } from "../fixtures/calls.js";
import { startLocalService, tinyModelFile } from "../support/local-model.js";
import { metricValue } from "../support/metrics.js";
import { until } from "../support/poll.js";
import type { TestService } from "../support/service.js";

const EVERY_TYPE = [
  { name: "customer_name", type: "string", description: "The caller's first name" },
  { name: "budget", type: "number", description: "Budget the customer states, in USD" },
  { name: "technicians", type: "integer", description: "How many technicians are needed" },
  { name: "decision_maker", type: "boolean", description: "Whether the caller makes the final decision" },
  { name: "service_type", type: "enum", options: ["cleaning", "repair"], description: "What the customer needs" },
  { name: "appointment_date", type: "date", description: "The date the visit is booked for" },
  { name: "callback_at", type: "datetime", description: "When to call back" },
  { name: "concerns", type: "list", description: "What worries the customer" },
  { name: "rooms", type: "list", options: ["kitchen", "attic", "garage"], description: "Rooms the visit covers" },
];

/** The same call over and over: about `bytes` of transcript (the tiny model counts one token per byte). */
function longCall(bytes: number): string {
  const lines: string[] = [];
  while (lines.join("\n").length < bytes) lines.push(...HVAC_CALL_TEXT.split("\n"));
  return lines.join("\n");
}

/** Every value of the answer, checked with the service's own output schema: the declared type, or null. */
function expectSchemaValid(body: any, variables: typeof EVERY_TYPE): void {
  const job = parseExtractRequest({ transcript: "AI: hi", variables }, { maxVariables: 200, maxDescriptionChars: 2000 });
  const parsed = outputSchemaFor(job.variables, { evidence: false }).zod.safeParse({ values: body.extracted_variables });
  expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
  expect(Object.keys(body.extracted_variables).sort()).toEqual(job.variables.map((spec) => spec.name).sort());
}

const model = tinyModelFile("debrief-tiny");
// Heavier, so that one long prompt keeps the model busy for a while.
const slowModel = tinyModelFile("debrief-tiny-slow", { embedding: 256, layers: 4, feedForward: 1024 });
const services: TestService[] = [];
let service: TestService;

async function localService(file: string, env: Record<string, string> = {}): Promise<TestService> {
  const started = await startLocalService(file, env);
  services.push(started);
  return started;
}

beforeAll(async () => {
  service = await localService(model);
}, 60_000);
afterAll(async () => {
  await Promise.all(services.map((s) => s.close()));
});

// Generous timeouts: llama.cpp shares the machine's cores with the rest of the suite.
describe("POST /v1/extract on the local model", { timeout: 60_000 }, () => {
  it("answers 200 with a value of the declared type, or null, for every variable type", async () => {
    const res = await service.post("/v1/extract", { transcript: HVAC_CALL_TEXT, variables: EVERY_TYPE });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expectSchemaValid(res.body, EVERY_TYPE);
    expect(res.body.meta).toMatchObject({ model: "local:debrief-tiny", cached: false, chunks: 1 });
    expect(res.body.meta.usage.prompt_tokens).toBeGreaterThan(HVAC_CALL_TEXT.length);
    expect(res.body.meta.usage.completion_tokens).toBeGreaterThan(0);
  });

  it("keeps every string within DEBRIEF_LOCAL_MAX_STRING_CHARS, so random weights cannot run on to the token limit", async () => {
    const strings = Array.from({ length: 6 }, (_, i) => ({ name: `note_${i}`, type: "string", description: `Note ${i}` }));
    const res = await service.post("/v1/extract", { transcript: HVAC_CALL_TEXT, variables: strings });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    for (const value of Object.values(res.body.extracted_variables)) {
      if (typeof value !== "string") continue;
      // 4 code points as llama.cpp counts them; bytes that are not valid UTF-8 decode to one U+FFFD each.
      expect(Buffer.byteLength(value.replaceAll("\uFFFD", "?"))).toBeLessThanOrEqual(4 * 4);
    }
  });

  it("answers evidence in the declared shape too", async () => {
    const variables = EVERY_TYPE.slice(0, 2);
    const res = await service.post("/v1/extract", { transcript: HVAC_CALL_TEXT, variables, options: { evidence: true } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expectSchemaValid(res.body, variables);
    for (const evidence of Object.values(res.body.evidence ?? {}) as { quote: string; turn: number }[]) {
      expect(typeof evidence.quote).toBe("string");
      expect(Number.isInteger(evidence.turn)).toBe(true);
    }
    expect(Number.isInteger(res.body.meta.ungrounded)).toBe(true);
  });

  it("answers nested variables (an object, a list of objects) in their declared shape, with evidence per leaf", async () => {
    const variables = [
      {
        name: "order",
        type: "object",
        description: "The order",
        fields: [
          { name: "contact", type: "string", description: "Who placed it" },
          {
            name: "items",
            type: "list",
            description: "Each product ordered",
            items: { type: "object", fields: [
              { name: "product", type: "string", description: "Product" },
              { name: "quantity", type: "integer", description: "How many" },
            ] },
          },
        ],
      },
    ];
    const res = await service.post("/v1/extract", { transcript: HVAC_CALL_TEXT, variables, options: { evidence: true } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expectSchemaValid(res.body, variables as unknown as typeof EVERY_TYPE);
    // Evidence is keyed by leaf path inside the nested variable, never by the variable itself.
    for (const path of Object.keys(res.body.evidence ?? {})) if (path.startsWith("order")) expect(path).toMatch(/^order\.(contact|items\[\d+\]\.(product|quantity))$/);
  });

  it("refuses a request naming another model with 400 model_not_available", async () => {
    const res = await service.post("/v1/extract", { transcript: HVAC_CALL_TEXT, variables: EVERY_TYPE.slice(0, 1), options: { model: "gpt-4o" } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("model_not_available");
    expect(res.body.error.details).toEqual([{ path: "options.model", message: 'must be local:debrief-tiny (or left out), not "gpt-4o"' }]);
  });

  it("accepts options.model naming the local model itself", async () => {
    const res = await service.post("/v1/extract", { transcript: HVAC_CALL_TEXT, variables: EVERY_TYPE.slice(3, 4), options: { model: "local:debrief-tiny" } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.meta.model).toBe("local:debrief-tiny");
  });

  it("chunks a call that fits tiktoken's count but not the model's own context and tokenizer", async () => {
    // ~4 KB: about 1k tokens for tiktoken (far under DEBRIEF_MAX_INPUT_TOKENS and the 6k context), but 4k for the
    // tiny model's byte-level tokenizer, which with the instructions is over what its context leaves for a prompt.
    const transcript = longCall(4_000);
    const res = await service.post("/v1/extract", { transcript, variables: EVERY_TYPE.slice(3, 5) });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.meta.chunks).toBeGreaterThanOrEqual(2);
    // Each chunk, then the status/summary pass over what they concluded.
    expect(res.body.meta.llm_calls).toBeGreaterThanOrEqual(res.body.meta.chunks + 1);
    expectSchemaValid(res.body, EVERY_TYPE.slice(3, 5));
  });

  it("counts local generations in the LLM metrics", async () => {
    expect(await metricValue(service, 'debrief_llm_requests_total{outcome="ok"}')).toBeGreaterThan(0);
    expect(await metricValue(service, 'debrief_llm_tokens_total{type="completion"}')).toBeGreaterThan(0);
  });
});

describe("the local model at work", { timeout: 60_000 }, () => {
  let slow: TestService;
  beforeAll(async () => {
    slow = await localService(slowModel, { DEBRIEF_LLM_CONCURRENCY: "1" });
  }, 60_000);

  /** Starts an extraction of a long call that the caller can abandon, and waits until the model is on it. */
  async function busyWithLongCall(target: TestService): Promise<{ done: Promise<Response | undefined>; abort: () => void; finished: () => boolean }> {
    const controller = new AbortController();
    let finished = false;
    const done = fetch(`${target.url}/v1/extract`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ transcript: longCall(3_000), variables: EVERY_TYPE.slice(0, 1) }),
      signal: controller.signal,
    })
      .catch(() => undefined)
      .finally(() => (finished = true));
    const inFlight = await until(() => metricValue(target, "debrief_llm_in_flight_requests"), (value) => value === 1 || finished, 20_000);
    expect(inFlight).toBe(1);
    return { done, abort: () => controller.abort(), finished: () => finished };
  }

  it("answers /healthz while a generation runs (evaluation never blocks the event loop)", async () => {
    const work = await busyWithLongCall(slow);
    const health = await slow.get("/healthz");
    expect(health.status).toBe(200);
    // Answered before the generation ended: the loop served it while llama.cpp worked.
    expect(work.finished()).toBe(false);
    expect(await metricValue(slow, "debrief_llm_in_flight_requests")).toBe(1);
    work.abort();
    await work.done;
  });

  it("frees the sequence of a request whose client hung up, for the next request", async () => {
    const cancelledBefore = await metricValue(slow, 'debrief_llm_requests_total{outcome="cancelled"}');
    const work = await busyWithLongCall(slow);
    work.abort();
    await work.done;
    const cancelled = await until(() => metricValue(slow, 'debrief_llm_requests_total{outcome="cancelled"}'), (n) => n > cancelledBefore);
    expect(cancelled).toBe(cancelledBefore + 1);
    expect(await until(() => metricValue(slow, "debrief_llm_in_flight_requests"), (n) => n === 0)).toBe(0);
    // One sequence only: this answer proves it was given back.
    const next = await slow.post("/v1/extract", { transcript: HVAC_CALL_TEXT, variables: EVERY_TYPE.slice(3, 4) });
    expect(next.status, JSON.stringify(next.body)).toBe(200);
  });

  it("stops a generation at DEBRIEF_LLM_TIMEOUT with 504 llm_timeout, and frees its sequence", async () => {
    const hurried = await localService(slowModel, { DEBRIEF_LLM_CONCURRENCY: "1", DEBRIEF_LLM_TIMEOUT: "200ms" });
    const res = await hurried.post("/v1/extract", { transcript: longCall(3_000), variables: EVERY_TYPE.slice(0, 1) });
    expect(res.status).toBe(504);
    expect(res.body.error.code).toBe("llm_timeout");
    expect(res.body.error.message).toContain("DEBRIEF_LLM_TIMEOUT");
    expect(await metricValue(hurried, 'debrief_llm_requests_total{outcome="timeout"}')).toBeGreaterThanOrEqual(1);
    // The call was split in two: the chunk still waiting for the sequence is given up as well.
    expect(await until(() => metricValue(hurried, "debrief_llm_in_flight_requests"), (n) => n === 0)).toBe(0);
    // A request waiting for a sequence has no timeout: this one timing out too shows it got the freed sequence.
    const next = await hurried.post("/v1/extract", { transcript: longCall(1_000), variables: EVERY_TYPE.slice(3, 4) });
    expect(next.body.error?.code).toBe("llm_timeout");
  });
});
