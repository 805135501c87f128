// OpenAI's documented structured-output limits, checked on a variable set before any LLM call: a set past one is a
// 400 that names the limit, not an opaque 400 from the provider after the request was paid for.
// https://platform.openai.com/docs/guides/structured-outputs (Supported schemas: "Objects have limitations on nesting
// depth and size", "Limitations on total string size", "Limitations on enum size").

/** The parts of a variable the limits read (its own type here: variables.ts imports this module). */
interface LimitShape {
  name?: string;
  options?: readonly string[];
  fields?: readonly (LimitShape & { name: string })[];
  items?: LimitShape;
}

export const OPENAI_LIMITS = {
  nesting: 10,
  properties: 5_000,
  enumValues: 1_000,
  totalChars: 120_000,
  largeEnumValues: 250,
  largeEnumChars: 15_000,
} as const;

interface Tally {
  properties: number;
  enumValues: number;
  chars: number;
  nesting: number;
  largeEnums: { name: string; chars: number }[];
}

/** Around the variables sit the root and `values` (and `evidence` with its quote and turn, counted as its own). */
const WRAPPER_NESTING = 2;

/**
 * The property names Debrief adds around the variables, at their longest (with `options.evidence`): `values` and
 * `evidence` at the root, then under `evidence` each variable's name again with its `quote` and `turn`.
 */
const ROOT_NAMES = "values".length + "evidence".length;
const EVIDENCE_NAMES = "quote".length + "turn".length;

function tally(shape: LimitShape, name: string, depth: number, into: Tally): void {
  into.nesting = Math.max(into.nesting, depth);
  if (shape.options) {
    const chars = shape.options.reduce((sum, option) => sum + option.length, 0);
    into.enumValues += shape.options.length;
    into.chars += chars;
    if (shape.options.length > OPENAI_LIMITS.largeEnumValues && chars > OPENAI_LIMITS.largeEnumChars) into.largeEnums.push({ name, chars });
  }
  for (const field of shape.fields ?? []) {
    into.properties += 1;
    into.chars += field.name.length;
    tally(field, `${name}.${field.name}`, depth + 1, into);
  }
  if (shape.items) tally(shape.items, `${name}[]`, depth + 1, into);
}

/** 5000 → "5,000": the numbers as OpenAI's documentation writes them. */
const count = (n: number) => n.toLocaleString("en-US");

/**
 * Each limit the variables (defaults included) break, as a sentence naming it; empty when they fit. The JSON Schema
 * Debrief sends has no definitions (`$defs`) and no `const`, so definition names and const values add nothing.
 */
export function openAiLimitIssues(specs: readonly (LimitShape & { name: string })[]): string[] {
  const into: Tally = { properties: 0, enumValues: 0, chars: ROOT_NAMES, nesting: 0, largeEnums: [] };
  for (const spec of specs) {
    into.properties += 1;
    // Its name under `values` and again under `evidence`.
    into.chars += 2 * spec.name.length + EVIDENCE_NAMES;
    tally(spec, spec.name, WRAPPER_NESTING + 1, into);
  }
  // values, evidence and the evidence object's quote/turn per variable.
  into.properties += 2 + specs.length * 3;
  const allow = "OpenAI structured outputs allow";
  const issues: string[] = [];
  if (into.nesting > OPENAI_LIMITS.nesting) issues.push(`${allow} at most ${OPENAI_LIMITS.nesting} levels of nesting: these variables need ${into.nesting}`);
  if (into.properties > OPENAI_LIMITS.properties) {
    issues.push(`${allow} at most ${count(OPENAI_LIMITS.properties)} object properties in all: these variables have ${count(into.properties)}`);
  }
  if (into.enumValues > OPENAI_LIMITS.enumValues) {
    issues.push(`${allow} at most ${count(OPENAI_LIMITS.enumValues)} enum values in all (enum and list options together): these variables have ${count(into.enumValues)}`);
  }
  if (into.chars > OPENAI_LIMITS.totalChars) {
    issues.push(
      `${allow} at most ${count(OPENAI_LIMITS.totalChars)} characters of property names, definition names, enum values and const values together: ` +
        `these variables have ${count(into.chars)}`,
    );
  }
  for (const { name, chars } of into.largeEnums) {
    issues.push(
      `${allow} a string enum of more than ${OPENAI_LIMITS.largeEnumValues} values at most ${count(OPENAI_LIMITS.largeEnumChars)} characters: ` +
        `${name}'s options have ${count(chars)}`,
    );
  }
  return issues;
}
