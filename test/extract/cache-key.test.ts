import { describe, expect, it } from "vitest";
import { loadSettings } from "../../src/settings.js";
import { Extractor } from "../../src/extract/index.js";
import { unconfiguredLlm } from "../../src/llm/index.js";
import { parseExtractRequest } from "../../src/schema/index.js";

const settings = loadSettings({ OPENAI_API_KEY: "k" });
const extractor = new Extractor({ llm: unconfiguredLlm, settings: settings.llm });
const jsonMode = new Extractor({ llm: unconfiguredLlm, settings: { ...settings.llm, structuredOutput: "json_object" } });

const base = {
  transcript: "AI: Hi Dana.\nCustomer: Budget is four thousand.",
  variables: [
    { name: "budget", type: "number", description: "Monthly budget" },
    { name: "tier", type: "enum", options: ["basic", "pro"], description: "Plan" },
  ],
  context: {
    system_prompt: "Qualify the lead.",
    call: { id: "call-1", created_at: "2026-06-12T14:22:05Z", timezone: "America/New_York" },
    input_variables: { customer_name: "Dana" },
  },
  options: { evidence: false },
};
const key = (body: unknown, using = extractor) => using.cacheKey(parseExtractRequest(JSON.parse(JSON.stringify(body)), settings.limits));

describe("the cache key", () => {
  it("is a SHA-256 hex digest", () => {
    expect(key(base)).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each([
    ["key order in the JSON", { options: base.options, context: base.context, variables: base.variables, transcript: base.transcript }],
    ["whitespace in the JSON", JSON.parse(JSON.stringify(base, null, 4))],
    ["the order of the variables", { ...base, variables: [...base.variables].reverse() }],
    ["the call id, which never reaches the prompt", { ...base, context: { ...base.context, call: { ...base.context.call, id: "other" } } }],
    ["the transcript's shape when its words are the same", { ...base, transcript: [{ role: "assistant", content: "Hi Dana." }, { role: "user", content: "Budget is four thousand." }] }],
    ["the cache option itself", { ...base, options: { ...base.options, cache: false } }],
    ["a type alias for the same type", { ...base, variables: [{ ...base.variables[0]!, type: "float" }, base.variables[1]] }],
  ])("ignores %s", (_name, body) => {
    expect(key(body)).toBe(key(base));
  });

  it.each([
    ["the transcript", { ...base, transcript: "AI: Hi Dana.\nCustomer: Budget is five thousand." }],
    ["a variable's description", { ...base, variables: [{ ...base.variables[0]!, description: "Yearly budget" }, base.variables[1]] }],
    ["a variable's type", { ...base, variables: [{ ...base.variables[0]!, type: "integer" }, base.variables[1]] }],
    ["a variable's options", { ...base, variables: [base.variables[0], { ...base.variables[1]!, options: ["basic", "pro", "max"] }] }],
    ["a variable's name", { ...base, variables: [{ ...base.variables[0]!, name: "monthly_budget" }, base.variables[1]] }],
    ["the system prompt", { ...base, context: { ...base.context, system_prompt: "Book a demo." } }],
    ["the call date", { ...base, context: { ...base.context, call: { ...base.context.call, created_at: "2026-06-13T14:22:05Z" } } }],
    ["the time zone", { ...base, context: { ...base.context, call: { ...base.context.call, timezone: "Europe/Paris" } } }],
    ["the input variables", { ...base, context: { ...base.context, input_variables: { customer_name: "Dan" } } }],
    ["the model", { ...base, options: { ...base.options, model: "gpt-4o" } }],
    ["the evidence option", { ...base, options: { ...base.options, evidence: true } }],
  ])("changes with %s", (_name, body) => {
    expect(key(body)).not.toBe(key(base));
  });

  it("changes with the structured-output mode", () => {
    expect(key(base, jsonMode)).not.toBe(key(base));
  });

  it("changes with where the variable descriptions go (DEBRIEF_SCHEMA_IN_PROMPT), and says so in the prompt version", () => {
    const always = new Extractor({ llm: unconfiguredLlm, settings: { ...settings.llm, schemaInPrompt: "always" } });
    const never = new Extractor({ llm: unconfiguredLlm, settings: { ...settings.llm, schemaInPrompt: "never" } });
    expect(key(base, always)).not.toBe(key(base, never));
    expect(never.promptVersion).toBe(`${always.promptVersion}+lean`);
  });

  it("changes when log-probabilities are turned off (the answer then has no confidence), not between auto and on", () => {
    const withMode = (logprobs: "auto" | "on" | "off") => new Extractor({ llm: unconfiguredLlm, settings: { ...settings.llm, logprobs } });
    expect(key(base, withMode("off"))).not.toBe(key(base, withMode("auto")));
    expect(key(base, withMode("on"))).toBe(key(base, withMode("auto")));
  });

  it("ignores min_confidence, which only changes the review computed per request", () => {
    expect(key({ ...base, options: { ...base.options, min_confidence: 0.9 } })).toBe(key(base));
  });
});
