// Merges per-chunk answers of a long call into one: a later explicit value wins (customers correct themselves),
// a null never overwrites a value, lists gather every item mentioned, and objects (and lists of objects) merge field
// by field. Says where each value came from.
import { isDeepStrictEqual } from "node:util";
import type { ModelAnswer, ValueShape, VariableSpec } from "../schema/index.js";
import type { Evidence } from "./evidence.js";
import { canonicalPath, isNested, isWithin, leafPaths } from "./paths.js";

/** A leaf of one chunk's answer: which answer, and its path there (list items are numbered per answer). */
export interface LeafSource {
  answer: number;
  path: string;
}

export interface MergedAnswer {
  values: Record<string, unknown>;
  /** The quotes the answers claimed, by variable name, or by leaf path for a nested variable (not yet grounded). */
  evidence: Record<string, Evidence | null>;
  /** For each non-null value, the answers (chunk indices) it came from: the last that gave it, or every one a list gathered from. */
  sources: Record<string, number[]>;
  /**
   * For each non-null leaf of a nested variable (`items[2].quantity`, numbered as merged), the leaves of the answers it
   * came from: the last that gave it, or every one a list of scalars gathered from.
   */
  leafSources: Record<string, LeafSource[]>;
  /** Where each part of a nested value an answer gave was placed in the merged value: see `mergedPath`. */
  placements: Map<string, string>;
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

/** Where a nested variable's leaves come from, as its answers are merged in; absent for a flat variable. */
interface Tracking {
  answer: number;
  leafSources: Record<string, LeafSource[]>;
  placements: Map<string, string>;
}

const placementKey = (answer: number, path: string) => `${answer}|${path}`;

/** Every leaf of `value`, newly at `path` of the merged value, comes from `from` in the answer being merged in. */
function adopt(shape: ValueShape, value: unknown, path: string, from: string, tracking: Tracking | undefined): void {
  if (!tracking) return;
  tracking.placements.set(placementKey(tracking.answer, from), path);
  const there = leafPaths(shape, value, from);
  leafPaths(shape, value, path).forEach((leaf, index) => (tracking.leafSources[leaf] = [{ answer: tracking.answer, path: there[index]! }]));
}

/**
 * The later value over the earlier, field by field for objects; `path` names where a disagreement is, and `from`
 * where the later value sits in its own answer.
 */
function mergeValue(shape: ValueShape, earlier: unknown, later: unknown, path: string, from: string, disagreements: string[], tracking?: Tracking): unknown {
  if (later === null || later === undefined) return earlier;
  if (earlier === null || earlier === undefined) {
    adopt(shape, later, path, from, tracking);
    return later;
  }
  if (shape.type === "object" && isObject(earlier) && isObject(later)) {
    const fields = shape.fields ?? [];
    return Object.fromEntries(
      fields.map((field) => [field.name, mergeValue(field, earlier[field.name], later[field.name], `${path}.${field.name}`, `${from}.${field.name}`, disagreements, tracking)]),
    );
  }
  if (shape.type === "list" && Array.isArray(earlier) && Array.isArray(later)) {
    if (shape.items?.type !== "object") {
      if (tracking) tracking.leafSources[path] = [...(tracking.leafSources[path] ?? []), { answer: tracking.answer, path: from }];
      return [...new Set([...earlier, ...later])];
    }
    const merged = [...earlier] as unknown[];
    for (const [at, item] of later.entries()) {
      const index = isObject(item) ? merged.findIndex((kept) => isObject(kept) && sameItem(kept, item)) : -1;
      if (index === -1) {
        adopt(shape.items, item, `${path}[${merged.length}]`, `${from}[${at}]`, tracking);
        merged.push(item);
      } else {
        tracking?.placements.set(placementKey(tracking.answer, `${from}[${at}]`), `${path}[${index}]`);
        merged[index] = mergeValue(shape.items, merged[index], item, `${path}[${index}]`, `${from}[${at}]`, disagreements, tracking);
      }
    }
    return merged;
  }
  // Inside a list item, the rule that paired the items; elsewhere exact, as for flat values ("Repair" then "repair").
  const same = path.includes("[") ? sameLeaf(earlier, later) : isDeepStrictEqual(earlier, later);
  if (!same && !disagreements.includes(path)) disagreements.push(path);
  if (tracking) tracking.leafSources[path] = [{ answer: tracking.answer, path: from }];
  return later;
}

/**
 * One answer's claimed quotes for a nested variable, by leaf path: the model lists them as `{path, quote, turn}`,
 * its paths spelt canonically (`items[1].quantity`); the first quote for a path stands.
 */
export function leafEvidence(name: string, claimed: unknown): Record<string, Evidence> {
  const evidence: Record<string, Evidence> = {};
  if (!Array.isArray(claimed)) return evidence;
  for (const entry of claimed as { path?: unknown; quote?: unknown; turn?: unknown }[]) {
    if (!isObject(entry) || typeof entry.path !== "string" || typeof entry.quote !== "string" || typeof entry.turn !== "number") continue;
    const path = canonicalPath(name, entry.path);
    if (path !== undefined && path !== name && !Object.hasOwn(evidence, path)) evidence[path] = { quote: entry.quote, turn: entry.turn };
  }
  return evidence;
}

/**
 * Where a path of one answer (`items[0].email` of the second chunk) is in the merged value (`items[2].email`, when
 * that item was merged in third): list items of different chunks are numbered apart. Unchanged when it was not placed.
 */
export function mergedPath(merged: Pick<MergedAnswer, "placements">, answer: number, path: string): string {
  // The innermost placed part that holds the path: a list item, or a value adopted whole.
  for (let end = path.length; end > 0; end = Math.max(path.lastIndexOf(".", end - 1), path.lastIndexOf("[", end - 1))) {
    const placed = merged.placements.get(placementKey(answer, path.slice(0, end)));
    if (placed !== undefined) return placed + path.slice(end);
  }
  return path;
}

export function mergeChunkAnswers(specs: readonly VariableSpec[], answers: readonly ModelAnswer[]): MergedAnswer {
  const values: Record<string, unknown> = {};
  const evidence: MergedAnswer["evidence"] = {};
  const sources: MergedAnswer["sources"] = {};
  const leafSources: MergedAnswer["leafSources"] = {};
  const placements: MergedAnswer["placements"] = new Map();
  const disagreements: string[] = [];
  for (const spec of specs) {
    values[spec.name] = null;
    const nested = isNested(spec);
    if (!nested) evidence[spec.name] = null;
    // Objects and lists gather from every chunk that gave them; a scalar comes from the last one.
    const gathers = spec.type === "list" || spec.type === "object";
    const claimed: Record<string, Evidence>[] = [];
    for (const [index, answer] of answers.entries()) {
      const value = answer.values[spec.name];
      if (value === null || value === undefined) continue;
      const previous = values[spec.name];
      if (spec.type === "list" && spec.items?.type !== "object" && Array.isArray(value)) {
        // A list of scalars gathers its items: no disagreement, as before.
        values[spec.name] = Array.isArray(previous) ? [...new Set([...previous, ...value])] : value;
      } else {
        const tracking = nested ? { answer: index, leafSources, placements } : undefined;
        values[spec.name] = mergeValue(spec, previous, value, spec.name, spec.name, disagreements, tracking);
      }
      sources[spec.name] = gathers ? [...(sources[spec.name] ?? []), index] : [index];
      if (nested) {
        claimed[index] = leafEvidence(spec.name, answer.evidence?.[spec.name]);
        continue;
      }
      // The quote goes with the value it supports: a replaced value takes its own chunk's quote, or none.
      const quote = answer.evidence?.[spec.name] ?? null;
      evidence[spec.name] = gathers && quote === null ? evidence[spec.name]! : quote;
    }
    if (!nested) continue;
    // Each leaf's quote comes from the answers it came from, as a flat value's does: the last one's, or (gathered)
    // the last one that gave a quote.
    for (const [path, from] of Object.entries(leafSources)) {
      if (!isWithin(path, spec.name)) continue;
      let quote: Evidence | null = null;
      for (const source of from) quote = claimed[source.answer]?.[source.path] ?? (from.length > 1 ? quote : null);
      evidence[path] = quote;
    }
  }
  return { values, evidence, sources, leafSources, placements, disagreements };
}
