// What a destination's `when` reads of the payload: to say why it was not true for a call (the expression and the
// values it read), and to tell whether it can be decided before extraction (it reads call facts only).
import jsonata from "jsonata";

/** Values shown per explanation, and characters per value: a reason is one short line, never a copy of the payload. */
const MAX_PATHS = 6;
const MAX_VALUE_CHARS = 80;
const MAX_EXPRESSION_CHARS = 200;

type Node = { type?: string; value?: unknown; steps?: Node[] } & Record<string, unknown>;

export interface WhenReads {
  /** The plain field paths it reads (`debrief.call.duration_s`), in order of first appearance. */
  paths: string[];
  /** It also reads the payload in ways a path list cannot capture (`*`, `**`, `$`, `$$`, a filter): not to be predicted. */
  opaque: boolean;
}

/**
 * Parsed once per expression text: `when` texts come from the configuration file (a handful), and both the routing
 * gate (every accepted call) and the explanation (every skipped destination) ask again for each call. Bounded all the
 * same, like any cache keyed by text.
 */
const MAX_CACHED = 256;
const readsBySource = new Map<string, WhenReads>();
const compiledPaths = new Map<string, jsonata.Expression>();

function remember<T>(cache: Map<string, T>, key: string, make: () => T): T {
  let value = cache.get(key);
  if (value === undefined) {
    if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
    cache.set(key, (value = make()));
  }
  return value;
}

/** The field paths an expression reads, from its syntax tree (no evaluation). */
export function whenReads(source: string): WhenReads {
  return remember(readsBySource, source, () => readsOf(source));
}

function readsOf(source: string): WhenReads {
  const paths: string[] = [];
  let opaque = false;
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (node === null || typeof node !== "object") return;
    const n = node as Node;
    if (n.type === "path" && Array.isArray(n.steps)) {
      const isPlain = (step: Node) => step.type === "name" && Object.keys(step).every((key) => key === "type" || key === "value" || key === "position");
      // A filter or a computed step reads relative to the step before it: its plain prefix is what can be shown.
      const end = n.steps.findIndex((step) => !isPlain(step));
      const shownSteps = end === -1 ? n.steps : n.steps.slice(0, n.steps[end]!.type === "name" ? end + 1 : end);
      const prefix = shownSteps.map((step) => String(step.value)).join(".");
      if (prefix && !paths.includes(prefix)) paths.push(prefix);
      if (end !== -1) opaque = true;
      return;
    }
    if (n.type === "name" && typeof n.value === "string") {
      if (!paths.includes(n.value)) paths.push(n.value);
      return;
    }
    if (n.type === "wildcard" || n.type === "descendant" || n.type === "parent" || (n.type === "variable" && (n.value === "" || n.value === "$"))) opaque = true;
    for (const [key, value] of Object.entries(n)) if (key !== "procedure") visit(value);
  };
  visit(jsonata(source).ast());
  return { paths, opaque };
}

function shown(value: unknown): string {
  const text = value === undefined ? "absent" : JSON.stringify(value);
  return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS - 1)}…` : text;
}

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/**
 * Why `when` was not true for this payload, in one line: `when debrief.call.duration_s > 60 was not true;
 * it read debrief.call.duration_s = 30`. Best effort: a path that cannot be read is shown as absent.
 */
export async function explainWhenFalse(source: string, payload: unknown): Promise<string> {
  const { paths } = whenReads(source);
  const values: string[] = [];
  for (const path of paths.slice(0, MAX_PATHS)) {
    let value: unknown;
    try {
      // A plain path of names: no loop or recursion a time limit would guard against.
      value = await remember(compiledPaths, path, () => jsonata(path)).evaluate(payload);
    } catch {
      value = undefined;
    }
    values.push(`${path} = ${shown(value)}`);
  }
  const more = paths.length > MAX_PATHS ? ` (and ${paths.length - MAX_PATHS} more)` : "";
  const read = values.length > 0 ? `; it read ${values.join(", ")}${more}` : "";
  return `when ${oneLine(source, MAX_EXPRESSION_CHARS)} was not true${read}`;
}
