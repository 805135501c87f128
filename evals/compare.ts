// The regression gate: accuracy deltas against a baseline report, and whether overall accuracy fell too far.
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { BaselineSchema, type Baseline, type Comparison } from "./report-schema.js";

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

/** Regressed when overall accuracy dropped by more than maxDrop (absolute, e.g. 0.02 = two points). */
export function compareReports(baseline: Baseline, current: Baseline, options: { maxDrop: number; baselinePath: string }): Comparison {
  const overall = delta(baseline.overall.accuracy, current.overall.accuracy);
  return {
    baseline: options.baselinePath,
    max_drop: options.maxDrop,
    regressed: overall.delta !== null && -overall.delta > options.maxDrop + EPSILON,
    overall,
    by_variable: deltas(baseline.by_variable, current.by_variable),
    by_scenario: deltas(baseline.by_scenario, current.by_scenario),
  };
}
