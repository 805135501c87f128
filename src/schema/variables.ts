// The post-call variable schema a user sends: names, types (with the peers' aliases), descriptions, options, and the
// rich shapes (objects with fields, lists of any item, string formats and patterns, examples).
import { extendZodWithOpenApi } from "@asteasolutions/zod-to-openapi";
import { z } from "zod";
import { isPhoneRegion } from "../lib/phone.js";
import { compilePattern } from "./pattern.js";
import { OPENAI_LIMITS, openAiLimitIssues } from "./limits.js";

// `.openapi()` for the descriptions and the named levels below (idempotent: src/http/openapi.ts does the same).
extendZodWithOpenApi(z);

export const VARIABLE_TYPES = ["string", "number", "integer", "boolean", "enum", "date", "datetime", "list", "object"] as const;
export type VariableType = (typeof VARIABLE_TYPES)[number];

/** Debrief's own checks on a string; only `email` also goes to the model as a JSON Schema `format` (same meaning there). */
export const STRING_FORMATS = ["email", "phone", "url", "time"] as const;
export type StringFormat = (typeof STRING_FORMATS)[number];

/** Labels the peer platforms use for the same types (Autocalls: "True/False", "Text"). */
const TYPE_ALIASES: Record<string, VariableType> = {
  text: "string",
  str: "string",
  bool: "boolean",
  "true/false": "boolean",
  truefalse: "boolean",
  int: "integer",
  float: "number",
  decimal: "number",
  array: "list",
  "date-time": "datetime",
  timestamp: "datetime",
};

const RESERVED_NAMES = new Set(["__proto__", "constructor", "prototype", "hasownproperty", "tostring", "valueof"]);
export const VARIABLE_NAME = /^[a-z][a-z0-9_]{1,63}$/;

/** The longest enum or list option: a label, not a document (each one goes into the prompt and the JSON Schema). */
export const MAX_OPTION_CHARS = 500;
/** Objects inside objects (a list of objects counts as one level): deeper records are rarely what a call says. */
export const MAX_OBJECT_DEPTH = 3;
export const MAX_FIELDS = 100;
export const MAX_EXAMPLES = 5;
export const MAX_PATTERN_CHARS = 1_000;

/** What a value is: shared by a variable, an object's field (itself a variable) and a list's `items`. */
export interface ValueShape {
  type: VariableType;
  options?: string[];
  /** `object`: its fields, each a variable. */
  fields?: VariableSpec[];
  /** `list`: what each item is (without it, and without `options`, a list of strings). */
  items?: ItemSpec;
  format?: StringFormat;
  /** A regular expression the string must contain a match of (RE2 syntax, run in linear time). */
  pattern?: string;
  /** `format: phone`: the region national numbers are read in (set from the profile or `options.default_region`). */
  default_region?: string;
}

export interface VariableSpec extends ValueShape {
  name: string;
  description: string;
  /** Up to 5 example values, shown to the model with the description. */
  examples?: unknown[];
}

export interface ItemSpec extends ValueShape {
  description?: string;
}

export interface VariableLimits {
  maxVariables: number;
  maxDescriptionChars: number;
}

const ENUM_VALUES = OPENAI_LIMITS.enumValues.toLocaleString("en-US");

const optionsSchema = z
  .array(z.string().trim().min(1, "an option cannot be empty").max(MAX_OPTION_CHARS, `an option must be at most ${MAX_OPTION_CHARS} characters`))
  .min(1, "must list at least one option")
  // The count across every variable is checked with OpenAI's other limits (limits.ts); one list past it stops here.
  .max(OPENAI_LIMITS.enumValues, `must list at most ${ENUM_VALUES} options: OpenAI structured outputs allow at most ${ENUM_VALUES} enum values in all`)
  .refine((options) => new Set(options).size === options.length, "options must be distinct");

const typeSchema = z.preprocess(
  (value) => (typeof value === "string" ? (TYPE_ALIASES[value.trim().toLowerCase()] ?? value.trim().toLowerCase()) : value),
  z.enum(VARIABLE_TYPES, { message: `must be one of ${VARIABLE_TYPES.join(", ")} (or an alias: text, bool, True/False)` }),
);

/** A pattern RE2 cannot compile: refused at its own path, naming whose pattern it is. */
function checkPattern(pattern: string | undefined, whose: string, path: string[], ctx: z.RefinementCtx): void {
  if (pattern === undefined) return;
  const compiled = compilePattern(pattern);
  if (!compiled.ok) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path, message: `${whose}: the pattern does not compile as an RE2 regular expression: ${compiled.reason}` });
  }
}

/** The rules every shape follows, wherever it sits (a variable, a field, a list's items). */
function checkShape(spec: ValueShape & { name?: string; examples?: unknown[] }, ctx: z.RefinementCtx, kind: "variable" | "field"): void {
  const issue = (path: string, message: string) => ctx.addIssue({ code: z.ZodIssueCode.custom, path: [path], message });
  if (spec.type === "enum" && !spec.options) issue("options", "an enum needs options: a non-empty list of distinct strings");
  if (spec.options && spec.type !== "enum" && spec.type !== "list") issue("options", `options only apply to enum and list, not ${spec.type}`);
  if (spec.type === "object" && !spec.fields) issue("fields", "an object needs fields: a non-empty list of variables");
  if (spec.fields && spec.type !== "object") issue("fields", `fields only apply to object, not ${spec.type}`);
  if (spec.items && spec.type !== "list") issue("items", `items only apply to list, not ${spec.type}`);
  if (spec.items && spec.options) issue("items", "a list takes options (a list of those options) or items, not both");
  if (spec.items?.type === "list") issue("items", "a list's items cannot be lists: use an object with a list field");
  if (spec.format && spec.type !== "string") issue("format", `format only applies to string, not ${spec.type}`);
  if (spec.pattern !== undefined && spec.type !== "string") issue("pattern", `pattern only applies to string, not ${spec.type}`);
  // A named shape (a variable, a field) checks its own pattern and its list items' one, so the message can name it.
  if (spec.name !== undefined && spec.type === "string") checkPattern(spec.pattern, `${kind} "${spec.name}"`, ["pattern"], ctx);
  if (spec.name !== undefined && spec.items?.type === "string") checkPattern(spec.items.pattern, `the items of ${kind} "${spec.name}"`, ["items", "pattern"], ctx);
  if (spec.default_region !== undefined && spec.format !== "phone") issue("default_region", "default_region only applies to format phone");
  if (spec.default_region !== undefined && !isPhoneRegion(spec.default_region)) {
    issue("default_region", "must be an ISO 3166-1 alpha-2 region code such as US, GB or DE (upper case)");
  }
  if (spec.fields) {
    const seen = new Set<string>();
    spec.fields.forEach((field, index) => {
      if (field.name === undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["fields", index, "name"], message: "is required: a field is a variable" });
      if (field.description === undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["fields", index, "description"], message: "is required: it is what the model reads" });
      if (seen.has(field.name)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["fields", index, "name"], message: `duplicate field name "${field.name}"` });
      seen.add(field.name);
    });
  }
}

/**
 * Steps (`fields` or `items`) below a variable the schema reads: enough for 3 levels of objects even through lists of
 * objects, so a 4th level is reached and refused with its path. Built level by level, not with z.lazy, because the
 * OpenAPI generator cannot describe a lazy schema.
 */
const MAX_STEPS = 2 * MAX_OBJECT_DEPTH + 2;

function nameSchema() {
  return z
    .string()
    .regex(VARIABLE_NAME, "must be 2 to 64 characters: a lowercase letter, then lowercase letters, digits or underscores (^[a-z][a-z0-9_]{1,63}$)")
    .refine((name) => !RESERVED_NAMES.has(name.toLowerCase()), "is a reserved JavaScript name");
}

function descriptionSchema(limits: VariableLimits) {
  return z
    .string()
    .trim()
    .min(1, "is required: it is what the model reads")
    .max(limits.maxDescriptionChars, `must be at most ${limits.maxDescriptionChars} characters`);
}

/**
 * The keys a variable, a field and a list's items share, each described for the OpenAPI document (what the key is
 * for, its limits); the descriptions change nothing the schema accepts.
 */
function shapeKeys(limits: VariableLimits, deeper: z.ZodTypeAny) {
  return {
    examples: z
      .array(z.unknown())
      .max(MAX_EXAMPLES, `at most ${MAX_EXAMPLES} examples`)
      .optional()
      .describe(
        `Up to ${MAX_EXAMPLES} example values, any JSON (a string, a number, an object for an \`object\`), shown to the model after the ` +
          "description. They show the shape of an answer; they are not a list of allowed values (that is `options`).",
      )
      .openapi({ example: ["NT-450 filter", "AC-9 coil"] }),
    type: typeSchema.describe(
      "What the value is: `string`; `number`; `integer`; `boolean`; `enum` (one of `options`); `date` (YYYY-MM-DD); " +
        "`datetime` (ISO 8601 with an offset); `list` (of `options`, of `items`, or else of strings); `object` (with `fields`). " +
        "The peers' labels are read too: text, str, bool, True/False, int, float, decimal, array, date-time, timestamp.",
    ),
    options: optionsSchema
      .optional()
      .describe(
        "`enum`: the values it may take; `list`: the values its items may take. Distinct, non-empty, at most " +
          `${MAX_OPTION_CHARS} characters each, and at most ${ENUM_VALUES} across every variable together (OpenAI's limit on enum values).`,
      ),
    fields: z
      .array(deeper)
      .min(1, "must list at least one field")
      .max(MAX_FIELDS, `at most ${MAX_FIELDS} fields`)
      .optional()
      .describe(
        `\`object\` only, and required there: its fields, 1 to ${MAX_FIELDS}, each a variable (a \`name\` unique in the object, a ` +
          "`description`, a `type` and any of the other keys, `fields` and `items` included). Objects nest at most " +
          `${MAX_OBJECT_DEPTH} levels deep, a list of objects counting as a level. The answer is an object with one key per field, ` +
          "each null when the call never said.",
      ),
    // `.openapi`, not `.describe`: beside a reference to the next level, only the former keeps the description.
    items: deeper.optional().openapi({
      description:
        "`list` only: what each item is, written like a variable without a name (a `description` is optional): an `object` " +
        "with `fields` for a list of records (line items, people), or a `string` with a `format` or `pattern`. Items cannot " +
        "themselves be lists, and a list takes `items` or `options`, not both. Without either, a list of strings.",
    }),
    format: z
      .enum(STRING_FORMATS, { message: `must be one of ${STRING_FORMATS.join(", ")}` })
      .optional()
      .describe(
        "`string` only: a format the value is checked against and normalised to. `email`: an address, its domain lower-cased; " +
          "`phone`: a phone number in E.164 (+13125550197), national numbers read in `default_region`; `url`: an http(s) URL; " +
          "`time`: a 24-hour time HH:MM. A value that breaks it is asked for once more, then made null and flagged " +
          "`invalid_format` in `review`.",
      ),
    pattern: z
      .string()
      .min(1, "cannot be empty")
      .max(MAX_PATTERN_CHARS, `must be at most ${MAX_PATTERN_CHARS} characters`)
      .optional()
      .describe(
        `\`string\` only: a regular expression of at most ${MAX_PATTERN_CHARS} characters the value must contain a match of ` +
          "(anchor it with ^…$ to match the whole value), checked after `format`. RE2 syntax, run in linear time: no " +
          "lookaround and no backreferences; a pattern RE2 cannot compile is a 400. A value that breaks it is handled as a " +
          "broken `format` is.",
      )
      .openapi({ example: "^[A-Z]{2}-\\d{4}$" }),
    default_region: z
      .string()
      .optional()
      .describe(
        "`format: phone` only: the ISO 3166-1 alpha-2 region (upper case: US, GB, DE) a national number such as " +
          "(312) 555-0197 is read in; a number said with its country code needs none. Overrides `options.default_region`.",
      )
      .openapi({ example: "US" }),
  };
}

/**
 * The components the levels of a variable's tree are in the OpenAPI document: each level once, referenced from the
 * level above, rather than every level written out again under both `fields` and `items` (2^8 copies).
 */
const LEVEL_COMPONENT = "NestedVariable";

/** A field's keys: a variable's, with the rules of every shape. */
function shapeSchema(limits: VariableLimits, step: number): z.ZodTypeAny {
  const deeper = step < MAX_STEPS ? shapeSchema(limits, step + 1) : z.object({}).passthrough();
  return z
    .object({
      name: nameSchema().optional().describe("Required on a field (unique within its object); a list's items have none"),
      description: descriptionSchema(limits).optional().describe("Required on a field: what the model reads; optional on a list's items"),
      ...shapeKeys(limits, deeper),
    })
    .strict()
    .superRefine((spec, ctx) => checkShape(spec, ctx, "field"))
    .openapi(`${LEVEL_COMPONENT}${step}`, {
      description: `A field of an object, or what a list's items are, ${step} step${step === 1 ? "" : "s"} below a variable: a variable's keys.`,
    });
}

const variableSchemas = new WeakMap<VariableLimits, z.ZodType<VariableSpec, z.ZodTypeDef, unknown>>();

/** One variable: a name and a description are required here and on every field (a list's items need neither). */
function variableSchema(limits: VariableLimits): z.ZodType<VariableSpec, z.ZodTypeDef, unknown> {
  let schema = variableSchemas.get(limits);
  if (schema) return schema;
  schema = z
    .object({
      name: nameSchema().describe("The value's key in `extracted_variables`, unique among the variables (naming one status or summary replaces that default)"),
      description: descriptionSchema(limits).describe(
        `What the model reads to find the value: what it is and how to write it, at most ${limits.maxDescriptionChars} characters`,
      ),
      ...shapeKeys(limits, shapeSchema(limits, 1)),
    })
    .strict()
    .superRefine((spec, ctx) => checkShape(spec, ctx, "variable")) as unknown as z.ZodType<VariableSpec, z.ZodTypeDef, unknown>;
  variableSchemas.set(limits, schema);
  return schema;
}

/** Every shape in a variable tree with its path (`[0, "fields", 1]`) and how many objects enclose it, itself included. */
export function walkShapes(
  specs: readonly ValueShape[],
  visit: (shape: ValueShape, path: (string | number)[], depth: number) => void,
  at: (string | number)[] = [],
  depth = 0,
): void {
  // Past the depth the schema reads, a shape may be anything: only well-formed parts are walked.
  if (!Array.isArray(specs)) return;
  specs.forEach((spec, index) => {
    if (spec === null || typeof spec !== "object") return;
    const path = [...at, index];
    const own = depth + (spec.type === "object" ? 1 : 0);
    visit(spec, path, own);
    if (spec.fields) walkShapes(spec.fields, visit, [...path, "fields"], own);
    if (spec.items && typeof spec.items === "object") {
      const itemDepth = depth + (spec.items.type === "object" ? 1 : 0);
      visit(spec.items, [...path, "items"], itemDepth);
      if (spec.items.fields) walkShapes(spec.items.fields, visit, [...path, "items", "fields"], itemDepth);
    }
  });
}

/** The zod schema for the `variables` array, with the limits of this deployment. */
export function variablesSchema(limits: VariableLimits) {
  return z
    .array(variableSchema(limits))
    .max(limits.maxVariables, `at most ${limits.maxVariables} variables`)
    .superRefine((specs, ctx) => {
      walkShapes(specs, (shape, path, depth) => {
        if (depth > MAX_OBJECT_DEPTH && shape.type === "object") {
          ctx.addIssue({ code: z.ZodIssueCode.custom, path, message: `nests objects ${depth} levels deep: at most ${MAX_OBJECT_DEPTH}` });
        }
      });
      const seen = new Set<string>();
      specs.forEach((spec, index) => {
        if (seen.has(spec.name)) {
          ctx.addIssue({ code: z.ZodIssueCode.custom, path: [index, "name"], message: `duplicate variable name "${spec.name}"` });
        }
        seen.add(spec.name);
      });
      for (const message of openAiLimitIssues(withDefaults(specs))) ctx.addIssue({ code: z.ZodIssueCode.custom, message });
    });
}

/** Extracted for every call unless the request defines a variable of the same name. */
export const DEFAULT_VARIABLES: readonly VariableSpec[] = [
  {
    name: "status",
    type: "boolean",
    description: "Whether the call achieved its objective; null only if the transcript gives no way to tell.",
  },
  {
    name: "summary",
    type: "string",
    description: "The call in one short sentence, as a neutral note for a CRM.",
  },
];

/** Defaults first, then the request's own variables; a request variable named like a default replaces it. */
export function withDefaults(specs: readonly VariableSpec[]): VariableSpec[] {
  const own = new Set(specs.map((spec) => spec.name));
  return [...DEFAULT_VARIABLES.filter((spec) => !own.has(spec.name)), ...specs];
}

/** Sets `region` on every phone-format string that names none (the request's or profile's default_region). */
export function withPhoneRegion<Spec extends ValueShape>(specs: readonly Spec[], region: string | undefined): Spec[] {
  if (region === undefined) return [...specs];
  const stamp = <S extends ValueShape>(spec: S): S => ({
    ...spec,
    ...(spec.format === "phone" && spec.default_region === undefined ? { default_region: region } : {}),
    ...(spec.fields ? { fields: spec.fields.map(stamp) } : {}),
    ...(spec.items ? { items: stamp(spec.items) } : {}),
  });
  return specs.map(stamp);
}
