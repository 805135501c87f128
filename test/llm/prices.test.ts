// What an extraction's tokens cost, from the one price table.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { extractionCostUsd, loadPrices, PricesError, roundUsd, SHIPPED_PRICES } from "../../src/llm/prices.js";

function priceFile(content: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), "debrief-prices-")), "prices.json");
  writeFileSync(file, typeof content === "string" ? content : JSON.stringify(content));
  return file;
}

describe("extractionCostUsd", () => {
  it.each([
    ["gpt-4o-mini", { prompt_tokens: 1_000, completion_tokens: 100 }, 0.00021],
    ["gpt-4o", { prompt_tokens: 812, completion_tokens: 96 }, 0.00299],
    ["gpt-4o-mini", { prompt_tokens: 0, completion_tokens: 0 }, 0],
  ])("prices %s by its list price per 1M tokens", (model, usage, expected) => {
    expect(extractionCostUsd(model, usage, SHIPPED_PRICES)).toBe(expected);
  });

  it("prices a dated snapshot name as its base model", () => {
    const usage = { prompt_tokens: 643, completion_tokens: 58 };
    expect(extractionCostUsd("gpt-4o-mini-2024-07-18", usage, SHIPPED_PRICES)).toBe(extractionCostUsd("gpt-4o-mini", usage, SHIPPED_PRICES));
  });

  it("costs null, not 0, for a model the table does not know", () => {
    expect(extractionCostUsd("llama3.1:8b", { prompt_tokens: 1_000, completion_tokens: 100 }, SHIPPED_PRICES)).toBeNull();
    expect(extractionCostUsd("local:debrief-tiny", { prompt_tokens: 0, completion_tokens: 0 }, SHIPPED_PRICES)).toBeNull();
  });

  it("rounds to 6 decimals", () => {
    // 643 × 0.15 + 58 × 0.6 = 131.25 per 1M: 0.00013125, shown as 0.000131.
    expect(extractionCostUsd("gpt-4o-mini", { prompt_tokens: 643, completion_tokens: 58 }, SHIPPED_PRICES)).toBe(0.000131);
    expect(roundUsd(0.1 + 0.2)).toBe(0.3);
  });
});

describe("loadPrices (DEBRIEF_PRICES)", () => {
  it("adds a file's models to the shipped table and replaces the ones it names", () => {
    const table = loadPrices(priceFile({ models: { "llama3.1:8b": { prompt: 0.05, completion: 0.1 }, "gpt-4o-mini": { prompt: 1, completion: 1 } } }));
    expect(extractionCostUsd("llama3.1:8b", { prompt_tokens: 1_000_000, completion_tokens: 1_000_000 }, table)).toBe(0.15);
    expect(extractionCostUsd("gpt-4o-mini", { prompt_tokens: 1_000_000, completion_tokens: 0 }, table)).toBe(1);
    expect(table.models["gpt-4o"]).toEqual(SHIPPED_PRICES.models["gpt-4o"]);
  });

  it("rejects a file that is not a price table, saying which entry is wrong", () => {
    expect(() => loadPrices(priceFile({ models: { "llama3.1:8b": { prompt: -1, completion: 0.1 } } }))).toThrow(PricesError);
    expect(() => loadPrices(priceFile({ models: { "llama3.1:8b": { prompt: -1, completion: 0.1 } } }))).toThrow(/models\.llama3\.1:8b\.prompt/);
    expect(() => loadPrices(priceFile("{not json"))).toThrow(/Cannot read the price table/);
  });
});
