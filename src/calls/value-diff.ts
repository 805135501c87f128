// Where two sets of values differ, leaf by leaf: `items[1].quantity`, `contact.email`, or a flat variable's name.
// Pure. A review's corrections, a re-extraction's changes and a history entry's diff all name what changed this way.
import { pathParts } from "../extract/paths.js";
import { canonicalJson } from "../lib/canonical-hash.js";
import { formatPath } from "../schema/index.js";

type Path = (string | number)[];

const isRecord = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === "object" && !Array.isArray(value);

/** A list of objects is walked item by item; a list of strings or options is one value, as it always was. */
const isListOfRecords = (value: unknown): value is unknown[] => Array.isArray(value) && value.some(isRecord);
const mayBeListOfRecords = (value: unknown) => value == null || (Array.isArray(value) && value.every((item) => item == null || isRecord(item)));

/** Absent and null both mean "the call never said": a field that appears as null is no change. */
const same = (a: unknown, b: unknown) => canonicalJson(a ?? null) === canonicalJson(b ?? null);

function diff(before: unknown, after: unknown, at: Path, out: string[]): void {
  if (same(before, after)) return;
  const found = out.length;
  if ((isRecord(before) || before == null) && (isRecord(after) || after == null) && (isRecord(before) || isRecord(after))) {
    const from = isRecord(before) ? before : {};
    const to = isRecord(after) ? after : {};
    for (const key of [...new Set([...Object.keys(to), ...Object.keys(from)])]) diff(from[key], to[key], [...at, key], out);
  } else if (mayBeListOfRecords(before) && mayBeListOfRecords(after) && (isListOfRecords(before) || isListOfRecords(after))) {
    const from = Array.isArray(before) ? before : [];
    const to = Array.isArray(after) ? after : [];
    for (let index = 0; index < Math.max(from.length, to.length); index += 1) diff(from[index], to[index], [...at, index], out);
  }
  // Null against an empty object or list, a scalar against a record: no leaf says it, so the value itself does.
  if (out.length === found) out.push(formatPath(at));
}

/**
 * The paths whose values differ between `before` and `after` (compared as canonical JSON: key order does not count), in
 * the order of `after`'s keys, then any only `before` had. An item added to a list of objects is named by its leaves
 * (`items[2].product`, `items[2].quantity`); one removed, by the leaves it had.
 */
export function changedPaths(before: Record<string, unknown> | null, after: Record<string, unknown>): string[] {
  const from = before ?? {};
  const out: string[] = [];
  for (const name of [...new Set([...Object.keys(after), ...Object.keys(from)])]) {
    // A variable only one side has is a change, even when that side's value is null.
    if (!(name in from) || !(name in after)) out.push(name);
    else diff(from[name], after[name], [name], out);
  }
  return out;
}

/** The top-level variable a path is inside: `items[1].quantity` → `items`. */
export function variableOfPath(path: string): string {
  return pathParts(path)[0] ?? path;
}

/** The variables `paths` (from changedPaths) lie in, each once, in their order. */
export function variablesOf(paths: readonly string[]): string[] {
  return [...new Set(paths.map(variableOfPath))];
}

/** Names of the variables whose values differ: those changedPaths names a path inside. */
export function changedVariables(before: Record<string, unknown> | null, after: Record<string, unknown>): string[] {
  return variablesOf(changedPaths(before, after));
}
