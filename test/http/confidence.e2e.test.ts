// Per-value confidence and review flags end to end: real HTTP into the service, the real openai SDK out to the
// loopback LLM, which answers with OpenAI-shaped token log-probabilities (or omits or refuses them).
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { answerFor, startFakeLlm, userMessage, type FakeLlm, type RecordedRequest, type Reply } from "../support/fake-llm.js";
import { startTestService, type TestService } from "../support/service.js";
import { HVAC_CALL_TEXT, longCall } from "../fixtures/calls.js";

const VARIABLES = [
  { name: "budget", type: "number", description: "Monthly budget the customer states, in USD" },
  { name: "service_type", type: "enum", options: ["cleaning", "repair"], description: "What the customer needs" },
  { name: "appointment_date", type: "date", description: "The date the visit is booked for" },
  { name: "decision_maker", type: "boolean", description: "Whether the caller makes the final decision" },
];
const BOOKED = { status: true, summary: "AC repair booked", budget: 4000, service_type: "repair", appointment_date: "2026-06-17", decision_maker: false };

let llm: FakeLlm;
let service: TestService;
const services: TestService[] = [];

async function serviceWith(env: Record<string, string> = {}): Promise<TestService> {
  const started = await startTestService({ OPENAI_BASE_URL: llm.url, OPENAI_API_KEY: "test-key", DEBRIEF_CACHE: "false", DEBRIEF_LLM_MAX_RETRIES: "0", ...env });
  services.push(started);
  return started;
}

const extract = (target: TestService, body: Record<string, unknown> = {}) =>
  target.post("/v1/extract", { transcript: HVAC_CALL_TEXT, variables: VARIABLES, ...body });

beforeAll(async () => {
  llm = await startFakeLlm();
  service = await serviceWith();
});
afterEach(() => {
  llm.requests.length = 0;
  llm.logprobs = "omit";
});
afterAll(async () => {
  await Promise.all(services.map((s) => s.close()));
  await llm.close();
});

describe("confidence from the server's token log-probabilities", () => {
  it("rates each non-null value, low for the value the model was unsure of, and flags only that one", async () => {
    llm.logprobs = "give";
    llm.script = (request) => ({ json: answerFor(request, { ...BOOKED, appointment_date: "2026-06-17", decision_maker: null }), tokens: { uncertain: { appointment_date: -1.6 } } });
    const res = await extract(service);
    expect(res.status).toBe(200);
    expect(llm.requests[0]!.body.logprobs).toBe(true);
    expect(Object.keys(res.body.confidence).sort()).toEqual(["appointment_date", "budget", "service_type", "status", "summary"]);
    expect(res.body.confidence.appointment_date).toBeCloseTo(Math.exp(-1.6), 4);
    for (const name of ["status", "summary", "budget", "service_type"]) expect(res.body.confidence[name]).toBeGreaterThan(0.99);
    expect(res.body.review).toEqual({ needed: true, fields: { appointment_date: ["low_confidence"] } });
  });

  it("flags against the request's own min_confidence", async () => {
    llm.logprobs = "give";
    llm.script = (request) => ({ json: answerFor(request, BOOKED), tokens: { uncertain: { appointment_date: -1.6, budget: -0.1 } } });
    const lenient = await extract(service, { options: { min_confidence: 0.1 } });
    expect(lenient.body.review).toEqual({ needed: false, fields: {} });
    const strict = await extract(service, { options: { min_confidence: 0.95 } });
    expect(strict.body.review.fields).toEqual({ appointment_date: ["low_confidence"], budget: ["low_confidence"] });
  });

  it.each([[1.5], [-0.1], ["high"]])("refuses a min_confidence of %j with a 400 naming it", async (min_confidence) => {
    const res = await extract(service, { options: { min_confidence } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("invalid_request");
    expect(res.body.error.details).toEqual([expect.objectContaining({ path: "options.min_confidence" })]);
    expect(llm.requests).toHaveLength(0);
  });

  it("maps the tokens of an answer written with whitespace and newlines", async () => {
    llm.logprobs = "give";
    llm.script = (request) => ({ json: answerFor(request, BOOKED), indent: 2, tokens: { uncertain: { budget: -2 } } });
    const res = await extract(service);
    expect(res.body.confidence.budget).toBeCloseTo(Math.exp(-2), 4);
    expect(res.body.confidence.appointment_date).toBeGreaterThan(0.99);
  });

  it("has no confidence key when the server gives no log-probabilities: never an invented number", async () => {
    llm.logprobs = "omit";
    llm.script = (request) => ({ json: answerFor(request, BOOKED) });
    const res = await extract(service);
    expect(res.status).toBe(200);
    expect(llm.requests[0]!.body.logprobs).toBe(true);
    expect("confidence" in res.body).toBe(false);
    expect(res.body.review).toEqual({ needed: false, fields: {} });
  });

  it("asks a server that refuses log-probabilities once more without them, then never asks that model again", async () => {
    const fresh = await serviceWith();
    llm.logprobs = "refuse";
    llm.script = (request) => ({ json: answerFor(request, BOOKED) });
    const first = await extract(fresh);
    expect(first.status).toBe(200);
    expect(first.body.extracted_variables.budget).toBe(4000);
    expect("confidence" in first.body).toBe(false);
    expect(first.body.meta.llm_calls).toBe(2);
    expect(llm.requests.map((r) => r.body.logprobs)).toEqual([true, undefined]);

    llm.requests.length = 0;
    const second = await extract(fresh);
    expect(second.status).toBe(200);
    expect(second.body.meta.llm_calls).toBe(1);
    expect(llm.requests.map((r) => r.body.logprobs)).toEqual([undefined]);

    // Another model on the same server is asked: the refusal was this model's.
    llm.requests.length = 0;
    await extract(fresh, { options: { model: "gpt-4o" } });
    expect(llm.requests.map((r) => r.body.logprobs)).toEqual([true, undefined]);
  });

  it("does not remember a refusal when the request fails without log-probabilities too", async () => {
    const fresh = await serviceWith();
    llm.script = () => ({ status: 400, body: { error: { message: "messages: too long", type: "invalid_request_error" } } });
    const failed = await extract(fresh);
    expect(failed.status).toBe(502);
    expect(failed.body.error.code).toBe("llm_error");
    expect(llm.requests.map((r) => r.body.logprobs)).toEqual([true, undefined]);

    llm.requests.length = 0;
    llm.script = (request) => ({ json: answerFor(request, BOOKED) });
    await extract(fresh);
    expect(llm.requests.map((r) => r.body.logprobs)).toEqual([true]);
  });

  it("with DEBRIEF_LOGPROBS=on, answers a refusal as an error naming the setting", async () => {
    const strict = await serviceWith({ DEBRIEF_LOGPROBS: "on" });
    llm.logprobs = "refuse";
    llm.script = (request) => ({ json: answerFor(request, BOOKED) });
    const res = await extract(strict);
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe("llm_error");
    expect(res.body.error.message).toContain("DEBRIEF_LOGPROBS=on");
    expect(llm.requests).toHaveLength(1);
  });

  it("with DEBRIEF_LOGPROBS=off, never asks, and gives no confidence", async () => {
    const off = await serviceWith({ DEBRIEF_LOGPROBS: "off" });
    llm.logprobs = "give";
    llm.script = (request) => ({ json: answerFor(request, BOOKED) });
    const res = await extract(off);
    expect(llm.requests[0]!.body).not.toHaveProperty("logprobs");
    expect("confidence" in res.body).toBe(false);
  });
});

describe("review flags", () => {
  it("repaired: only the values the first answer got wrong, rated by the final answer's own tokens", async () => {
    llm.logprobs = "give";
    llm.script = (request, index): Reply =>
      index === 0
        ? { json: answerFor(request, { ...BOOKED, budget: "four grand" }), tokens: { uncertain: { service_type: -3 } } }
        : { json: answerFor(request, BOOKED), tokens: { uncertain: { budget: -0.05 } } };
    const res = await extract(service);
    expect(res.body.meta.attempts).toBe(2);
    expect(res.body.review.fields).toEqual({ budget: ["repaired"] });
    expect(res.body.confidence.budget).toBeCloseTo(Math.exp(-0.05), 4);
    expect(res.body.confidence.service_type).toBeGreaterThan(0.99);
  });

  it("repaired: every value, when the first answer was not JSON at all", async () => {
    llm.script = (request, index) => (index === 0 ? { content: "Sure! {budget: 4000" } : { json: answerFor(request, { budget: 4000, service_type: "repair" }) });
    const res = await extract(service);
    expect(res.body.review.fields).toEqual({ budget: ["repaired"], service_type: ["repaired"] });
  });

  it("coerced: values normalised from the model's spelling, rated by the text it wrote", async () => {
    llm.logprobs = "give";
    llm.script = (request) => ({ json: answerFor(request, { ...BOOKED, budget: "4,000", service_type: "Repair" }), tokens: { uncertain: { budget: -1 } } });
    const res = await extract(service);
    expect(res.body.extracted_variables).toMatchObject({ budget: 4000, service_type: "repair" });
    expect(res.body.review.fields).toEqual({ budget: ["low_confidence", "coerced"], service_type: ["coerced"] });
    expect(res.body.confidence.budget).toBeCloseTo(Math.exp(-1), 4);
  });

  it("ungrounded: a value whose quote the transcript does not hold, only when evidence was asked for", async () => {
    const evidence = {
      budget: { quote: "my boss capped it at four thousand", turn: 3 },
      decision_maker: { quote: "I am not the decision maker", turn: 5 },
      status: null,
      summary: null,
      service_type: null,
      appointment_date: null,
    };
    llm.script = (request) => ({ json: answerFor(request, { budget: 4000, decision_maker: false }, evidence) });
    const res = await extract(service, { options: { evidence: true } });
    expect(res.body.meta.ungrounded).toBe(1);
    expect(res.body.review).toEqual({ needed: true, fields: { decision_maker: ["ungrounded"] } });

    llm.script = (request) => ({ json: answerFor(request, { budget: 4000, decision_maker: false }) });
    expect((await extract(service)).body.review).toEqual({ needed: false, fields: {} });
  });

  it("chunks_disagree: chunks that gave different values; each value rated by the chunk it came from, status and summary by the final pass", async () => {
    const chunked = await serviceWith({ DEBRIEF_MAX_INPUT_TOKENS: "2500", DEBRIEF_CHUNK_OVERLAP_TURNS: "2" });
    llm.logprobs = "give";
    const transcript = longCall(
      ["AI: Hi Dana, this is Sam from CoolAir.", "Customer: Hi. Let's book the visit for Tuesday, June 16. My budget is four thousand."],
      ["Customer: Actually, make that Wednesday, June 17.", "AI: Done: Wednesday, June 17. Goodbye!"],
    );
    const isFinalPass = (request: RecordedRequest) => request.body.response_format?.json_schema?.name === "call_outcome";
    llm.script = (request): Reply => {
      if (isFinalPass(request)) return { json: { values: { status: true, summary: "Visit booked for June 17" } }, tokens: { uncertain: { summary: -0.9 } } };
      const text = userMessage(request);
      const last = text.includes("Goodbye!");
      return {
        json: answerFor(request, {
          status: last,
          summary: "part of the call",
          appointment_date: text.includes("June 17") ? "2026-06-17" : text.includes("June 16") ? "2026-06-16" : null,
          budget: text.includes("four thousand") ? 4000 : null,
        }),
        tokens: { uncertain: last ? { appointment_date: -0.6, status: -3 } : { budget: -0.2 } },
      };
    };
    const res = await extract(chunked, { transcript });
    expect(res.status).toBe(200);
    expect(res.body.meta.chunks).toBeGreaterThanOrEqual(3);
    expect(res.body.extracted_variables).toMatchObject({ appointment_date: "2026-06-17", budget: 4000, status: true, summary: "Visit booked for June 17" });
    // June 16 in the first part, June 17 in the last: flagged. The budget, said once, and status, settled by the final
    // pass (the chunks said false, then true): not. The final pass was unsure of its summary's wording.
    expect(res.body.review.fields).toEqual({ appointment_date: ["chunks_disagree"], summary: ["low_confidence"] });
    expect(res.body.confidence.appointment_date).toBeCloseTo(Math.exp(-0.6), 4);
    expect(res.body.confidence.budget).toBeCloseTo(Math.exp(-0.2), 4);
    expect(res.body.confidence.summary).toBeCloseTo(Math.exp(-0.9), 4);
    expect(res.body.confidence.status).toBeGreaterThan(0.99);
  });

  it("works on a fenced answer in json_object mode", async () => {
    const jsonMode = await serviceWith({ DEBRIEF_STRUCTURED_OUTPUT: "json_object" });
    llm.logprobs = "give";
    const values = { status: true, summary: "s", budget: 4000, service_type: "repair", appointment_date: null, decision_maker: null };
    llm.script = () => ({ content: "```json\n" + JSON.stringify({ values }) + "\n```", tokens: { uncertain: { budget: -1.1 } } });
    const res = await extract(jsonMode);
    expect(res.body.confidence.budget).toBeCloseTo(Math.exp(-1.1), 4);
    expect(res.body.confidence.service_type).toBeGreaterThan(0.99);
  });
});

describe("cached results", () => {
  it("keep their confidence and answer-time flags; low_confidence follows each request's threshold", async () => {
    const cached = await serviceWith({ DEBRIEF_CACHE: "true" });
    llm.logprobs = "give";
    llm.script = (request) => ({ json: answerFor(request, { ...BOOKED, budget: "4,000" }), tokens: { uncertain: { appointment_date: -1 } } });
    const first = await extract(cached);
    const again = await extract(cached, { options: { min_confidence: 0.2 } });
    expect(llm.requests).toHaveLength(1);
    expect(again.body.meta.cached).toBe(true);
    expect(again.body.confidence).toEqual(first.body.confidence);
    expect(first.body.review.fields).toEqual({ budget: ["coerced"], appointment_date: ["low_confidence"] });
    expect(again.body.review.fields).toEqual({ budget: ["coerced"] });
  });
});
