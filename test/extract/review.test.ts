import { describe, expect, it } from "vitest";
import { countedFlags, mergeChunkAnswers, reviewOf, type AnswerFlag } from "../../src/extract/index.js";
import { checkAnswer } from "../../src/extract/structured.js";
import { buildOutputSchema, coercedValues, withDefaults, type VariableSpec } from "../../src/schema/index.js";

describe("reviewOf", () => {
  const values = { status: true, summary: "Booked", budget: 4000, city: null };
  it.each<[string, { confidence?: Record<string, number>; flags?: Record<string, AnswerFlag[]>; minConfidence?: number }, Record<string, string[]>]>([
    ["no flags and no confidence: nothing to review", {}, {}],
    ["a confidence under the threshold", { confidence: { status: 0.99, summary: 0.97, budget: 0.42 } }, { budget: ["low_confidence"] }],
    ["a confidence exactly at the threshold is not under it", { confidence: { budget: 0.5 } }, {}],
    ["a request's own threshold", { confidence: { budget: 0.75, summary: 0.81 }, minConfidence: 0.8 }, { budget: ["low_confidence"] }],
    ["a threshold of 0 flags nothing", { confidence: { budget: 0 }, minConfidence: 0 }, {}],
    ["answer-time flags, in the documented order", { flags: { budget: ["coerced", "repaired", "ungrounded", "chunks_disagree"] } }, { budget: ["ungrounded", "repaired", "chunks_disagree", "coerced"] }],
    ["low_confidence first, beside the answer's flags", { confidence: { budget: 0.1 }, flags: { budget: ["coerced"] } }, { budget: ["low_confidence", "coerced"] }],
    ["never a null value, whatever it is given", { confidence: { city: 0.01 }, flags: { city: ["repaired"] } }, {}],
  ])("%s", (_name, input, fields) => {
    const review = reviewOf({ values, minConfidence: 0.5, ...input });
    expect(review).toEqual({ needed: Object.keys(fields).length > 0, fields });
  });
});

describe("countedFlags: a profile's review.flags", () => {
  const review = { needed: true, fields: { budget: ["low_confidence" as const, "coerced" as const], city: ["repaired" as const] } };
  it.each<[string, Parameters<typeof countedFlags>[1], Record<string, string[]>]>([
    ["every flag counts: the review as it was", ["low_confidence", "ungrounded", "repaired", "chunks_disagree", "coerced"], review.fields],
    ["some flags: a value keeps those that count", ["coerced", "repaired"], { budget: ["coerced"], city: ["repaired"] }],
    ["a value left with no flag that counts is not flagged", ["low_confidence"], { budget: ["low_confidence"] }],
    ["no flag counts: nothing to review", [], {}],
  ])("%s", (_name, counted, fields) => {
    expect(countedFlags(review, counted)).toEqual({ needed: Object.keys(fields).length > 0, fields });
  });
});

describe("mergeChunkAnswers: where each value came from", () => {
  const specs: VariableSpec[] = [
    { name: "appointment_date", type: "date", description: "d" },
    { name: "budget", type: "number", description: "b" },
    { name: "products", type: "list", description: "p" },
    { name: "city", type: "string", description: "c" },
  ];
  const merged = mergeChunkAnswers(specs, [
    { values: { appointment_date: "2026-06-16", budget: 4000, products: ["solar"], city: null } },
    { values: { appointment_date: null, budget: 4000, products: null, city: null } },
    { values: { appointment_date: "2026-06-17", budget: null, products: ["battery"], city: null } },
  ]);

  it("names the chunk a value came from, and every chunk a list gathered items from", () => {
    expect(merged.sources).toEqual({ appointment_date: [2], budget: [1], products: [0, 2] });
  });

  it("says the chunks disagree when they gave different values, not when they repeat one or gather a list", () => {
    expect(merged.disagreements).toEqual(["appointment_date"]);
  });
});

describe("checkAnswer: which values a wrong answer got wrong", () => {
  const specs = withDefaults([
    { name: "budget", type: "number", description: "b" },
    { name: "tier", type: "enum", options: ["basic", "pro"], description: "t" },
  ]);
  const schema = buildOutputSchema(specs, { evidence: true });
  const answer = (values: Record<string, unknown>, evidence: Record<string, unknown> = {}) =>
    JSON.stringify({ values: { status: null, summary: null, budget: null, tier: null, ...values }, evidence: { status: null, summary: null, budget: null, tier: null, ...evidence } });

  it.each<[string, string, string[] | "all"]>([
    ["a value of the wrong type", answer({ budget: "lots", tier: "gold" }), ["budget", "tier"]],
    ["a missing value", JSON.stringify({ values: { status: null, summary: null, tier: null }, evidence: {} }), ["budget"]],
    ["no values at all", JSON.stringify({ evidence: {} }), "all"],
    ["a misspelt key beside a missing one", JSON.stringify({ values: { status: null, summary: null, budgt: 1, tier: null }, evidence: { status: null, summary: null, budget: null, tier: null } }), ["budget"]],
    ["a wrong evidence entry only", answer({ budget: 1 }, { budget: { quote: 5, turn: 0 } }), []],
    ["text that is not JSON", "Sure! {budget: 4000", "all"],
    ["an answer that is not an object", "[1, 2]", "all"],
  ])("%s", (_name, text, expected) => {
    const checked = checkAnswer(text, schema);
    expect(checked.ok).toBe(false);
    if (!checked.ok) expect(checked.invalid === "all" ? "all" : [...checked.invalid].sort()).toEqual(expected);
  });
});

describe("coercedValues: what the schema's normalisation changed", () => {
  const specs = withDefaults([
    { name: "budget", type: "number", description: "b" },
    { name: "tier", type: "enum", options: ["basic", "pro"], description: "t" },
    { name: "when", type: "date", description: "w" },
    { name: "products", type: "list", options: ["solar", "battery"], description: "p" },
    { name: "note", type: "string", description: "n" },
  ]);
  const { zod } = buildOutputSchema(specs, { evidence: false });
  const base = { status: true, summary: "s", budget: 4000, tier: "pro", when: "2026-06-17", products: ["solar"], note: "hi" };

  it.each<[string, Record<string, unknown>, string[]]>([
    ["reports nothing when the model wrote every value as it is kept", {}, []],
    ["reports a number written with separators", { budget: "4,000" }, ["budget"]],
    ["reports an option in another case", { tier: "Pro" }, ["tier"]],
    ["reports a date written as a date-time", { when: "2026-06-17T00:00:00Z" }, ["when"]],
    ["reports list items in another case", { products: ["Solar", "battery"] }, ["products"]],
    ["reports a yes for a boolean", { status: "yes" }, ["status"]],
    ["leaves out a blank string made null: there is no value", { note: "  " }, []],
    ["leaves out the word null", { budget: "null" }, []],
  ])("%s", (_name, written, expected) => {
    const raw = { values: { ...base, ...written } };
    expect(coercedValues(raw, zod.parse(raw))).toEqual(expected);
  });
});
