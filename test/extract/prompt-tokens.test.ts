// Extractor.promptTokens, what a backfill's estimate adds up: the tokens of exactly the prompts `extract` sends (every
// chunk of a long call), counted independently here with tiktoken over the requests the fake LLM received.
import { get_encoding } from "tiktoken";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadSettings } from "../../src/settings.js";
import { Extractor } from "../../src/extract/index.js";
import { TOKENS_PER_MESSAGE, TOKENS_PER_REQUEST } from "../../src/extract/plan.js";
import { createLlm } from "../../src/llm/index.js";
import { parseExtractRequest } from "../../src/schema/index.js";
import { HVAC_CALL_TEXT, longCall } from "../fixtures/calls.js";
import { answerFor, startFakeLlm, type FakeLlm, type RecordedRequest } from "../support/fake-llm.js";

const o200k = get_encoding("o200k_base");
const tokens = (text: string) => o200k.encode_ordinary(text).length;

/** What OpenAI bills as the prompt of a request: every message's text, the response schema, and the chat framing. */
function billedPrompt(request: RecordedRequest): number {
  const schema = request.body.response_format?.json_schema?.schema;
  return request.body.messages.reduce((sum, message) => sum + tokens(message.content) + TOKENS_PER_MESSAGE, tokens(schema ? JSON.stringify(schema) : "") + TOKENS_PER_REQUEST);
}

let llm: FakeLlm;
beforeAll(async () => {
  llm = await startFakeLlm((request) => ({ json: answerFor(request, {}) }));
});
afterAll(async () => {
  await llm.close();
  o200k.free();
});

function extractorWith(env: Record<string, string> = {}) {
  const settings = loadSettings({ OPENAI_BASE_URL: llm.url, OPENAI_API_KEY: "test-key", DEBRIEF_LLM_MAX_RETRIES: "0", DEBRIEF_LOCAL_MODEL: "off", ...env });
  return { extractor: new Extractor({ llm: createLlm(settings.llm), settings: settings.llm }), settings };
}

const variables = [
  { name: "budget", type: "number", description: "The customer's budget in dollars" },
  { name: "appointment_date", type: "date", description: "The day the visit is booked for" },
];

describe("Extractor.promptTokens", () => {
  it("counts the prompt tokens of the one request a short call sends", async () => {
    const { extractor, settings } = extractorWith();
    const job = parseExtractRequest({ transcript: HVAC_CALL_TEXT, variables, options: { evidence: true } }, settings.limits);
    const counted = await extractor.promptTokens(job);
    llm.requests.length = 0;
    await extractor.extract(job);
    expect(llm.requests).toHaveLength(1);
    expect(counted).toEqual({ model: "gpt-4o-mini", llm_calls: 1, prompt_tokens: billedPrompt(llm.requests[0]!) });
    // A known size: the prompt is the instructions, 9 turns and 4 variables' schema; sanity-bound it.
    expect(counted.prompt_tokens).toBeGreaterThan(300);
    expect(counted.prompt_tokens).toBeLessThan(3_000);
  });

  it("counts every chunk of a long call (the short final pass aside)", async () => {
    const { extractor, settings } = extractorWith({ DEBRIEF_MAX_INPUT_TOKENS: "2500", DEBRIEF_CHUNK_OVERLAP_TURNS: "2" });
    const transcript = longCall(["AI: Hi Dana, this is Sam from CoolAir."], ["Customer: The budget is four thousand.", "AI: Goodbye!"]);
    const job = parseExtractRequest({ transcript, variables }, settings.limits);
    const counted = await extractor.promptTokens(job);
    llm.requests.length = 0;
    await extractor.extract(job);
    const chunks = llm.requests.filter((request) => request.body.response_format?.json_schema?.name === "call_extraction");
    expect(chunks.length).toBeGreaterThan(1);
    expect(counted.llm_calls).toBe(chunks.length);
    expect(counted.prompt_tokens).toBe(chunks.reduce((sum, request) => sum + billedPrompt(request), 0));
  });
});
