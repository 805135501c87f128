// The one price table (USD per 1M tokens by model) and what calls cost: the eval harness's reports, the service's
// backfill estimates and each extraction's cost_usd all price from it. DEBRIEF_PRICES (the harness: --prices) adds to it.
import { readFileSync } from "node:fs";
import { z } from "zod";
import type { Usage } from "./client.js";

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

/** List prices; an override file (the harness's --prices) has the same shape. */
export const SHIPPED_PRICES: PriceTable = PriceTableSchema.parse({
  unit: "USD per 1M tokens",
  as_of: "2025-08",
  source: "OpenAI list prices for standard (non-batch, uncached) requests; the eval harness adds to them with --prices FILE",
  models: {
    "gpt-4o-mini": { prompt: 0.15, completion: 0.6 },
    "gpt-4o": { prompt: 2.5, completion: 10.0 },
    "gpt-4.1": { prompt: 2.0, completion: 8.0 },
    "gpt-4.1-mini": { prompt: 0.4, completion: 1.6 },
    "gpt-4.1-nano": { prompt: 0.1, completion: 0.4 },
    "gpt-5": { prompt: 1.25, completion: 10.0 },
    "gpt-5-mini": { prompt: 0.25, completion: 2.0 },
    "gpt-5-nano": { prompt: 0.05, completion: 0.4 },
    "o3": { prompt: 2.0, completion: 8.0 },
    "o3-mini": { prompt: 1.1, completion: 4.4 },
    "o4-mini": { prompt: 1.1, completion: 4.4 },
    "gpt-4-turbo": { prompt: 10.0, completion: 30.0 },
    "gpt-3.5-turbo": { prompt: 0.5, completion: 1.5 },
  },
});

export class PricesError extends Error {}

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
  const table = SHIPPED_PRICES;
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
    return { cost_usd: null, note: `no price for ${unknown.join(", ")}: add it with DEBRIEF_PRICES=FILE, or the eval harness's --prices FILE (USD per 1M tokens)` };
  }
  const cost = calls.reduce((sum, { model, usage }) => {
    const price = priceFor(model, table)!;
    return sum + (usage.prompt_tokens * price.prompt + usage.completion_tokens * price.completion) / 1_000_000;
  }, 0);
  return { cost_usd: cost };
}

/** USD amounts as shown to users: 6 decimals, so sums of tiny per-call costs do not show float noise. */
export function roundUsd(amount: number): number {
  return Math.round(amount * 1_000_000) / 1_000_000;
}

/** What one extraction's tokens cost on `model` (the name Debrief asked for), rounded; null when the table has no price. */
export function extractionCostUsd(model: string, usage: Usage, table: PriceTable): number | null {
  const { cost_usd: cost } = costOf([{ model, usage }], table);
  return cost === null ? null : roundUsd(cost);
}
