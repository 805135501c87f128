// What a request reserves from the shared LLM budget: its prompt's tokens, counted with tiktoken as OpenAI bills them
// (long texts estimated from samples, within a few percent), plus its profile's recent p95 answer (1,000 tokens until
// it has some), and how the answer's `usage` corrects it. Against the loopback OpenAI-compatible server.
import { get_encoding } from "tiktoken";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Extractor } from "../../src/extract/index.js";
import { createLlm, observedFromHeaders, SharedLlmBudget, type LlmBudget } from "../../src/llm/index.js";
import type { BudgetRequest } from "../../src/llm/budget.js";
import { countOrEstimate, EXACT_COUNT_CHARS, PromptTokens, TOKENS_PER_MESSAGE, TOKENS_PER_REQUEST } from "../../src/llm/prompt-tokens.js";
import { parseExtractRequest } from "../../src/schema/index.js";
import { loadSettings } from "../../src/settings.js";
import { tokenCounter } from "../../src/transcript/index.js";
import { HVAC_CALL_TEXT, longCall } from "../fixtures/calls.js";
import { answerFor, startFakeLlm, type FakeLlm, type RecordedRequest } from "../support/fake-llm.js";
import { until } from "../support/poll.js";

const o200k = get_encoding("o200k_base");
const tokens = (text: string) => o200k.encode_ordinary(text).length;

/** What OpenAI bills as the prompt of a request: every message's text, the response schema, and the chat framing. */
function billedPrompt(request: RecordedRequest): number {
  const schema = request.body.response_format?.json_schema?.schema;
  return request.body.messages.reduce((sum, message) => sum + tokens(message.content) + TOKENS_PER_MESSAGE, tokens(schema ? JSON.stringify(schema) : "") + TOKENS_PER_REQUEST);
}

/** A budget that grants everything and records what each request reserved and what its answer settled. */
function recordingBudget(limitsTokens = true) {
  const reserved: BudgetRequest[] = [];
  const settled: number[] = [];
  const budget: LlmBudget = {
    acquire: async (request) => {
      reserved.push(request);
      return { settle: (actual) => void settled.push(actual) };
    },
    limitsTokens: () => limitsTokens,
    waitFor: async () => 0,
    learn: () => undefined,
    close: async () => undefined,
  };
  return { budget, reserved, settled };
}

/** Completion tokens the server reports for the next answers, in turn (then 20). */
let completions: number[] = [];
/** The next request waits for this before it is answered. */
let held: Promise<void> | undefined;
let llm: FakeLlm;
beforeAll(async () => {
  llm = await startFakeLlm(async (request) => {
    const gate = held;
    held = undefined;
    await gate;
    return { json: answerFor(request, {}), usage: { prompt_tokens: billedPrompt(request), completion_tokens: completions.shift() ?? 20 } };
  });
});
beforeEach(() => {
  completions = [];
  held = undefined;
  llm.requests.length = 0;
});
afterAll(async () => {
  await llm.close();
  o200k.free();
});

function extractorWith(env: Record<string, string> = {}, limitsTokens = true) {
  const settings = loadSettings({ OPENAI_BASE_URL: llm.url, OPENAI_API_KEY: "test-key", DEBRIEF_LLM_MAX_RETRIES: "0", DEBRIEF_LOCAL_MODEL: "off", ...env });
  const recorded = recordingBudget(limitsTokens);
  return { extractor: new Extractor({ llm: createLlm(settings.llm, { budget: recorded.budget }), settings: settings.llm }), settings, ...recorded };
}

const variables = [
  { name: "budget", type: "number", description: "The customer's budget in dollars" },
  { name: "appointment_date", type: "date", description: "The day the visit is booked for" },
];

/** Conversational English, and text tiktoken cuts much finer (Japanese, digits): an estimate must follow either. */
const TEXTS = {
  english: longCall(["AI: Hi Dana, this is Sam from CoolAir."], []).repeat(3) + "\nCustomer: The budget is four thousand.\nAI: Goodbye!",
  japanese: "お客様: エアコンから異音がします。来週の火曜日の午後三時に修理の予約をお願いします。予算は四千ドルです。\n".repeat(400),
  numbers: Array.from({ length: 4_000 }, (_, index) => `${(index * 7919) % 100_003}`).join(" "),
};

describe("counting a prompt", () => {
  it.each(Object.entries(TEXTS))("estimates a long %s text within 5% of its tiktoken count, from samples", (_, text) => {
    expect(text.length).toBeGreaterThan(EXACT_COUNT_CHARS * 4);
    const exact = tokens(text);
    const estimate = countOrEstimate(text, tokenCounter("gpt-4o-mini"));
    expect(Math.abs(estimate - exact) / exact).toBeLessThan(0.05);
  });

  it("counts a short text exactly", () => {
    const text = HVAC_CALL_TEXT.slice(0, EXACT_COUNT_CHARS);
    expect(countOrEstimate(text, tokenCounter("gpt-4o-mini"))).toBe(tokens(text));
  });

  it("adds the chat framing and the response schema, as OpenAI bills them", () => {
    const schema = { type: "object", properties: { values: { type: "object" } }, required: ["values"], additionalProperties: false };
    const messages = [
      { role: "system" as const, content: "You extract variables from phone calls." },
      { role: "user" as const, content: HVAC_CALL_TEXT },
    ];
    const counted = new PromptTokens().count({ model: "gpt-4o-mini", messages, schema });
    expect(counted).toBe(tokens(messages[0]!.content) + tokens(messages[1]!.content) + 2 * TOKENS_PER_MESSAGE + tokens(JSON.stringify(schema)) + TOKENS_PER_REQUEST);
  });
});

describe("what a request reserves from the shared budget", () => {
  it("reserves the prompt's counted tokens and 1,000 for the answer, and settles with the answer's usage", async () => {
    const { extractor, settings, reserved, settled } = extractorWith();
    const job = parseExtractRequest({ transcript: HVAC_CALL_TEXT, variables, options: { evidence: true } }, settings.limits);
    completions = [37];
    await extractor.extract(job, { profile: "hvac" });
    expect(llm.requests).toHaveLength(1);
    const prompt = billedPrompt(llm.requests[0]!);
    expect(reserved).toEqual([expect.objectContaining({ model: "gpt-4o-mini", tokens: prompt + 1_000, priority: "live" })]);
    expect(settled).toEqual([prompt + 37]);
  });

  it("reserves the profile's recent p95 answer once it has answered 5 times, and another profile's own", async () => {
    const { extractor, settings, reserved } = extractorWith();
    const job = parseExtractRequest({ transcript: HVAC_CALL_TEXT, variables }, settings.limits);
    // 20 answers: the p95 of 10, 20 … 200 is 190.
    completions = Array.from({ length: 20 }, (_, index) => (index + 1) * 10);
    for (let index = 0; index < 20; index += 1) await extractor.extract(job, { profile: "chatty" });
    reserved.length = 0;
    await extractor.extract(job, { profile: "chatty" });
    await extractor.extract(job, { profile: "new" });
    const prompt = billedPrompt(llm.requests.at(-1)!);
    expect(reserved.map((request) => request.tokens)).toEqual([prompt + 190, prompt + 1_000]);
  });

  it("reserves a long call's chunks within 5% of their billed prompts, without tokenising them whole", async () => {
    const { extractor, settings, reserved } = extractorWith({ DEBRIEF_MAX_INPUT_TOKENS: "6000" });
    const job = parseExtractRequest({ transcript: TEXTS.english, variables }, settings.limits);
    await extractor.extract(job, { profile: "long" });
    const chunks = llm.requests.filter((request) => request.body.response_format?.json_schema?.name !== "call_outcome");
    expect(chunks.length).toBeGreaterThan(1);
    chunks.forEach((request, index) => {
      const billed = billedPrompt(request);
      expect(Math.abs(reserved[index]!.tokens - 1_000 - billed) / billed).toBeLessThan(0.05);
    });
  });

  it("tokenises nothing for a model with no token limit, configured or learned", async () => {
    const { extractor, settings, reserved } = extractorWith({}, false);
    await extractor.extract(parseExtractRequest({ transcript: HVAC_CALL_TEXT, variables }, settings.limits), { profile: "hvac" });
    expect(reserved.map((request) => request.tokens)).toEqual([0]);
  });

  it("has a token limit once the server's x-ratelimit-limit-tokens says so", () => {
    const budget = new SharedLlmBudget({ limits: { byModel: {}, fallback: { rpm: 60 } } });
    expect(budget.limitsTokens("gpt-4o-mini")).toBe(false);
    budget.learn("gpt-4o-mini", observedFromHeaders(new Headers({ "x-ratelimit-limit-tokens": "200000" })));
    expect(budget.limitsTokens("gpt-4o-mini")).toBe(true);
    expect(new SharedLlmBudget({ limits: { byModel: {}, fallback: { tpm: 10_000 } } }).limitsTokens("gpt-4o-mini")).toBe(true);
  });

  it("holds a request while an earlier one's reservation leaves too few tokens, and lets it go once that answer's usage gives the rest back", async () => {
    const probe = extractorWith();
    const job = parseExtractRequest({ transcript: HVAC_CALL_TEXT, variables }, probe.settings.limits);
    await probe.extractor.extract(job);
    const prompt = billedPrompt(llm.requests[0]!);
    llm.requests.length = 0;
    // Room for one request's prompt and 1,000-token answer, and for a second one only once the first has used 20.
    const budget = new SharedLlmBudget({ limits: { byModel: {}, fallback: { tpm: 2 * prompt + 1_500 } } });
    const extractor = new Extractor({ llm: createLlm(probe.settings.llm, { budget }), settings: probe.settings.llm });
    let release = () => {};
    held = new Promise<void>((resolve) => (release = resolve));

    const first = extractor.extract(job);
    await until(async () => llm.requests.length, (count) => count === 1);
    const second = extractor.extract(job);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(llm.requests).toHaveLength(1);
    release();
    await Promise.all([first, second]);
    expect(llm.requests).toHaveLength(2);
  });
});
