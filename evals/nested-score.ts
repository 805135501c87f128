// Scores a nested value (an object, a list of objects) leaf by leaf with the flat rules, naming each leaf by its
// path (`order.items[].quantity`); list items are paired with their labels by the best assignment.
import type { ValueShape, VariableType } from "../src/schema/index.js";
import { DEFAULT_SCORE_OPTIONS, scoreField, type FieldScore, type ScoreOptions } from "./score.js";

export interface LeafScore extends FieldScore {
  /** `contact.email`, `items[].quantity`: list items share one path, so the report counts them together. */
  path: string;
  type: VariableType;
  expected: unknown;
  predicted: unknown;
}

/** Whether a shape is scored leaf by leaf (an object, or a list whose items are objects). */
export function isNested(shape: ValueShape): boolean {
  return shape.type === "object" || (shape.type === "list" && shape.items?.type === "object");
}

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === "object" && !Array.isArray(value);

/** Every leaf of `shape` scored: a missing object counts each of its leaves as null. */
export function scoreLeaves(shape: ValueShape, expected: unknown, predicted: unknown, path: string, options: ScoreOptions = DEFAULT_SCORE_OPTIONS): LeafScore[] {
  if (shape.type === "object") {
    const want = isObject(expected) ? expected : {};
    const got = isObject(predicted) ? predicted : {};
    return (shape.fields ?? []).flatMap((field) => scoreLeaves(field, want[field.name] ?? null, got[field.name] ?? null, `${path}.${field.name}`, options));
  }
  if (shape.type === "list" && shape.items?.type === "object") {
    const want = Array.isArray(expected) ? expected : [];
    const got = Array.isArray(predicted) ? predicted : [];
    const pairs = bestAssignment(want, got, (a, b) => correctShare(scoreLeaves(shape.items!, a, b, "", options)));
    return pairs.flatMap(([a, b]) => scoreLeaves(shape.items!, a, b, `${path}[]`, options));
  }
  return [{ path, type: shape.type, expected, predicted, ...scoreField(shape.type, expected, predicted, options) }];
}

function correctShare(leaves: readonly LeafScore[]): number {
  return leaves.length === 0 ? 0 : leaves.filter((leaf) => leaf.outcome === "correct").length / leaves.length;
}

/**
 * Pairs labels with answers to maximise the leaves they share (exhaustively for short lists, greedily past 7 items);
 * a label left over pairs with null (its leaves are misses), an answer left over with null (hallucinations).
 */
export function bestAssignment(want: readonly unknown[], got: readonly unknown[], score: (a: unknown, b: unknown) => number): [unknown, unknown][] {
  const table = want.map((a) => got.map((b) => score(a, b)));
  let order: number[];
  if (Math.max(want.length, got.length) <= 7) {
    let best = -1;
    order = [];
    const used = new Set<number>();
    const chosen: number[] = [];
    const search = (i: number, total: number) => {
      if (i === want.length) {
        if (total > best) [best, order] = [total, [...chosen]];
        return;
      }
      for (let j = -1; j < got.length; j += 1) {
        if (j >= 0 && used.has(j)) continue;
        if (j >= 0) used.add(j);
        chosen.push(j);
        search(i + 1, total + (j >= 0 ? table[i]![j]! : 0));
        chosen.pop();
        if (j >= 0) used.delete(j);
      }
    };
    search(0, 0);
  } else {
    order = want.map(() => -1);
    const used = new Set<number>();
    const cells = table.flatMap((row, i) => row.map((value, j) => ({ i, j, value }))).sort((a, b) => b.value - a.value);
    for (const { i, j } of cells) {
      if (order[i] !== -1 || used.has(j)) continue;
      order[i] = j;
      used.add(j);
    }
  }
  const taken = new Set(order.filter((j) => j >= 0));
  return [
    ...want.map((a, i): [unknown, unknown] => [a, order[i]! >= 0 ? got[order[i]!] : null]),
    ...got.flatMap((b, j): [unknown, unknown][] => (taken.has(j) ? [] : [[null, b]])),
  ];
}
