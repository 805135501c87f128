// Builds, from the variable specs, the zod schema that validates the model's answer and the strict JSON Schema
// sent as `response_format`. The zod schema is the single source of truth; the JSON Schema is derived from it.
import { isDeepStrictEqual } from "node:util";
import { z } from "zod";
import { zodToJsonSchema } from "zod-to-json-schema";
import { checkString, formatHint } from "./formats.js";
import type { ValueShape, VariableSpec } from "./variables.js";

const NUMBER_TEXT = /^[-+]?\$?\s*(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$/;
const DATE_TEXT = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Only unambiguous re-spellings are coerced ("4,000" → 4000, "Yes" → true, "Repair" → "repair"); anything else fails validation and goes to a repair round. */
function coerceNumber(value: unknown): unknown {
  if (typeof value === "string" && NUMBER_TEXT.test(value.trim())) return Number(value.replace(/[$,\s]/g, ""));
  return value;
}

function coerceBoolean(value: unknown): unknown {
  if (typeof value !== "string") return value;
  const text = value.trim().toLowerCase();
  if (text === "true" || text === "yes") return true;
  if (text === "false" || text === "no") return false;
  return value;
}

/** An exact option first; otherwise the option that differs only in case or surrounding spaces. */
function matchOption(options: readonly string[]) {
  return (value: unknown): unknown => {
    if (typeof value !== "string" || options.includes(value)) return value;
    const wanted = value.trim().toLowerCase();
    return options.find((option) => option === value.trim()) ?? options.find((option) => option.toLowerCase() === wanted) ?? value;
  };
}

/** A blank string is never an answer the call gave: it is how models write "not mentioned". */
function blankToNull(value: unknown): unknown {
  return typeof value === "string" && value.trim() === "" ? null : value;
}

function isRealDate(text: string): boolean {
  const match = DATE_TEXT.exec(text);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

/** "2026-06-16T00:00:00Z" → "2026-06-16": the date as written, never shifted by a timezone. */
function coerceDate(value: unknown): unknown {
  if (typeof value === "string" && /^\d{4}-\d{2}-\d{2}[T ]/.test(value.trim())) return value.trim().slice(0, 10);
  return typeof value === "string" ? value.trim() : value;
}

function coerceDatetime(value: unknown): unknown {
  return typeof value === "string" ? value.trim().replace(/^(\d{4}-\d{2}-\d{2}) (\d)/, "$1T$2") : value;
}

const nullWord = (value: unknown) => (typeof value === "string" && value.trim().toLowerCase() === "null" ? null : blankToNull(value));

/** Stands for a string that broke its format or pattern in the lenient schema, until `settleInvalid` nulls it. */
const INVALID = Symbol("invalid_format");

/** A string; with a format or pattern, normalised by it (strict: a broken one is an issue for the repair round). */
function stringSchema(shape: ValueShape, lenient: boolean): z.ZodTypeAny {
  if (!shape.format && shape.pattern === undefined) return z.preprocess(blankToNull, z.string().nullable());
  // `format: email` means the same to OpenAI, so it goes into the JSON Schema; the other formats are told in the description.
  // The lenient schema judges by Debrief's check alone, so zod's own email check is left out of it.
  const base = shape.format === "email" && !lenient ? z.string().email() : z.string();
  const checked = base.transform((text, ctx) => {
    const result = checkString(shape, text);
    if (result.ok) return result.value;
    if (lenient) return INVALID as unknown as string;
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: result.reason });
    return z.NEVER;
  });
  return z.preprocess((v) => (typeof v === "string" ? blankToNull(v.trim()) : v), checked.nullable());
}

/** What the model reads for a value: its description, what its format or pattern expects, and its examples. */
export function describeShape(shape: ValueShape & { description?: string; examples?: unknown[] }): string {
  const hint = formatHint(shape);
  const examples = shape.examples?.length ? ` Examples: ${shape.examples.map((example) => JSON.stringify(example)).join(", ")}.` : "";
  return `${shape.description ?? ""}${hint ? ` (${hint})` : ""}${examples}`.trim();
}

function valueSchema(spec: ValueShape, lenient = false): z.ZodTypeAny {
  const coerce = (fn: (v: unknown) => unknown, schema: z.ZodTypeAny) => z.preprocess((v) => fn(nullWord(v)), schema);
  switch (spec.type) {
    case "string":
      return stringSchema(spec, lenient);
    case "number":
      return coerce(coerceNumber, z.number().finite().nullable());
    case "integer":
      return coerce(coerceNumber, z.number().int().nullable());
    case "boolean":
      return coerce(coerceBoolean, z.boolean().nullable());
    case "enum": {
      const options = spec.options as [string, ...string[]];
      return coerce(matchOption(options), z.enum(options).nullable());
    }
    case "date":
      return coerce(coerceDate, z.string().date("must be a calendar date YYYY-MM-DD").refine(isRealDate, "is not a real calendar date").nullable());
    case "datetime":
      return coerce(coerceDatetime, z.string().datetime({ offset: true, message: "must be ISO 8601 with an offset, e.g. 2026-06-16T15:00:00-04:00" }).nullable());
    case "object":
      return z.preprocess(nullWord, fieldsSchema(spec.fields ?? [], lenient).nullable());
    case "list": {
      if (spec.items) {
        // A null or blank item is no item: the model's way of writing "nothing here".
        const item = valueSchema(spec.items, lenient);
        const described = spec.items.description || spec.items.format || spec.items.pattern !== undefined ? item.describe(describeShape(spec.items)) : item;
        return z.preprocess(
          (v) => (Array.isArray(v) ? v.filter((x) => nullWord(x) !== null) : nullWord(v)),
          z.array(described).nullable(),
        );
      }
      const canonical = spec.options ? matchOption(spec.options) : (x: unknown) => (typeof x === "string" ? x.trim() : x);
      const item = spec.options ? z.enum(spec.options as [string, ...string[]]) : z.string();
      return z.preprocess(
        (v) => (Array.isArray(v) ? [...new Set(v.map(canonical).filter((x) => blankToNull(x) !== null))] : nullWord(v)),
        z.array(item).nullable(),
      );
    }
  }
}

function fieldsSchema(specs: readonly VariableSpec[], lenient: boolean) {
  return z.object(Object.fromEntries(specs.map((spec) => [spec.name, valueSchema(spec, lenient).describe(describeShape(spec))]))).strict();
}

/**
 * Nulls every value the lenient schema marked as breaking its format or pattern, and says where (`contact.email`,
 * `items[1].phone`); a list of strings drops the item and the list's own path is named.
 */
function settleInvalid(value: unknown, path: string, found: string[]): unknown {
  if (value === INVALID) {
    found.push(path);
    return null;
  }
  if (Array.isArray(value)) {
    const kept = value.filter((item) => item !== INVALID);
    if (kept.length < value.length) found.push(path);
    return kept.map((item, index) => settleInvalid(item, `${path}[${index}]`, found));
  }
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, settleInvalid(child, path ? `${path}.${key}` : key, found)]));
  }
  return value;
}

const EvidenceSchema = z
  .object({
    quote: z.string().describe("The shortest verbatim span of the transcript that establishes the value, copied exactly"),
    turn: z.number().int().describe("The [number] of the transcript line the quote comes from"),
  })
  .strict()
  .nullable();

export interface OutputSchema {
  /** Validates and normalises the model's parsed JSON. */
  zod: z.ZodType<ModelAnswer, z.ZodTypeDef, unknown>;
  /** Strict-mode JSON Schema for `response_format.json_schema.schema`. */
  jsonSchema: Record<string, unknown>;
  /** Present when a value has a format or pattern: the same schema, where a value breaking one becomes null. */
  lenient?: z.ZodType<ModelAnswer, z.ZodTypeDef, unknown>;
}

/** Strings with a format or pattern anywhere in the tree: only then is there a lenient schema to build. */
function hasStringChecks(shapes: readonly ValueShape[]): boolean {
  return shapes.some(
    (shape) => shape.format !== undefined || shape.pattern !== undefined || hasStringChecks(shape.fields ?? []) || (shape.items ? hasStringChecks([shape.items]) : false),
  );
}

/**
 * After the last repair round: the answer with each value that still breaks its format or pattern made null, and
 * their paths (the `invalid_format` review flag). Undefined when the answer is wrong in another way (a wrong type).
 */
export function settleInvalidFormats(schema: OutputSchema, json: unknown): { answer: ModelAnswer; invalidFormat: string[] } | undefined {
  const parsed = schema.lenient?.safeParse(json);
  if (!parsed?.success) return undefined;
  const invalidFormat: string[] = [];
  const values = settleInvalid(parsed.data.values, "", invalidFormat) as Record<string, unknown>;
  return { answer: { ...parsed.data, values }, invalidFormat };
}

export interface ModelAnswer {
  values: Record<string, unknown>;
  evidence?: Record<string, { quote: string; turn: number } | null>;
}

/**
 * The variables whose value the schema's normalisation changed ("4,000" → 4000, "Repair" → "repair"), found by
 * comparing what the model wrote with what validation made of it: the coercions themselves stay in one place, above.
 * Values normalised to null (a blank string, the word "null") are not listed: there is no value to trust.
 */
export function coercedValues(raw: unknown, answer: ModelAnswer): string[] {
  const written = (raw as { values?: Record<string, unknown> } | null)?.values ?? {};
  return Object.entries(answer.values)
    .filter(([name, value]) => value !== null && !isDeepStrictEqual(written[name], value))
    .map(([name]) => name);
}

function rootSchema(specs: readonly VariableSpec[], options: { evidence: boolean }, lenient: boolean) {
  const shape: Record<string, z.ZodTypeAny> = { values: fieldsSchema(specs, lenient) };
  if (options.evidence) {
    shape.evidence = z
      .object(Object.fromEntries(specs.map((spec) => [spec.name, EvidenceSchema])))
      .strict()
      .describe("For each variable with a non-null value, where the transcript says it; null otherwise");
  }
  return z.object(shape).strict();
}

export function buildOutputSchema(specs: readonly VariableSpec[], options: { evidence: boolean }): OutputSchema {
  const root = rootSchema(specs, options, false);
  return {
    zod: root as unknown as OutputSchema["zod"],
    jsonSchema: toStrictJsonSchema(root),
    ...(hasStringChecks(specs) ? { lenient: rootSchema(specs, options, true) as unknown as OutputSchema["zod"] } : {}),
  };
}

type JsonNode = Record<string, unknown>;

/**
 * `anyOf: [{type: "number"}, {type: "null"}]` as `type: ["number", "null"]`: the form zod-to-json-schema already gives
 * a nullable string or boolean, fewer tokens wherever the schema is prompt text. Only a branch that is a bare type is
 * folded; one with `enum` or `format` keeps its `anyOf`.
 */
function foldNullableTypes(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(foldNullableTypes);
  if (node === null || typeof node !== "object") return node;
  const { anyOf, ...rest } = node as JsonNode;
  const folded: JsonNode = Object.fromEntries(Object.entries(rest).map(([key, value]) => [key, foldNullableTypes(value)]));
  if (!Array.isArray(anyOf)) return folded;
  const [first, second] = anyOf as JsonNode[];
  const bare = (branch: JsonNode | undefined) => branch !== undefined && typeof branch.type === "string" && Object.keys(branch).length === 1;
  if (anyOf.length === 2 && bare(first) && bare(second) && second!.type === "null" && folded.type === undefined) {
    return { type: [first!.type, "null"], ...folded };
  }
  return { anyOf: anyOf.map(foldNullableTypes), ...folded };
}

/** The one place that converts zod to JSON Schema (so a move to zod 4's toJSONSchema is a one-file change). */
export function toStrictJsonSchema(schema: z.ZodTypeAny): Record<string, unknown> {
  const { $schema: _ignored, ...jsonSchema } = zodToJsonSchema(schema, { target: "openAi", $refStrategy: "none" }) as Record<string, unknown>;
  return foldNullableTypes(jsonSchema) as Record<string, unknown>;
}

const compiled = new Map<string, OutputSchema>();
const MAX_COMPILED = 512;

/** Compiles a schema once per distinct variable set (the hot path sees the same few schemas again and again). */
export function outputSchemaFor(specs: readonly VariableSpec[], options: { evidence: boolean }): OutputSchema {
  const key = JSON.stringify([specs, options.evidence]);
  let schema = compiled.get(key);
  if (!schema) {
    schema = buildOutputSchema(specs, options);
    if (compiled.size >= MAX_COMPILED) compiled.delete(compiled.keys().next().value!);
    compiled.set(key, schema);
  }
  return schema;
}
