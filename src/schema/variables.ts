// The post-call variable schema a user sends: names, types (with the peers' aliases), descriptions, options, and the
// rich shapes (objects with fields, lists of any item, string formats and patterns, examples).
import { z } from "zod";
import { isPhoneRegion } from "../lib/phone.js";
import { compilePattern } from "./pattern.js";
import { openAiLimitIssues } from "./limits.js";

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
/** Options across every variable: OpenAI's strict mode accepts 1,000 enum values in all. */
export const MAX_OPTIONS_IN_ALL = 1_000;
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

const optionsSchema = z
  .array(z.string().trim().min(1, "an option cannot be empty").max(MAX_OPTION_CHARS, `an option must be at most ${MAX_OPTION_CHARS} characters`))
  .min(1, "must list at least one option")
  .max(1000, "must list at most 1000 options")
  .refine((options) => new Set(options).size === options.length, "options must be distinct");

const typeSchema = z.preprocess(
  (value) => (typeof value === "string" ? (TYPE_ALIASES[value.trim().toLowerCase()] ?? value.trim().toLowerCase()) : value),
  z.enum(VARIABLE_TYPES, { message: `must be one of ${VARIABLE_TYPES.join(", ")} (or an alias: text, bool, True/False)` }),
);

/** The rules every shape follows, wherever it sits (a variable, a field, a list's items). */
function checkShape(spec: ValueShape & { name?: string; examples?: unknown[] }, ctx: z.RefinementCtx): void {
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
  if (spec.pattern !== undefined && spec.type === "string") {
    const compiled = compilePattern(spec.pattern);
    if (!compiled.ok) issue("pattern", `does not compile as an RE2 regular expression: ${compiled.reason}`);
  }
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

/** A field's keys: a variable's, with the rules of every shape. */
function shapeSchema(limits: VariableLimits, step: number): z.ZodTypeAny {
  const deeper = step < MAX_STEPS ? shapeSchema(limits, step + 1) : z.object({}).passthrough();
  return z
    .object({
      name: nameSchema().optional(),
      description: descriptionSchema(limits).optional(),
      examples: z.array(z.unknown()).max(MAX_EXAMPLES, `at most ${MAX_EXAMPLES} examples`).optional(),
      type: typeSchema,
      options: optionsSchema.optional(),
      fields: z.array(deeper).min(1, "must list at least one field").max(MAX_FIELDS, `at most ${MAX_FIELDS} fields`).optional(),
      items: deeper.optional(),
      format: z.enum(STRING_FORMATS, { message: `must be one of ${STRING_FORMATS.join(", ")}` }).optional(),
      pattern: z.string().min(1, "cannot be empty").max(MAX_PATTERN_CHARS, `must be at most ${MAX_PATTERN_CHARS} characters`).optional(),
      default_region: z.string().optional(),
    })
    .strict()
    .superRefine(checkShape);
}

const variableSchemas = new WeakMap<VariableLimits, z.ZodType<VariableSpec, z.ZodTypeDef, unknown>>();

/** One variable: a name and a description are required here and on every field (a list's items need neither). */
function variableSchema(limits: VariableLimits): z.ZodType<VariableSpec, z.ZodTypeDef, unknown> {
  let schema = variableSchemas.get(limits);
  if (schema) return schema;
  const inner = shapeSchema(limits, 1);
  schema = z
    .object({
      name: nameSchema(),
      description: descriptionSchema(limits),
      examples: z.array(z.unknown()).max(MAX_EXAMPLES, `at most ${MAX_EXAMPLES} examples`).optional(),
      type: typeSchema,
      options: optionsSchema.optional(),
      fields: z.array(inner).min(1, "must list at least one field").max(MAX_FIELDS, `at most ${MAX_FIELDS} fields`).optional(),
      items: inner.optional(),
      format: z.enum(STRING_FORMATS, { message: `must be one of ${STRING_FORMATS.join(", ")}` }).optional(),
      pattern: z.string().min(1, "cannot be empty").max(MAX_PATTERN_CHARS, `must be at most ${MAX_PATTERN_CHARS} characters`).optional(),
      default_region: z.string().optional(),
    })
    .strict()
    .superRefine(checkShape) as unknown as z.ZodType<VariableSpec, z.ZodTypeDef, unknown>;
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
      let options = 0;
      walkShapes(specs, (shape, path, depth) => {
        options += shape.options?.length ?? 0;
        if (depth > MAX_OBJECT_DEPTH && shape.type === "object") {
          ctx.addIssue({ code: z.ZodIssueCode.custom, path, message: `nests objects ${depth} levels deep: at most ${MAX_OBJECT_DEPTH}` });
        }
      });
      if (options > MAX_OPTIONS_IN_ALL) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: `at most ${MAX_OPTIONS_IN_ALL} options in all variables together (these have ${options})` });
      }
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
