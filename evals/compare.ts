// The regression gate: accuracy deltas of each model against the same model in a baseline report, and whether
// any model's overall accuracy fell too far.
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { BaselineSchema, type Baseline, type BaselineModel, type Comparison, type ModelComparison } from "./report-schema.js";

export class BaselineError extends Error {}

/** Reads a baseline report.json (or the run folder holding one), keeping only what a comparison needs. */
export function loadBaseline(path: string): Baseline {
  const file = statSync(path, { throwIfNoEntry: false })?.isDirectory() ? join(path, "report.json") : path;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new BaselineError(`Cannot read the baseline report ${file}: ${(error as Error).message}`);
  }
  const parsed = BaselineSchema.safeParse(json);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join(".")}: ${issue.message}`);
    throw new BaselineError(`${file} is not an eval report:\n${lines.join("\n")}`);
  }
  return parsed.data;
}

export interface ModelPairing {
  /** [model of this run, the baseline's result it is compared with]. */
  pairs: [string, BaselineModel][];
  /** Models of this run with no counterpart in the baseline. */
  unmatched: string[];
}

/**
 * One model against a one-model baseline: compared whatever the names (is the new model as good as the old one?).
 * Otherwise each model is compared with the baseline's result for the same model name.
 */
export function pairModels(baseline: Baseline, models: readonly string[]): ModelPairing {
  if (baseline.length === 1 && models.length === 1) return { pairs: [[models[0]!, baseline[0]!]], unmatched: [] };
  const byName = new Map(baseline.map((entry) => [entry.model, entry]));
  const pairs: [string, BaselineModel][] = [];
  const unmatched: string[] = [];
  for (const model of models) {
    const entry = byName.get(model);
    if (entry) pairs.push([model, entry]);
    else unmatched.push(model);
  }
  return { pairs, unmatched };
}

/** Checked before any LLM call: a gate that compares nothing would pass every run. */
export function assertComparable(baseline: Baseline, models: readonly string[], path: string): void {
  if (pairModels(baseline, models).pairs.length > 0) return;
  throw new BaselineError(
    `The baseline ${path} has results for ${baseline.map((entry) => entry.model).join(", ")}, and none for ${models.join(", ")}: nothing to compare.`,
  );
}

/** Rounding noise in a float sum must never fail a gate that equal runs should pass. */
const EPSILON = 1e-9;

function delta(baseline: number | null | undefined, current: number | null | undefined) {
  const b = baseline ?? null;
  const c = current ?? null;
  return { baseline: b, current: c, delta: b === null || c === null ? null : c - b };
}

function deltas(baseline: Record<string, { accuracy: number | null }>, current: Record<string, { accuracy: number | null }>) {
  const names = [...new Set([...Object.keys(baseline), ...Object.keys(current)])].sort();
  return Object.fromEntries(names.map((name) => [name, delta(baseline[name]?.accuracy, current[name]?.accuracy)]));
}

/** One model against its baseline: regressed when overall accuracy dropped by more than maxDrop (absolute, 0.02 = two points). */
export function compareModel(baseline: BaselineModel, current: BaselineModel, maxDrop: number): ModelComparison {
  const overall = delta(baseline.overall.accuracy, current.overall.accuracy);
  return {
    model: current.model,
    baseline_model: baseline.model,
    regressed: overall.delta !== null && -overall.delta > maxDrop + EPSILON,
    overall,
    by_variable: deltas(baseline.by_variable, current.by_variable),
    by_scenario: deltas(baseline.by_scenario, current.by_scenario),
  };
}

/** Every model of this run that the baseline has: the run regressed when any of them did. */
export function compareReports(baseline: Baseline, current: readonly BaselineModel[], options: { maxDrop: number; baselinePath: string }): Comparison {
  const byModel = new Map(current.map((entry) => [entry.model, entry]));
  const { pairs, unmatched } = pairModels(baseline, current.map((entry) => entry.model));
  const models = pairs.map(([model, base]) => compareModel(base, byModel.get(model)!, options.maxDrop));
  return { baseline: options.baselinePath, max_drop: options.maxDrop, regressed: models.some((m) => m.regressed), models, unmatched };
}
