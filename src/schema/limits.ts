// OpenAI's documented structured-output limits, checked on a variable set before any LLM call: a set past one is a
// 400 that names the limit, not an opaque 400 from the provider after the request was paid for.

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
  largeEnums: string[];
}

/** Around the variables sit the root and `values` (and `evidence` with its quote and turn, counted as its own). */
const WRAPPER_NESTING = 2;

function tally(shape: LimitShape, name: string, depth: number, into: Tally): void {
  into.nesting = Math.max(into.nesting, depth);
  if (shape.options) {
    into.enumValues += shape.options.length;
    into.chars += shape.options.reduce((sum, option) => sum + option.length, 0);
    const chars = shape.options.reduce((sum, option) => sum + option.length, 0);
    if (shape.options.length > OPENAI_LIMITS.largeEnumValues && chars > OPENAI_LIMITS.largeEnumChars) into.largeEnums.push(name);
  }
  for (const field of shape.fields ?? []) {
    into.properties += 1;
    into.chars += field.name.length;
    tally(field, `${name}.${field.name}`, depth + 1, into);
  }
  if (shape.items) tally(shape.items, `${name}[]`, depth + 1, into);
}

/** Each limit the variables (defaults included) break, as a sentence naming it; empty when they fit. */
export function openAiLimitIssues(specs: readonly (LimitShape & { name: string })[]): string[] {
  const into: Tally = { properties: 0, enumValues: 0, chars: 0, nesting: 0, largeEnums: [] };
  for (const spec of specs) {
    into.properties += 1;
    into.chars += spec.name.length;
    tally(spec, spec.name, WRAPPER_NESTING + 1, into);
  }
  // values, evidence and the evidence object's quote/turn per variable.
  into.properties += 2 + specs.length * 3;
  const issues: string[] = [];
  if (into.nesting > OPENAI_LIMITS.nesting) issues.push(`OpenAI's limit of ${OPENAI_LIMITS.nesting} levels of nesting: these need ${into.nesting}`);
  if (into.properties > OPENAI_LIMITS.properties) issues.push(`OpenAI's limit of ${OPENAI_LIMITS.properties} object properties in all: these have ${into.properties}`);
  // 1,000 enum values in all is variables.ts's MAX_OPTIONS_IN_ALL, refused there with its own message.
  if (into.chars > OPENAI_LIMITS.totalChars) {
    issues.push(`OpenAI's limit of ${OPENAI_LIMITS.totalChars} characters of property names and enum values together: these have ${into.chars}`);
  }
  for (const name of into.largeEnums) {
    issues.push(`OpenAI's limit of ${OPENAI_LIMITS.largeEnumChars} characters for a string enum of more than ${OPENAI_LIMITS.largeEnumValues} values: ${name} is longer`);
  }
  return issues;
}
