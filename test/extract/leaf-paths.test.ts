// Nested values judged per leaf: evidence, confidence and flags addressed by path (`contact.email`, `items[1].quantity`).
import { describe, expect, it } from "vitest";
import { groundEvidence, mergeChunkAnswers, reviewOf, valueConfidence, valueSpans } from "../../src/extract/index.js";
import { extractionSchemaFor } from "../../src/extract/extraction-schema.js";
import { mergedPath } from "../../src/extract/merge.js";
import { toGbnfSchema } from "../../src/llm/local-grammar.js";
import { canonicalPath, leafPaths } from "../../src/extract/paths.js";
import { outputSchemaFor, withDefaults, type VariableSpec } from "../../src/schema/index.js";
import type { Turn } from "../../src/transcript/index.js";
import { scriptTokens } from "../support/fake-llm.js";
import { CONTACT as WHO, ORDER } from "./nested-variables.js";

/** Who called, with a list of strings inside: a single leaf. */
const CONTACT: VariableSpec = { ...WHO, fields: [...WHO.fields!, { name: "phones", type: "list", description: "Numbers", items: { type: "string" } }] };
const BUDGET: VariableSpec = { name: "budget", type: "number", description: "Budget in USD" };

type Json = Record<string, any>;

/** Every object in a JSON Schema, wherever it sits. */
function objectsIn(node: unknown, found: Json[] = []): Json[] {
  if (Array.isArray(node)) node.forEach((child) => objectsIn(child, found));
  else if (node && typeof node === "object") {
    const object = node as Json;
    if (object.type === "object" || (Array.isArray(object.type) && object.type.includes("object"))) found.push(object);
    Object.values(object).forEach((child) => objectsIn(child, found));
  }
  return found;
}

describe("the leaves of a nested value", () => {
  it("walks objects and lists of objects, and keeps a list of strings whole", () => {
    expect(leafPaths(CONTACT, { name: "Ana", email: null, phones: ["+15550100"] }, "contact")).toEqual(["contact.name", "contact.phones"]);
    expect(leafPaths(ORDER, [{ product: "Filter", quantity: 2 }, { product: "Thermostat", quantity: null }], "items")).toEqual([
      "items[0].product",
      "items[0].quantity",
      "items[1].product",
    ]);
  });

  it.each([
    ["items[1].quantity", "items[1].quantity"],
    ["items.1.quantity", "items[1].quantity"],
    ["[1].quantity", "items[1].quantity"],
    [" 1.quantity ", "items[1].quantity"],
  ])("reads the model's path %j as %s", (written, expected) => {
    expect(canonicalPath("items", written)).toBe(expected);
  });
});

describe("the schema asks for a nested variable's evidence per leaf", () => {
  const specs = withDefaults([BUDGET, CONTACT, ORDER]);

  it("is the schema module's own for a flat variable set", () => {
    const flat = withDefaults([BUDGET]);
    expect(extractionSchemaFor(flat, { evidence: true })).toBe(outputSchemaFor(flat, { evidence: true }));
    expect(extractionSchemaFor(specs, { evidence: false })).toBe(outputSchemaFor(specs, { evidence: false }));
  });

  it("asks for a list of {path, quote, turn} per nested variable and the usual quote for a flat one, strict throughout", () => {
    const schema = extractionSchemaFor(specs, { evidence: true }).jsonSchema as Json;
    const evidence = schema.properties.evidence;
    expect(Object.keys(evidence.properties)).toEqual(["status", "summary", "budget", "contact", "items"]);
    expect(evidence.properties.budget).toEqual((outputSchemaFor(specs, { evidence: true }).jsonSchema as Json).properties.evidence.properties.budget);
    const list = evidence.properties.items.anyOf[0];
    expect(list.type).toBe("array");
    expect(Object.keys(list.items.properties)).toEqual(["path", "quote", "turn"]);
    expect(evidence.properties.items.anyOf[1]).toEqual({ type: "null" });
    for (const object of objectsIn(schema)) {
      expect(object.additionalProperties).toBe(false);
      expect([...object.required].sort()).toEqual(Object.keys(object.properties).sort());
    }
    expect(JSON.stringify(schema)).not.toContain("$ref");
  });

  it("validates an answer that gives leaf evidence, and refuses a per-variable quote for a nested variable", () => {
    const { zod } = extractionSchemaFor(specs, { evidence: true });
    const values = { status: true, summary: "s", budget: null, contact: null, items: [{ product: "Filter", quantity: 2 }] };
    const leaf = [{ path: "items[0].quantity", quote: "two filters", turn: 1 }];
    const evidence = { status: null, summary: null, budget: null, contact: null, items: leaf };
    expect(zod.safeParse({ values, evidence }).success).toBe(true);
    expect(zod.safeParse({ values, evidence: { ...evidence, items: { quote: "two filters", turn: 1 } } }).success).toBe(false);
  });

  it("carries the leaf evidence into the local model's grammar", () => {
    const gbnf = toGbnfSchema(extractionSchemaFor(specs, { evidence: true }).jsonSchema, { maxStringChars: 500 }) as any;
    const entry = gbnf.properties.evidence.properties.items.oneOf[0].items;
    expect(entry).toMatchObject({ type: "object", required: ["path", "quote", "turn"], additionalProperties: false });
  });

  it("keeps the lenient schema (formats made null) with the same leaf evidence", () => {
    const schema = extractionSchemaFor(specs, { evidence: true });
    const values = { status: true, summary: "s", budget: null, contact: { name: "Ana", email: "not an email", phones: null }, items: null };
    const evidence = { status: null, summary: null, budget: null, contact: [{ path: "contact.name", quote: "Ana", turn: 0 }], items: null };
    expect(schema.zod.safeParse({ values, evidence }).success).toBe(false);
    expect(schema.lenient!.safeParse({ values, evidence }).success).toBe(true);
  });
});

describe("confidence per leaf path", () => {
  /** The answer's tokens, the one holding the `occurrence`th match of `needle` (0-based) made uncertain. */
  function uncertainAt(text: string, needle: string, occurrence: number, logprob: number) {
    const tokens = scriptTokens(text);
    let at = -1;
    for (let i = 0; i <= occurrence; i += 1) at = text.indexOf(needle, at + 1);
    let bytes = 0;
    for (const token of tokens) {
      if (bytes + token.bytes.length > at) {
        token.logprob = logprob;
        break;
      }
      bytes += token.bytes.length;
    }
    return tokens;
  }

  it("rates the second item's quantity by its own tokens, counting items as validation keeps them (a null item dropped)", () => {
    const text = JSON.stringify({ values: { budget: 4000, items: [null, { product: "Filter", quantity: 2 }, { product: "Thermostat", quantity: 7 }] } });
    const spans = valueSpans(text)!;
    const span = spans.get("items[1].quantity")!;
    expect(text.slice(span.start, span.end)).toBe("7");
    const confidence = valueConfidence(text, uncertainAt(text, "7}", 0, -1.2), ["budget", "items[0].product", "items[0].quantity", "items[1].product", "items[1].quantity"])!;
    expect(confidence["items[1].quantity"]).toBeCloseTo(Math.exp(-1.2), 4);
    for (const key of ["budget", "items[0].product", "items[0].quantity", "items[1].product"]) expect(confidence[key]).toBeGreaterThan(0.99);
  });

  it("rates an object's field by its own tokens, and keeps a flat variable's span as it was", () => {
    const text = JSON.stringify({ values: { contact: { name: "Ana", email: "ana@example.com" }, budget: 12 } });
    const confidence = valueConfidence(text, uncertainAt(text, "example", 0, -0.7), ["contact.name", "contact.email", "budget"])!;
    expect(confidence).toEqual({ "contact.name": expect.any(Number), "contact.email": expect.closeTo(Math.exp(-0.7), 4), budget: expect.any(Number) });
    expect(confidence["contact.name"]).toBeGreaterThan(0.99);
    const span = valueSpans(text)!.get("budget")!;
    expect(text.slice(span.start, span.end)).toBe("12");
  });

  it("reads the last of a duplicated key inside an object, as JSON.parse does", () => {
    const text = '{"values":{"contact":{"name":"Old","name":"New"}}}';
    const span = valueSpans(text)!.get("contact.name")!;
    expect(text.slice(span.start, span.end)).toBe('"New"');
  });
});

describe("merging chunks: each leaf keeps the evidence and source it came from", () => {
  const turns: Turn[] = [
    { speaker: "customer", text: "Two NT-450 filters please." },
    { speaker: "customer", text: "And one thermostat. My e-mail is ana@example.com." },
  ];

  it("numbers a later chunk's new item as merged, with its own quote and source", () => {
    const merged = mergeChunkAnswers([ORDER], [
      { values: { items: [{ product: "NT-450 filter", quantity: 2 }] }, evidence: { items: [{ path: "items[0].quantity", quote: "Two NT-450 filters", turn: 0 }] } as never },
      {
        values: { items: [{ product: "Thermostat", quantity: 1 }, { product: "nt-450 filter", quantity: null }] },
        evidence: { items: [{ path: "[0].product", quote: "one thermostat", turn: 1 }, { path: "items[1].product", quote: "filters", turn: 0 }] } as never,
      },
    ]);
    expect(merged.values.items).toEqual([{ product: "nt-450 filter", quantity: 2 }, { product: "Thermostat", quantity: 1 }]);
    expect(merged.leafSources).toEqual({
      "items[0].product": [{ answer: 1, path: "items[1].product" }],
      "items[0].quantity": [{ answer: 0, path: "items[0].quantity" }],
      "items[1].product": [{ answer: 1, path: "items[0].product" }],
      "items[1].quantity": [{ answer: 1, path: "items[0].quantity" }],
    });
    expect(merged.evidence).toEqual({
      "items[0].product": { quote: "filters", turn: 0 },
      "items[0].quantity": { quote: "Two NT-450 filters", turn: 0 },
      "items[1].product": { quote: "one thermostat", turn: 1 },
      "items[1].quantity": null,
    });
    expect(mergedPath(merged, 1, "items[0].quantity")).toBe("items[1].quantity");
    expect(mergedPath(merged, 0, "items[0].quantity")).toBe("items[0].quantity");
    expect(mergedPath(merged, 1, "items[1].product")).toBe("items[0].product");
  });

  it("grounds each leaf's quote by its path, and names the ungrounded leaf", () => {
    const values = { contact: { name: "Ana", email: "ana@example.com", phones: null }, budget: null };
    const grounded = groundEvidence(turns, values, {
      "contact.email": { quote: "ana@example.com", turn: 0 },
      "contact.name": { quote: "I am Ana", turn: 1 },
      "contact.phones": { quote: "two", turn: 0 },
    });
    expect(grounded.evidence).toEqual({ "contact.email": { quote: "ana@example.com", turn: 1 } });
    expect(grounded.ungroundedNames).toEqual(["contact.name"]);
  });
});

describe("review per leaf path", () => {
  it("flags a leaf under min_confidence by its path, and leaves a flat variable's review as it was", () => {
    const review = reviewOf({
      values: { budget: 4000, contact: { name: "Ana", email: "ana@example.com" }, items: [{ product: "Filter", quantity: 2 }, { product: "Thermostat", quantity: 1 }] },
      confidence: { budget: 0.3, "contact.name": 0.99, "contact.email": 0.4, "items[0].product": 0.99, "items[1].quantity": 0.2 },
      flags: { budget: ["coerced"], "items[1].quantity": ["coerced"], "contact.name": ["ungrounded"] },
      minConfidence: 0.5,
    });
    expect(review).toEqual({
      needed: true,
      fields: {
        budget: ["low_confidence", "coerced"],
        "items[1].quantity": ["low_confidence", "coerced"],
        "contact.name": ["ungrounded"],
        "contact.email": ["low_confidence"],
      },
    });
  });

  it("never flags a leaf that is null, however low its stale confidence", () => {
    const review = reviewOf({ values: { contact: { name: null } }, confidence: { "contact.name": 0.1 }, minConfidence: 0.5 });
    expect(review).toEqual({ needed: false, fields: {} });
  });
});
