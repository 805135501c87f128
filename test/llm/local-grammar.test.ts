// The local model's grammar: Debrief's strict JSON Schema in node-llama-cpp's dialect, with every string and list
// bounded, and node-llama-cpp's number and date rules tightened to what validation accepts.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Llama } from "node-llama-cpp";
import { GrammarCache, MAX_LIST_ITEMS, TIGHTER_RULES, tightenGrammar, toGbnfSchema } from "../../src/llm/local-grammar.js";
import { buildOutputSchema, type VariableSpec } from "../../src/schema/index.js";

const spec = (type: VariableSpec["type"], options?: string[]): VariableSpec => ({ name: "x", type, description: "d", ...(options ? { options } : {}) }) as VariableSpec;

/** The GbnfJsonSchema of one variable's value. */
function valueGrammarSchema(variable: VariableSpec): unknown {
  const schema = toGbnfSchema(buildOutputSchema([variable], { evidence: false }).jsonSchema, { maxStringChars: 30 }) as any;
  return schema.properties.values.properties.x;
}

describe("toGbnfSchema", () => {
  it.each([
    ["string", spec("string"), { oneOf: [{ type: "string", maxLength: 30 }, { type: "null" }] }],
    ["number", spec("number"), { oneOf: [{ type: "number" }, { type: "null" }] }],
    ["integer", spec("integer"), { oneOf: [{ type: "integer" }, { type: "null" }] }],
    ["boolean", spec("boolean"), { oneOf: [{ type: "boolean" }, { type: "null" }] }],
    ["enum", spec("enum", ["a", "b"]), { oneOf: [{ enum: ["a", "b"] }, { type: "null" }] }],
    ["date", spec("date"), { oneOf: [{ type: "string", format: "date" }, { type: "null" }] }],
    ["datetime", spec("datetime"), { oneOf: [{ type: "string", format: "date-time" }, { type: "null" }] }],
    ["list", spec("list"), { oneOf: [{ type: "array", items: { type: "string", maxLength: 30 }, maxItems: MAX_LIST_ITEMS }, { type: "null" }] }],
    ["list of options", spec("list", ["a", "b"]), { oneOf: [{ type: "array", items: { enum: ["a", "b"] }, maxItems: MAX_LIST_ITEMS }, { type: "null" }] }],
  ])("bounds a %s value, or null", (_type, variable, expected) => {
    expect(valueGrammarSchema(variable)).toEqual(expected);
  });

  it("keeps every property required, in order, and nothing else", () => {
    const schema = toGbnfSchema(buildOutputSchema([spec("boolean")], { evidence: true }).jsonSchema, { maxStringChars: 30 }) as any;
    expect(schema).toMatchObject({ type: "object", required: ["values", "evidence"], additionalProperties: false });
    expect(schema.properties.evidence.properties.x.oneOf[0]).toEqual({
      type: "object",
      properties: { quote: { type: "string", maxLength: 30 }, turn: { type: "integer" } },
      required: ["quote", "turn"],
      additionalProperties: false,
    });
  });

  it("refuses a JSON Schema node it does not know, rather than dropping a constraint", () => {
    expect(() => toGbnfSchema({ $ref: "#/definitions/x" }, { maxStringChars: 30 })).toThrow(/does not support/);
  });
});

describe("the grammar node-llama-cpp builds", () => {
  let llama: Llama;
  beforeAll(async () => {
    const { getLlama } = await import("node-llama-cpp");
    llama = await getLlama({ build: "never", skipDownload: true, progressLogs: false, maxThreads: 1 });
  });
  afterAll(async () => {
    await llama.dispose();
  });

  const everyType = buildOutputSchema([spec("integer"), spec("number"), spec("date"), spec("datetime")].map((v, i) => ({ ...v, name: `v${i}` })), {
    evidence: false,
  }).jsonSchema;

  it("has every rule Debrief tightens (a node-llama-cpp upgrade that renames one fails here)", async () => {
    const base = await llama.createGrammarForJsonSchema(toGbnfSchema(everyType, { maxStringChars: 30 }) as never);
    const names = base.grammar.split("\n").map((line) => /^([\w-]+) ::= /.exec(line)?.[1]);
    for (const rule of Object.keys(TIGHTER_RULES)) expect(names).toContain(rule);
  });

  it("allows no exponent on integers, a two-digit exponent on numbers, and only real days of each month", async () => {
    const grammar = (await new GrammarCache(llama, { maxStringChars: 30 }).forSchema(everyType)).grammar;
    expect(grammar).toContain(`integer-number-rule ::= ${TIGHTER_RULES["integer-number-rule"]}`);
    expect(grammar).toContain('("0" [469] | "11") "-" ("0" [1-9] | [12] [0-9] | "30")');
    expect(grammar).not.toMatch(/integer-number-rule ::= .*\[eE\]/);
    expect(tightenGrammar("other-rule ::= [0-9]")).toBe("other-rule ::= [0-9]");
  });

  it("builds a schema's grammar once", async () => {
    const cache = new GrammarCache(llama, { maxStringChars: 30 });
    expect(await cache.forSchema(everyType)).toBe(await cache.forSchema(everyType));
  });
});
