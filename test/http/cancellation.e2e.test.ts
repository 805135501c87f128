// Work nobody waits for is given up: a client that hangs up, or a chunk whose sibling failed, stops its LLM call
// (the real openai SDK against a loopback LLM that never answers) instead of holding an LLM slot until the timeout.
// A call another client still shares goes on: test/cache/result-cache.test.ts covers that.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HVAC_CALL_TEXT } from "../fixtures/calls.js";
import { startFakeLlm, userMessage, type FakeLlm } from "../support/fake-llm.js";
import { metricValue } from "../support/metrics.js";
import { until } from "../support/poll.js";
import { startTestService, type TestService } from "../support/service.js";

const VARIABLES = [{ name: "budget", type: "number", description: "Budget the customer states, in USD" }];
const CANCELLED = 'debrief_llm_requests_total{outcome="cancelled"}';

let llm: FakeLlm;
const services: TestService[] = [];
async function serviceWith(env: Record<string, string> = {}): Promise<TestService> {
  const service = await startTestService({ OPENAI_BASE_URL: llm.url, DEBRIEF_LLM_MAX_RETRIES: "0", ...env });
  services.push(service);
  return service;
}

beforeAll(async () => {
  llm = await startFakeLlm();
});
afterAll(async () => {
  await Promise.all(services.map((s) => s.close()));
  await llm.close();
});

/** POSTs an extraction the test can abandon. */
function extractAbandonable(service: TestService, body: unknown) {
  const controller = new AbortController();
  const done = fetch(`${service.url}/v1/extract`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: controller.signal,
  }).catch(() => undefined);
  return { done, abort: () => controller.abort() };
}

describe("giving up work nobody waits for", () => {
  it("stops the LLM call of a client that hung up, cache on", async () => {
    const service = await serviceWith();
    llm.requests.length = 0;
    llm.script = () => ({ hang: true });
    const call = extractAbandonable(service, { transcript: HVAC_CALL_TEXT, variables: VARIABLES });
    await until(async () => llm.requests.length, (n) => n === 1);
    expect(await metricValue(service, "debrief_llm_in_flight_requests")).toBe(1);
    call.abort();
    await call.done;
    expect(await until(() => metricValue(service, CANCELLED), (n) => n === 1)).toBe(1);
    expect(await metricValue(service, "debrief_llm_in_flight_requests")).toBe(0);
  });

  it("gives up the other chunks of a long call when one chunk fails", async () => {
    const service = await serviceWith({ DEBRIEF_MAX_INPUT_TOKENS: "1500", DEBRIEF_CACHE: "false" });
    llm.requests.length = 0;
    // The first chunk is refused for good (a 400, also when asked once more without log-probabilities); the others
    // would hang until the timeout.
    llm.script = (request) => (userMessage(request).includes("part 1 of") ? { status: 400 } : { hang: true });
    const transcript = Array.from({ length: 12 }, () => HVAC_CALL_TEXT).join("\n");
    const res = await service.post("/v1/extract", { transcript, variables: VARIABLES });
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe("llm_error");
    // Without giving up, the hanging chunks would hold their slots until DEBRIEF_LLM_TIMEOUT (60 s).
    expect(await until(() => metricValue(service, "debrief_llm_in_flight_requests"), (n) => n === 0)).toBe(0);
    // Every chunk but the refused one (two requests) was given up (some before their request even reached the LLM).
    const refused = llm.requests.filter((request) => userMessage(request).includes("part 1 of")).length;
    expect(refused).toBe(2);
    expect(llm.requests.length).toBeGreaterThan(refused);
    expect(await metricValue(service, CANCELLED)).toBeGreaterThanOrEqual(llm.requests.length - refused);
  });
});
