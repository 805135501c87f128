// POST /v1/extract end to end: real HTTP into the service, the real openai SDK out to a scripted loopback LLM.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { answerFor, requestedVariables, startFakeLlm, userMessage, type FakeLlm } from "../support/fake-llm.js";
import { startTestService, type TestService } from "../support/service.js";
import { AUTOCALLS_TURNS, GENERIC_TURNS, HVAC_CALL_TEXT, longCall, THOUGHTLY_TURNS } from "../fixtures/calls.js";
import { fixture } from "../fixtures/platforms.js";

const VARIABLES = [
  { name: "budget", type: "number", description: "Monthly budget the customer states, in USD" },
  { name: "service_type", type: "enum", options: ["cleaning", "repair"], description: "What the customer needs" },
  { name: "appointment_date", type: "date", description: "The date the visit is booked for" },
  { name: "decision_maker", type: "boolean", description: "Whether the caller makes the final decision" },
];


let llm: FakeLlm;
let service: TestService;
const services: TestService[] = [];

async function serviceWith(env: Record<string, string>): Promise<TestService> {
  // These tests count LLM calls per request: the cache (tested on its own) stays out of the way.
  const started = await startTestService({ OPENAI_BASE_URL: llm.url, OPENAI_API_KEY: "test-key", DEBRIEF_CACHE: "false", ...env });
  services.push(started);
  return started;
}

beforeAll(async () => {
  llm = await startFakeLlm();
  service = await serviceWith({ DEBRIEF_LLM_MAX_RETRIES: "2" });
});
afterEach(() => {
  llm.requests.length = 0;
});
afterAll(async () => {
  await Promise.all(services.map((s) => s.close()));
  await llm.close();
});

describe("POST /v1/extract: answers", () => {
  it("returns typed values, nulls for what the call never said, and the defaults", async () => {
    llm.script = (request) => ({
      json: answerFor(request, { status: true, summary: "AC repair booked", budget: 4000, service_type: "repair", decision_maker: false }),
    });
    const res = await service.post("/v1/extract", { transcript: HVAC_CALL_TEXT, variables: VARIABLES });
    expect(res.status).toBe(200);
    expect(res.body.extracted_variables).toEqual({
      status: true,
      summary: "AC repair booked",
      budget: 4000,
      service_type: "repair",
      appointment_date: null,
      decision_maker: false,
    });
    expect(res.body.evidence).toBeUndefined();
    expect(res.body.meta).toMatchObject({ model: "gpt-4o-mini", cached: false, attempts: 1, chunks: 1, usage: { prompt_tokens: 100, completion_tokens: 20 } });
    expect(res.body.meta.prompt_version).toMatch(/^extract-\d+\+[0-9a-f]{8}$/);
  });

  it("sends the strict JSON schema and the transcript as compact Agent:/Customer: lines", async () => {
    llm.script = (request) => ({ json: answerFor(request, {}) });
    await service.post("/v1/extract", { transcript: HVAC_CALL_TEXT, variables: VARIABLES, options: { model: "gpt-4o" } });
    const [request] = llm.requests;
    expect(request!.body.model).toBe("gpt-4o");
    expect(request!.body.response_format).toMatchObject({ type: "json_schema", json_schema: { name: "call_extraction", strict: true } });
    expect(requestedVariables(request!)).toEqual(["status", "summary", "budget", "service_type", "appointment_date", "decision_maker"]);
    expect(userMessage(request!)).toContain("Agent: Hi, this is Sam from CoolAir Services.");
    expect(userMessage(request!)).toContain("Customer: Definitely a repair.");
    expect(userMessage(request!)).not.toContain('"speaker"');
  });

  it.each([
    ["Thoughtly", THOUGHTLY_TURNS, "Customer: Sure, it's 90210."],
    ["Autocalls", AUTOCALLS_TURNS, "Agent: Great, you're booked for a demo."],
    ["generic role", GENERIC_TURNS, "Customer: Yes, Thursday at 3pm is fine."],
  ])("accepts %s turns", async (_shape, transcript, line) => {
    llm.script = (request) => ({ json: answerFor(request, { status: true, summary: "ok" }) });
    const res = await service.post("/v1/extract", { transcript, variables: [] });
    expect(res.status).toBe(200);
    expect(userMessage(llm.requests[0]!)).toContain(line);
    expect(userMessage(llm.requests[0]!)).not.toContain("book_demo");
  });

  it("lets a request define its own summary instead of the default", async () => {
    llm.script = (request) => ({ json: answerFor(request, { summary: "Two sentences. Exactly." }) });
    const res = await service.post("/v1/extract", {
      transcript: HVAC_CALL_TEXT,
      variables: [{ name: "summary", type: "string", description: "Two sentences for the sales team" }],
    });
    expect(res.body.extracted_variables).toEqual({ status: null, summary: "Two sentences. Exactly." });
    const schema = llm.requests[0]!.body.response_format!.json_schema!.schema as any;
    expect(schema.properties.values.properties.summary.description).toBe("Two sentences for the sales team");
  });

  it("gives the agent's objective and the call's local date so relative dates can be resolved", async () => {
    llm.script = (request) => ({ json: answerFor(request, { appointment_date: "2026-06-17" }) });
    const res = await service.post("/v1/extract", {
      transcript: HVAC_CALL_TEXT,
      variables: VARIABLES,
      context: {
        system_prompt: "Book an HVAC repair visit.",
        call: { id: "c-1", created_at: "2026-06-12T02:22:05Z", timezone: "America/New_York" },
        input_variables: { customer_name: "Dana" },
      },
    });
    expect(res.body.extracted_variables.appointment_date).toBe("2026-06-17");
    const prompt = userMessage(llm.requests[0]!);
    expect(prompt).toContain("Book an HVAC repair visit.");
    // 02:22 UTC on the 12th is still the evening of Thursday the 11th in New York.
    expect(prompt).toContain("Call date: Thursday 2026-06-11, 22:22 local time (America/New_York, UTC-04:00).");
    expect(prompt).toContain('"customer_name":"Dana"');
  });

  it("tells the model to prefer null when the call date is unknown", async () => {
    llm.script = (request) => ({ json: answerFor(request, {}) });
    await service.post("/v1/extract", { transcript: HVAC_CALL_TEXT, variables: VARIABLES });
    expect(userMessage(llm.requests[0]!)).toContain("Call date: unknown");
  });

  it("repairs a wrong answer in one round that names the bad fields", async () => {
    llm.script = (request, index) =>
      index === 0
        ? { json: answerFor(request, { budget: "four grand", service_type: "installation", appointment_date: "June 17" }) }
        : { json: answerFor(request, { budget: 4000, service_type: "repair", appointment_date: "2026-06-17" }) };
    const res = await service.post("/v1/extract", { transcript: HVAC_CALL_TEXT, variables: VARIABLES });
    expect(res.status).toBe(200);
    expect(res.body.extracted_variables).toMatchObject({ budget: 4000, service_type: "repair", appointment_date: "2026-06-17" });
    expect(res.body.meta.attempts).toBe(2);
    const repair = llm.requests[1]!.body.messages.at(-1)!.content;
    expect(repair).toContain("values.budget");
    expect(repair).toContain("values.service_type");
    expect(repair).toContain("values.appointment_date");
    expect(llm.requests[1]!.body.messages.at(-2)!.role).toBe("assistant");
  });

  it("repairs an answer that is not JSON", async () => {
    llm.script = (request, index) => (index === 0 ? { content: "Sure! Here is the data: {budget: 4000" } : { json: answerFor(request, { budget: 4000 }) });
    const res = await service.post("/v1/extract", { transcript: HVAC_CALL_TEXT, variables: VARIABLES });
    expect(res.body.extracted_variables.budget).toBe(4000);
    expect(llm.requests[1]!.body.messages.at(-1)!.content).toContain("not valid JSON");
  });

  it("answers 502 extraction_failed with the validation issues when the repair fails too", async () => {
    llm.script = (request) => ({ json: answerFor(request, { budget: "lots" }) });
    const res = await service.post("/v1/extract", { transcript: HVAC_CALL_TEXT, variables: VARIABLES });
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe("extraction_failed");
    expect(res.body.error.details).toEqual([expect.objectContaining({ path: "values.budget" })]);
    expect(llm.requests).toHaveLength(2);
  });

  it("reports a refusal as such", async () => {
    llm.script = () => ({ refusal: "I can't help with that." });
    const res = await service.post("/v1/extract", { transcript: HVAC_CALL_TEXT, variables: VARIABLES });
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe("llm_refused");
    expect(res.body.error.message).toContain("I can't help with that.");
  });
});

describe("POST /v1/extract: every platform's transcript", () => {
  it.each([
    ["Vapi's artifact.messages", () => fixture("vapi-end-of-call-report").message.artifact.messages, "Nine works. Budget is around three hundred dollars."],
    ["Retell's transcript_with_tool_calls", () => fixture("retell-call_analyzed").call.transcript_with_tool_calls, "Yes please."],
    ["ElevenLabs' data.transcript", () => fixture("elevenlabs-post_call_transcription").data.transcript, "No, that's all. Thanks!"],
    ["Bland's transcripts", () => fixture("bland-call").transcripts, "Oh hi. Yes, I want to renew, and add my son as a second driver."],
    ["Thoughtly's conversation_history", () => fixture("thoughtly-response").conversation_history, "Sure, go ahead."],
  ])("extracts from %s, with only the spoken turns in the prompt", async (_name, transcript, lastCustomerLine) => {
    llm.script = (request) => ({ json: answerFor(request, { status: true, summary: "Done" }) });
    const res = await service.post("/v1/extract", { transcript: transcript(), variables: [] });
    expect(res.status).toBe(200);
    const sent = userMessage(llm.requests[0]!);
    expect(sent).toContain(`Customer: ${lastCustomerLine}`);
    expect(sent).not.toMatch(/check_availability|check_calendar|book_viewing|lookup_policy|You are Riley/);
  });
});

describe("POST /v1/extract: evidence", () => {
  it("keeps grounded quotes with their turn, and removes and counts invented ones", async () => {
    llm.script = (request) => ({
      json: answerFor(
        request,
        { budget: 4000, service_type: "repair", decision_maker: false },
        {
          budget: { quote: "my boss capped it at four thousand", turn: 3 },
          service_type: { quote: "Definitely a repair", turn: 0 },
          decision_maker: { quote: "I am not the decision maker", turn: 5 },
          status: null,
          summary: null,
          appointment_date: null,
        },
      ),
    });
    const res = await service.post("/v1/extract", { transcript: HVAC_CALL_TEXT, variables: VARIABLES, options: { evidence: true } });
    expect(res.status).toBe(200);
    expect(res.body.evidence).toEqual({
      budget: { quote: "my boss capped it at four thousand", turn: 3 },
      service_type: { quote: "Definitely a repair", turn: 3 },
    });
    expect(res.body.meta.ungrounded).toBe(1);
    expect(userMessage(llm.requests[0]!)).toContain("[3] Customer: Definitely a repair.");
  });
});

describe("POST /v1/extract: LLM failures", () => {
  it("waits out a 429's Retry-After, then succeeds", async () => {
    llm.script = (request, index) =>
      index === 0 ? { status: 429, headers: { "retry-after": "1" } } : { json: answerFor(request, { budget: 4000 }) };
    const started = Date.now();
    const res = await service.post("/v1/extract", { transcript: HVAC_CALL_TEXT, variables: VARIABLES });
    expect(res.status).toBe(200);
    expect(llm.requests).toHaveLength(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it("does not wait out a Retry-After longer than its bound, and passes the hint on", async () => {
    llm.script = () => ({ status: 429, headers: { "retry-after": "3600" } });
    const res = await service.post("/v1/extract", { transcript: HVAC_CALL_TEXT, variables: VARIABLES });
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe("llm_unavailable");
    expect(res.headers.get("retry-after")).toBe("3600");
    expect(llm.requests).toHaveLength(1);
  });

  it("retries a 5xx and succeeds", async () => {
    llm.script = (request, index) => (index < 2 ? { status: 503 } : { json: answerFor(request, { budget: 1 }) });
    const res = await service.post("/v1/extract", { transcript: HVAC_CALL_TEXT, variables: VARIABLES });
    expect(res.status).toBe(200);
    expect(llm.requests).toHaveLength(3);
  });

  it("answers 502 llm_unavailable after the configured retries of a failing server", async () => {
    llm.script = () => ({ status: 500 });
    const res = await service.post("/v1/extract", { transcript: HVAC_CALL_TEXT, variables: VARIABLES });
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe("llm_unavailable");
    expect(llm.requests).toHaveLength(3);
  });

  it("answers 504 llm_timeout when the LLM never answers", async () => {
    const quick = await serviceWith({ DEBRIEF_LLM_TIMEOUT: "300ms", DEBRIEF_LLM_MAX_RETRIES: "1" });
    llm.script = () => ({ hang: true });
    const res = await quick.post("/v1/extract", { transcript: HVAC_CALL_TEXT, variables: VARIABLES });
    expect(res.status).toBe(504);
    expect(res.body.error.code).toBe("llm_timeout");
    expect(llm.requests).toHaveLength(2);
  });

  it("answers 502 llm_unavailable naming the host it tried, never the key, when nothing listens at the base URL", async () => {
    const key = "sk-test-never-in-an-answer-0123456789";
    const nowhere = await startTestService({ OPENAI_BASE_URL: "http://127.0.0.1:1/v1", OPENAI_API_KEY: key, DEBRIEF_LLM_MAX_RETRIES: "0" });
    services.push(nowhere);
    const res = await nowhere.post("/v1/extract", { transcript: HVAC_CALL_TEXT, variables: VARIABLES });
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe("llm_unavailable");
    expect(res.body.error.message).toContain("http://127.0.0.1:1/v1");
    expect(JSON.stringify(res.body)).not.toContain(key);
  });

  it("answers 503 llm_not_configured, naming the variables to set, when no LLM is configured", async () => {
    const bare = await startTestService({ OPENAI_API_KEY: "", OPENAI_BASE_URL: "" });
    services.push(bare);
    const res = await bare.post("/v1/extract", { transcript: HVAC_CALL_TEXT, variables: VARIABLES });
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe("llm_not_configured");
    expect(res.body.error.message).toContain("OPENAI_API_KEY");
    expect(res.body.error.message).toContain("OPENAI_BASE_URL");
    expect((await bare.get("/healthz")).status).toBe(200);
  });
});

describe("POST /v1/extract: concurrency and modes", () => {
  it("bounds concurrent LLM calls; excess requests wait instead of failing", async () => {
    const bounded = await serviceWith({ DEBRIEF_LLM_CONCURRENCY: "2" });
    let inFlight = 0;
    let peak = 0;
    llm.script = async (request) => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 100));
      inFlight -= 1;
      return { json: answerFor(request, {}) };
    };
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => bounded.post("/v1/extract", { transcript: `AI: call ${i}\nCustomer: hi`, variables: [] })),
    );
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(peak).toBe(2);
  });

  it("in json_object mode puts the schema in the prompt and validates the same way", async () => {
    const jsonMode = await serviceWith({ DEBRIEF_STRUCTURED_OUTPUT: "json_object" });
    llm.script = (_request) => ({
      content: "```json\n" + JSON.stringify({ values: { status: true, summary: "s", budget: "4,000", service_type: "Repair", appointment_date: null, decision_maker: null } }) + "\n```",
    });
    const res = await jsonMode.post("/v1/extract", { transcript: HVAC_CALL_TEXT, variables: VARIABLES });
    expect(res.status).toBe(200);
    expect(res.body.extracted_variables).toMatchObject({ budget: 4000, service_type: "repair" });
    expect(llm.requests[0]!.body.response_format).toEqual({ type: "json_object" });
    expect(userMessage(llm.requests[0]!)).toContain('"additionalProperties":false');
  });
});

describe("POST /v1/extract: long calls", () => {
  it("splits a call several times the budget into chunks, keeps the final turns' values, and settles status and summary in a final pass", async () => {
    const chunked = await serviceWith({ DEBRIEF_MAX_INPUT_TOKENS: "2500", DEBRIEF_CHUNK_OVERLAP_TURNS: "2" });
    const transcript = longCall(
      ["AI: Hi Dana, this is Sam from CoolAir.", "Customer: Hi. Let's book the visit for Tuesday, June 16."],
      ["Customer: Actually, make that Wednesday, June 17. And the budget is four thousand.", "AI: Done: Wednesday, June 17, budget four thousand. Goodbye!"],
    );
    llm.script = (request) => {
      if (request.body.response_format?.json_schema?.name === "call_outcome") {
        return { json: { values: { status: true, summary: "Visit booked for June 17" } } };
      }
      const text = userMessage(request);
      return {
        json: answerFor(request, {
          status: false,
          summary: "part of the call",
          appointment_date: text.includes("June 17") ? "2026-06-17" : text.includes("June 16") ? "2026-06-16" : null,
          budget: text.includes("four thousand") ? 4000 : null,
        }),
      };
    };
    const res = await chunked.post("/v1/extract", { transcript, variables: VARIABLES });
    expect(res.status).toBe(200);
    expect(res.body.meta.chunks).toBeGreaterThanOrEqual(3);
    expect(res.body.extracted_variables).toMatchObject({ appointment_date: "2026-06-17", budget: 4000, status: true, summary: "Visit booked for June 17" });
    const extractionRequests = llm.requests.filter((r) => r.body.response_format?.json_schema?.name === "call_extraction");
    expect(extractionRequests).toHaveLength(res.body.meta.chunks);
    expect(userMessage(extractionRequests.at(-1)!)).toContain("Goodbye!");
    expect(llm.requests.filter((r) => r.body.response_format?.json_schema?.name === "call_outcome")).toHaveLength(1);
    expect(res.body.meta.llm_calls).toBe(res.body.meta.chunks + 1);
  });

  it("answers the LLM's error, and stays up, when a chunk fails while later chunks are still being sent", async () => {
    const chunked = await serviceWith({ DEBRIEF_MAX_INPUT_TOKENS: "3000", DEBRIEF_LLM_MAX_RETRIES: "0" });
    llm.script = () => ({ status: 401, body: { error: { message: "bad key", type: "invalid_request_error" } } });
    const res = await chunked.post("/v1/extract", { transcript: `Customer: ${"A".repeat(60_000)}`, variables: [] });
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe("llm_unauthorized");
    expect((await chunked.get("/healthz")).status).toBe(200);
  });

  it("keeps what the chunks concluded when the final pass cannot tell", async () => {
    const chunked = await serviceWith({ DEBRIEF_MAX_INPUT_TOKENS: "1500", DEBRIEF_CHUNK_OVERLAP_TURNS: "0" });
    const transcript = Array.from({ length: 80 }, (_, i) => `${i % 2 ? "Customer" : "AI"}: line ${i} of a long and uneventful call about nothing much.`).join("\n");
    llm.script = (request) =>
      request.body.response_format?.json_schema?.name === "call_outcome"
        ? { json: { values: { status: null, summary: "A long call" } } }
        : { json: answerFor(request, { status: true, summary: "part" }) };
    const res = await chunked.post("/v1/extract", { transcript, variables: [] });
    expect(res.body.meta.chunks).toBeGreaterThan(1);
    expect(res.body.extracted_variables).toEqual({ status: true, summary: "A long call" });
  });
});
