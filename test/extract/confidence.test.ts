import { describe, expect, it } from "vitest";
import { confidenceOf, valueConfidence, valueSpans } from "../../src/extract/index.js";
import type { TokenLogprob } from "../../src/llm/index.js";
import { scriptTokens, type TokenScript } from "../support/fake-llm.js";

const tokensFor = (text: string, script?: TokenScript): TokenLogprob[] => scriptTokens(text, script);
const names = (text: string) => Object.keys((JSON.parse(text) as { values: Record<string, unknown> }).values);

/** A token of `text` with a log-probability, its bytes given as the server does. */
const token = (text: string, logprob = -0.0001): TokenLogprob => ({ token: text, logprob, bytes: [...Buffer.from(text, "utf8")] });

describe("the aggregate: the probability of the value's least likely token", () => {
  // Each case is a value's tokens; what the three candidate aggregates would say is in the name.
  it.each([
    ["one uncertain digit among certain tokens (geometric mean 0.89 would hide it)", [-0.0001, -0.0001, -0.0001, -0.9163, -0.0001, -0.0001, -0.0001], 0.4],
    ["a long, certain value (joint probability 0.90 would punish its length)", Array.from({ length: 1_000 }, () => -0.0001), 0.9999],
    ["one token", [-0.1054], 0.9],
    ["every token certain", [0, 0, 0], 1],
    ["an impossible token", [-0.0001, -9999], 0],
  ])("%s", (_name, logprobs, expected) => {
    expect(confidenceOf(logprobs)).toBeCloseTo(expected, 4);
  });

  it("is no number at all without tokens", () => {
    expect(confidenceOf([])).toBeUndefined();
  });

  it("reads a positive log-probability (a server's rounding) as certainty, never above 1", () => {
    expect(confidenceOf([0.002])).toBe(1);
  });
});

describe("valueSpans: where each value is written in the answer", () => {
  it.each([
    ["a number", '{"values":{"budget":4000}}', "budget", "4000"],
    ["a negative decimal", '{"values":{"delta":-12.5e2}}', "delta", "-12.5e2"],
    ["a boolean", '{"values":{"ok":false}}', "ok", "false"],
    ["a string with escapes", '{"values":{"note":"said \\"hi\\"\\nthen \\u00e9"}}', "note", '"said \\"hi\\"\\nthen \\u00e9"'],
    ["a list", '{"values":{"items":["a", "b"]}}', "items", '["a", "b"]'],
    ["a value after whitespace and newlines", '{\n  "values": {\n    "budget" :  4000\n  }\n}', "budget", "4000"],
    ["the last of a duplicated key, as JSON.parse keeps it", '{"values":{"budget":1,"budget":2}}', "budget", "2"],
    ["a value beside evidence", '{"values":{"budget":7},"evidence":{"budget":{"quote":"seven","turn":1}}}', "budget", "7"],
  ])("finds %s", (_name, text, name, written) => {
    const span = valueSpans(text)!.get(name)!;
    expect(text.slice(span.start, span.end)).toBe(written);
  });

  it.each([
    ["an array", "[1,2]"],
    ["an object without values", '{"value":{"a":1}}'],
    ["values that is not an object", '{"values":[1]}'],
  ])("has none for %s", (_name, text) => {
    expect(valueSpans(text)).toBeUndefined();
  });
});

describe("valueConfidence: tokens onto values", () => {
  const answer = JSON.stringify({ values: { budget: 4000, appointment_date: "2026-06-17", decision_maker: true, notes: ["calls back"] } });

  it("gives the scripted uncertain value its token's probability, and the others near 1", () => {
    const confidence = valueConfidence(answer, tokensFor(answer, { uncertain: { appointment_date: -1.2 } }), names(answer))!;
    expect(confidence.appointment_date).toBeCloseTo(Math.exp(-1.2), 4);
    for (const name of ["budget", "decision_maker", "notes"]) expect(confidence[name]).toBeGreaterThan(0.999);
  });

  it("rates only the values it is asked about (the non-null ones)", () => {
    const text = '{"values":{"budget":null,"city":"Tucson"}}';
    expect(Object.keys(valueConfidence(text, tokensFor(text), ["city"])!)).toEqual(["city"]);
  });

  it("counts a token that straddles the value's edge: choosing it chose a string over null", () => {
    const text = '{"values":{"city":"Tucson"}}';
    const tokens = [token('{"'), token("values"), token('":{"'), token("city"), token('":"', -0.7), token("Tu"), token("cson"), token('"}}')];
    expect(valueConfidence(text, tokens, ["city"])!.city).toBeCloseTo(Math.exp(-0.7), 4);
  });

  it("does not count the tokens of the key or of whitespace around the value", () => {
    const text = '{"values": {"budget":   4000 }}';
    const tokens = [token('{"'), token("values"), token('": {"'), token("budget", -3), token('":'), token("   ", -3), token("400"), token("0"), token(" ", -3), token("}}")];
    expect(valueConfidence(text, tokens, ["budget"])!.budget).toBeGreaterThan(0.999);
  });

  it("maps a character whose bytes are split across two tokens", () => {
    const text = JSON.stringify({ values: { city: "Zürich", budget: 12 } });
    const tokens = tokensFor(text, { splitCharacters: true, uncertain: { city: -2 } });
    expect(tokens.some((t) => t.token.startsWith("bytes:"))).toBe(true);
    const confidence = valueConfidence(text, tokens, ["city", "budget"])!;
    expect(confidence.city).toBeCloseTo(Math.exp(-2), 4);
    expect(confidence.budget).toBeGreaterThan(0.999);
  });

  it("maps values after characters outside the basic plane (4 bytes, two UTF-16 units)", () => {
    const text = JSON.stringify({ values: { mood: "🙂 fine", budget: 5 } });
    const confidence = valueConfidence(text, tokensFor(text, { splitCharacters: true, uncertain: { budget: -0.5 } }), ["mood", "budget"])!;
    expect(confidence.budget).toBeCloseTo(Math.exp(-0.5), 4);
    expect(confidence.mood).toBeGreaterThan(0.999);
  });

  it("maps a value with escapes in the model's text", () => {
    const text = JSON.stringify({ values: { quote: 'he said "ok"\nbye', budget: 1 } });
    const confidence = valueConfidence(text, tokensFor(text, { uncertain: { quote: -1 } }), ["quote", "budget"])!;
    expect(confidence.quote).toBeCloseTo(Math.exp(-1), 4);
    expect(confidence.budget).toBeGreaterThan(0.999);
  });

  it("takes a list's least likely token over all its items", () => {
    const text = JSON.stringify({ values: { concerns: ["noise", "leak", "smell"] } });
    const tokens = tokensFor(text);
    tokens[tokens.findIndex((t) => t.token === "leak")]!.logprob = -1.5;
    expect(valueConfidence(text, tokens, ["concerns"])!.concerns).toBeCloseTo(Math.exp(-1.5), 4);
  });

  it("reads the JSON inside a Markdown fence at its place in the text", () => {
    const json = JSON.stringify({ values: { budget: 4000 } });
    const text = "```json\n" + json + "\n```";
    const tokens = tokensFor(text, { uncertain: { budget: -0.8 } });
    expect(valueConfidence(text, tokens, ["budget"], { start: 8, end: 8 + json.length })!.budget).toBeCloseTo(Math.exp(-0.8), 4);
  });

  it("uses the token's text when the server gives no bytes", () => {
    const text = '{"values":{"n":7}}';
    const tokens = tokensFor(text, { uncertain: { n: -0.3 } }).map((t) => ({ ...t, bytes: null }));
    expect(valueConfidence(text, tokens, ["n"])!.n).toBeCloseTo(Math.exp(-0.3), 4);
  });

  it.each([
    ["tokens that spell another text", (t: TokenLogprob[]) => [token("{}"), ...t.slice(1)]],
    ["tokens that stop short of the text", (t: TokenLogprob[]) => t.slice(0, -1)],
    ["tokens that run past it", (t: TokenLogprob[]) => [...t, token(" ")]],
    ["a token without a log-probability", (t: TokenLogprob[]) => [{ ...t[0]!, logprob: Number.NaN }, ...t.slice(1)]],
  ])("gives no confidence at all for %s: never a guessed number", (_name, damage) => {
    expect(valueConfidence(answer, damage(tokensFor(answer)), names(answer))).toBeUndefined();
  });

  it("maps a long answer: 20,000 list items", () => {
    const text = JSON.stringify({ values: { items: Array.from({ length: 20_000 }, (_, i) => `item ${i}`), budget: 3 } });
    const confidence = valueConfidence(text, tokensFor(text, { uncertain: { budget: -0.4 } }), ["items", "budget"])!;
    expect(confidence.budget).toBeCloseTo(Math.exp(-0.4), 4);
    expect(confidence.items).toBeGreaterThan(0.999);
  });
});
