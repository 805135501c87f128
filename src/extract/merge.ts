// Merges per-chunk answers of a long call into one: a later explicit value wins (customers correct themselves),
// a null never overwrites a value, and lists gather every item mentioned. Says where each value came from.
import { isDeepStrictEqual } from "node:util";
import type { ModelAnswer, VariableSpec } from "../schema/index.js";

export interface MergedAnswer {
  values: Record<string, unknown>;
  evidence: Record<string, { quote: string; turn: number } | null>;
  /** For each non-null value, the answers (chunk indices) it came from: the last that gave it, or every one a list gathered from. */
  sources: Record<string, number[]>;
  /** Variables the chunks gave different non-null values for. Lists are not compared: their items are gathered. */
  disagreements: string[];
}

export function mergeChunkAnswers(specs: readonly VariableSpec[], answers: readonly ModelAnswer[]): MergedAnswer {
  const values: Record<string, unknown> = {};
  const evidence: MergedAnswer["evidence"] = {};
  const sources: MergedAnswer["sources"] = {};
  const disagreements: string[] = [];
  for (const spec of specs) {
    values[spec.name] = null;
    evidence[spec.name] = null;
    let disagree = false;
    for (const [index, answer] of answers.entries()) {
      const value = answer.values[spec.name];
      if (value === null || value === undefined) continue;
      const previous = values[spec.name];
      const list = spec.type === "list" && Array.isArray(value);
      if (!list && previous !== null && !isDeepStrictEqual(previous, value)) disagree = true;
      values[spec.name] = list && Array.isArray(previous) ? [...new Set([...previous, ...value])] : value;
      sources[spec.name] = list ? [...(sources[spec.name] ?? []), index] : [index];
      // The quote goes with the value it supports: a replaced value takes its own chunk's quote, or none.
      const quote = answer.evidence?.[spec.name] ?? null;
      evidence[spec.name] = spec.type === "list" && quote === null ? evidence[spec.name]! : quote;
    }
    if (disagree) disagreements.push(spec.name);
  }
  return { values, evidence, sources, disagreements };
}
