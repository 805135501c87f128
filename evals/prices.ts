// What a run cost: the per-model price table (evals/prices.json, overridable with --prices) and the sum over calls.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import type { Usage } from "../src/llm/index.js";

const ModelPriceSchema = z.object({ prompt: z.number().nonnegative(), completion: z.number().nonnegative() }).strict();

/** USD per 1M prompt and completion tokens, by model name. */
export const PriceTableSchema = z.object({
  unit: z.string().optional(),
  as_of: z.string().optional(),
  source: z.string().optional(),
  models: z.record(ModelPriceSchema),
});

export type PriceTable = z.infer<typeof PriceTableSchema>;
export type ModelPrice = z.infer<typeof ModelPriceSchema>;

export class PricesError extends Error {}

const DEFAULT_PRICES = fileURLToPath(new URL("./prices.json", import.meta.url));

function readPriceFile(path: string): PriceTable {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new PricesError(`Cannot read the price table ${path}: ${(error as Error).message}`);
  }
  const parsed = PriceTableSchema.safeParse(json);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join(".")}: ${issue.message}`);
    throw new PricesError(`The price table ${path} is invalid:\n${lines.join("\n")}`);
  }
  return parsed.data;
}

/** The shipped table, with the models of an override file added or replaced (so a file can name just a local model). */
export function loadPrices(overridePath?: string): PriceTable {
  const table = readPriceFile(DEFAULT_PRICES);
  if (!overridePath) return table;
  const override = readPriceFile(overridePath);
  return { ...table, ...override, models: { ...table.models, ...override.models } };
}

/** Exact name first, then without a dated snapshot suffix ("gpt-4o-mini-2024-07-18" → "gpt-4o-mini"). */
export function priceFor(model: string, table: PriceTable): ModelPrice | undefined {
  return table.models[model] ?? table.models[model.replace(/-\d{4}-\d{2}-\d{2}$/, "")];
}

export interface Cost {
  cost_usd: number | null;
  note?: string;
}

/** Cost of the given calls; null (with a note naming the models) when any model has no price. */
export function costOf(calls: readonly { model: string; usage: Usage }[], table: PriceTable): Cost {
  const unknown = [...new Set(calls.map((call) => call.model).filter((model) => !priceFor(model, table)))];
  if (unknown.length > 0) {
    return { cost_usd: null, note: `no price for ${unknown.join(", ")}: add it to a --prices file (USD per 1M tokens)` };
  }
  const cost = calls.reduce((sum, { model, usage }) => {
    const price = priceFor(model, table)!;
    return sum + (usage.prompt_tokens * price.prompt + usage.completion_tokens * price.completion) / 1_000_000;
  }, 0);
  return { cost_usd: cost };
}
