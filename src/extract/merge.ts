// Merges per-chunk answers of a long call into one: a later explicit value wins (customers correct themselves),
// a null never overwrites a value, and lists gather every item mentioned.
import type { ModelAnswer, VariableSpec } from "../schema/index.js";

export interface MergedAnswer {
  values: Record<string, unknown>;
  evidence: Record<string, { quote: string; turn: number } | null>;
}

export function mergeChunkAnswers(specs: readonly VariableSpec[], answers: readonly ModelAnswer[]): MergedAnswer {
  const values: Record<string, unknown> = {};
  const evidence: MergedAnswer["evidence"] = {};
  for (const spec of specs) {
    values[spec.name] = null;
    evidence[spec.name] = null;
    for (const answer of answers) {
      const value = answer.values[spec.name];
      if (value === null || value === undefined) continue;
      const previous = values[spec.name];
      values[spec.name] =
        spec.type === "list" && Array.isArray(previous) && Array.isArray(value) ? [...new Set([...previous, ...value])] : value;
      // The quote goes with the value it supports: a replaced value takes its own chunk's quote, or none.
      const quote = answer.evidence?.[spec.name] ?? null;
      evidence[spec.name] = spec.type === "list" && quote === null ? evidence[spec.name]! : quote;
    }
  }
  return { values, evidence };
}
