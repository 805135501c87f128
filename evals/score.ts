// Scores one extracted value against its label: the equality rule of each variable type, and the two null errors.
import type { VariableType } from "../src/schema/index.js";

/**
 * correct: the answer matches the label (null for null included).
 * hallucination: a value where the label is null. miss: null where the label has a value.
 * wrong: a value where the label has a different value.
 */
export type Outcome = "correct" | "wrong" | "hallucination" | "miss";

export interface ScoreOptions {
  /** `number` values: correct when |predicted − expected| ≤ numberTolerance × |expected| (so 0 must be exactly 0). */
  numberTolerance: number;
  /** `string` values that differ after normalising still count as correct when their token F1 reaches this. */
  stringThreshold: number;
}

export const DEFAULT_SCORE_OPTIONS: ScoreOptions = { numberTolerance: 0.01, stringThreshold: 0.8 };

export interface FieldScore {
  outcome: Outcome;
  /** How close a string (token F1) or a list (set F1) came, from 0 to 1; absent for other types. */
  f1?: number;
}

/** Lower case, accents and punctuation dropped: the words of a string as a comparison sees them. */
export function normalizedTokens(text: string): string[] {
  return text
    .normalize("NFKD")
    .replace(/\p{M}/gu, "")
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);
}

/** "(312) 555-0197" and "3125550197", "NT-450" and "nt 450" compare equal: spacing and punctuation are not content. */
function compact(text: string): string {
  return normalizedTokens(text).join("");
}

/** SQuAD-style F1 over the multiset of normalised tokens. */
export function tokenF1(expected: string, predicted: string): number {
  const want = normalizedTokens(expected);
  const got = normalizedTokens(predicted);
  if (want.length === 0 && got.length === 0) return 1;
  if (want.length === 0 || got.length === 0) return 0;
  const remaining = new Map<string, number>();
  for (const token of want) remaining.set(token, (remaining.get(token) ?? 0) + 1);
  let overlap = 0;
  for (const token of got) {
    const left = remaining.get(token) ?? 0;
    if (left > 0) {
      overlap += 1;
      remaining.set(token, left - 1);
    }
  }
  if (overlap === 0) return 0;
  const precision = overlap / got.length;
  const recall = overlap / want.length;
  return (2 * precision * recall) / (precision + recall);
}

/** 2·|A∩B| / (|A|+|B|) over sets; two empty sets agree completely. */
export function setF1(expected: ReadonlySet<string>, predicted: ReadonlySet<string>): number {
  if (expected.size === 0 && predicted.size === 0) return 1;
  let overlap = 0;
  for (const item of predicted) if (expected.has(item)) overlap += 1;
  return (2 * overlap) / (expected.size + predicted.size);
}

const DATE_PREFIX = /^(\d{4}-\d{2}-\d{2})/;

function sameDate(expected: unknown, predicted: unknown): boolean {
  if (typeof expected !== "string" || typeof predicted !== "string") return false;
  const a = DATE_PREFIX.exec(expected.trim())?.[1];
  return a !== undefined && a === DATE_PREFIX.exec(predicted.trim())?.[1];
}

function sameInstant(expected: unknown, predicted: unknown): boolean {
  if (typeof expected !== "string" || typeof predicted !== "string") return false;
  const a = Date.parse(expected);
  return !Number.isNaN(a) && a === Date.parse(predicted);
}

function withinTolerance(expected: unknown, predicted: unknown, tolerance: number): boolean {
  if (typeof expected !== "number" || typeof predicted !== "number") return false;
  return Math.abs(predicted - expected) <= tolerance * Math.abs(expected);
}

function scoreString(expected: unknown, predicted: unknown, threshold: number): { same: boolean; f1: number } {
  if (typeof expected !== "string" || typeof predicted !== "string") return { same: false, f1: 0 };
  if (compact(expected) === compact(predicted)) return { same: true, f1: 1 };
  const f1 = tokenF1(expected, predicted);
  // F1 is a ratio of small counts: 4/5 must meet a threshold of 0.8 whatever the float rounding.
  return { same: f1 >= threshold - 1e-9, f1 };
}

function scoreList(expected: unknown, predicted: unknown): { same: boolean; f1: number } {
  if (!Array.isArray(expected) || !Array.isArray(predicted)) return { same: false, f1: 0 };
  const asSet = (items: unknown[]) => new Set(items.map((item) => (typeof item === "string" ? compact(item) : JSON.stringify(item))));
  const want = asSet(expected);
  const got = asSet(predicted);
  const f1 = setF1(want, got);
  return { same: want.size === got.size && [...want].every((item) => got.has(item)), f1 };
}

/** Scores one (item, variable): `undefined` counts as null, and 0, false, "" and [] are values like any other. */
export function scoreField(type: VariableType, expected: unknown, predicted: unknown, options: ScoreOptions = DEFAULT_SCORE_OPTIONS): FieldScore {
  const expectedNull = expected === null || expected === undefined;
  const predictedNull = predicted === null || predicted === undefined;
  if (expectedNull || predictedNull) {
    const outcome: Outcome = expectedNull && predictedNull ? "correct" : expectedNull ? "hallucination" : "miss";
    return type === "string" || type === "list" ? { outcome, f1: outcome === "correct" ? 1 : 0 } : { outcome };
  }
  const verdict = (same: boolean): Outcome => (same ? "correct" : "wrong");
  switch (type) {
    case "boolean":
    case "enum":
    case "integer":
      return { outcome: verdict(expected === predicted) };
    case "number":
      return { outcome: verdict(withinTolerance(expected, predicted, options.numberTolerance)) };
    case "date":
      return { outcome: verdict(sameDate(expected, predicted)) };
    case "datetime":
      return { outcome: verdict(sameInstant(expected, predicted)) };
    case "string": {
      const { same, f1 } = scoreString(expected, predicted, options.stringThreshold);
      return { outcome: verdict(same), f1 };
    }
    case "list": {
      const { same, f1 } = scoreList(expected, predicted);
      return { outcome: verdict(same), f1 };
    }
    case "object":
      return { outcome: verdict(sameLeaves(expected, predicted, options)) };
  }
}

/** Objects compared leaf by leaf: strings by the string rule, numbers within tolerance, anything else exactly. */
function sameLeaves(expected: unknown, predicted: unknown, options: ScoreOptions): boolean {
  if (typeof expected === "string") return scoreString(expected, predicted, options.stringThreshold).same;
  if (typeof expected === "number") return withinTolerance(expected, predicted, options.numberTolerance);
  if (Array.isArray(expected)) {
    return Array.isArray(predicted) && expected.length === predicted.length && expected.every((item, index) => sameLeaves(item, predicted[index], options));
  }
  if (expected !== null && typeof expected === "object") {
    if (predicted === null || typeof predicted !== "object" || Array.isArray(predicted)) return false;
    const got = predicted as Record<string, unknown>;
    return Object.entries(expected).every(([key, value]) => sameLeaves(value, got[key] ?? null, options));
  }
  return expected === (predicted ?? null);
}
