// Merges per-chunk answers of a long call into one: a later explicit value wins (customers correct themselves),
// a null never overwrites a value, lists gather every item mentioned, and objects (and lists of objects) merge field
// by field. Says where each value came from.
import { isDeepStrictEqual } from "node:util";
import type { ModelAnswer, ValueShape, VariableSpec } from "../schema/index.js";

export interface MergedAnswer {
  values: Record<string, unknown>;
  evidence: Record<string, { quote: string; turn: number } | null>;
  /** For each non-null value, the answers (chunk indices) it came from: the last that gave it, or every one a list gathered from. */
  sources: Record<string, number[]>;
  /**
   * Paths the chunks gave different non-null values for: a variable (`budget`) or a field inside one (`contact.email`,
   * `items[1].quantity`). Lists of scalars are not compared: their items are gathered.
   */
  disagreements: string[];
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => value !== null && typeof value === "object" && !Array.isArray(value);

/** Strings compare case- and space-insensitively; anything else exactly. */
function sameLeaf(a: unknown, b: unknown): boolean {
  if (typeof a === "string" && typeof b === "string") return a.trim().replace(/\s+/g, " ").toLowerCase() === b.trim().replace(/\s+/g, " ").toLowerCase();
  return isDeepStrictEqual(a, b);
}

/** Two items are the same item when every field both give a non-null value for is equal (and they share at least one). */
function sameItem(a: Json, b: Json): boolean {
  let shared = 0;
  for (const [key, value] of Object.entries(a)) {
    const other = b[key];
    if (value === null || value === undefined || other === null || other === undefined) continue;
    if (isObject(value) && isObject(other) ? !sameItem(value, other) : !sameLeaf(value, other)) return false;
    shared += 1;
  }
  return shared > 0;
}

/** The later value over the earlier, field by field for objects; `path` names where a disagreement is. */
function mergeValue(shape: ValueShape, earlier: unknown, later: unknown, path: string, disagreements: string[]): unknown {
  if (later === null || later === undefined) return earlier;
  if (earlier === null || earlier === undefined) return later;
  if (shape.type === "object" && isObject(earlier) && isObject(later)) {
    const fields = shape.fields ?? [];
    return Object.fromEntries(fields.map((field) => [field.name, mergeValue(field, earlier[field.name], later[field.name], `${path}.${field.name}`, disagreements)]));
  }
  if (shape.type === "list" && Array.isArray(earlier) && Array.isArray(later)) {
    if (shape.items?.type !== "object") return [...new Set([...earlier, ...later])];
    const merged = [...earlier] as unknown[];
    for (const item of later) {
      const index = isObject(item) ? merged.findIndex((kept) => isObject(kept) && sameItem(kept, item)) : -1;
      if (index === -1) merged.push(item);
      else merged[index] = mergeValue(shape.items, merged[index], item, `${path}[${index}]`, disagreements);
    }
    return merged;
  }
  // Inside a list item, the rule that paired the items; elsewhere exact, as for flat values ("Repair" then "repair").
  const same = path.includes("[") ? sameLeaf(earlier, later) : isDeepStrictEqual(earlier, later);
  if (!same && !disagreements.includes(path)) disagreements.push(path);
  return later;
}

export function mergeChunkAnswers(specs: readonly VariableSpec[], answers: readonly ModelAnswer[]): MergedAnswer {
  const values: Record<string, unknown> = {};
  const evidence: MergedAnswer["evidence"] = {};
  const sources: MergedAnswer["sources"] = {};
  const disagreements: string[] = [];
  for (const spec of specs) {
    values[spec.name] = null;
    evidence[spec.name] = null;
    // Objects and lists gather from every chunk that gave them; a scalar comes from the last one.
    const gathers = spec.type === "list" || spec.type === "object";
    for (const [index, answer] of answers.entries()) {
      const value = answer.values[spec.name];
      if (value === null || value === undefined) continue;
      const previous = values[spec.name];
      if (spec.type === "list" && spec.items?.type !== "object" && Array.isArray(value)) {
        // A list of scalars gathers its items: no disagreement, as before.
        values[spec.name] = Array.isArray(previous) ? [...new Set([...previous, ...value])] : value;
      } else {
        values[spec.name] = mergeValue(spec, previous, value, spec.name, disagreements);
      }
      sources[spec.name] = gathers ? [...(sources[spec.name] ?? []), index] : [index];
      // The quote goes with the value it supports: a replaced value takes its own chunk's quote, or none.
      const quote = answer.evidence?.[spec.name] ?? null;
      evidence[spec.name] = gathers && quote === null ? evidence[spec.name]! : quote;
    }
  }
  return { values, evidence, sources, disagreements };
}
