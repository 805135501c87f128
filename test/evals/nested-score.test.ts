import { describe, expect, it } from "vitest";
import { scoreItem } from "../../evals/build-report.js";
import { loadDatasets } from "../../evals/dataset.js";
import { bestAssignment, scoreLeaves } from "../../evals/nested-score.js";
import { DEFAULT_SCORE_OPTIONS } from "../../evals/score.js";
import type { ExtractResult } from "../../src/extract/index.js";
import type { VariableSpec } from "../../src/schema/index.js";

const LIMITS = { maxVariables: 50, maxDescriptionChars: 2000 };
const ITEMS = loadDatasets(["evals/datasets/nested"], LIMITS);

const LINES: VariableSpec = {
  name: "items",
  type: "list",
  description: "Lines",
  items: { type: "object", fields: [
    { name: "product", type: "string", description: "Product" },
    { name: "quantity", type: "integer", description: "How many" },
  ] },
};

function answered(values: Record<string, unknown>): ExtractResult {
  return { extracted_variables: values, meta: { latency_ms: 10, attempts: 1, chunks: 1, usage: { prompt_tokens: 1, completion_tokens: 1 } } } as unknown as ExtractResult;
}

describe("scoring nested values per leaf", () => {
  it("pairs list items with their labels by the best assignment, whatever their order", () => {
    const leaves = scoreLeaves(LINES, [{ product: "Filter", quantity: 2 }, { product: "Thermostat", quantity: 1 }], [{ product: "thermostat", quantity: 1 }, { product: "filter", quantity: 3 }], "items");
    expect(leaves.map((leaf) => [leaf.path, leaf.outcome])).toEqual([
      ["items[].product", "correct"],
      ["items[].quantity", "wrong"],
      ["items[].product", "correct"],
      ["items[].quantity", "correct"],
    ]);
  });

  it("counts a missing item's leaves as misses and an invented item's as hallucinations", () => {
    const leaves = scoreLeaves(LINES, [{ product: "Filter", quantity: 2 }], [{ product: "Filter", quantity: 2 }, { product: "Tape", quantity: 1 }], "items");
    expect(leaves.map((leaf) => leaf.outcome)).toEqual(["correct", "correct", "hallucination", "hallucination"]);
    expect(bestAssignment([1, 2], [], () => 0)).toEqual([[1, null], [2, null]]);
  });
});

describe("the nested datasets", () => {
  it("hold at least 20 labelled calls in two scenarios, loaded with the service's own schemas", () => {
    expect(ITEMS.length).toBeGreaterThanOrEqual(20);
    expect(new Set(ITEMS.map((item) => item.scenario))).toEqual(new Set(["nested_orders", "nested_people_address"]));
  });

  it("score exactly 1.0 for a model answering the labels, per leaf path", () => {
    for (const item of ITEMS) {
      const scored = scoreItem({ item, model: "labels", result: answered(item.expected) }, DEFAULT_SCORE_OPTIONS);
      expect(scored.accuracy, item.id).toBe(1);
      expect(scored.fields.some((field) => field.name.includes("[]."))).toBe(true);
    }
  });

  it("score exactly the share of null leaves for a model answering null", () => {
    let leaves = 0;
    let correct = 0;
    let nullLeaves = 0;
    for (const item of ITEMS) {
      const scored = scoreItem({ item, model: "nulls", result: answered({}) }, DEFAULT_SCORE_OPTIONS);
      leaves += scored.fields.length;
      correct += scored.fields.filter((field) => field.outcome === "correct").length;
      nullLeaves += scored.fields.filter((field) => field.expected === null).length;
    }
    expect(correct / leaves).toBe(nullLeaves / leaves);
    expect(nullLeaves).toBeGreaterThan(0);
  });
});
