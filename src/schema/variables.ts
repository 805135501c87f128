// The post-call variable schema a user sends: names, types (with the peers' aliases), descriptions, options.
import { z } from "zod";

export const VARIABLE_TYPES = ["string", "number", "integer", "boolean", "enum", "date", "datetime", "list"] as const;
export type VariableType = (typeof VARIABLE_TYPES)[number];

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

export interface VariableSpec {
  name: string;
  type: VariableType;
  description: string;
  options?: string[];
}

export interface VariableLimits {
  maxVariables: number;
  maxDescriptionChars: number;
}

/** The zod schema for the `variables` array, with the limits of this deployment. */
export function variablesSchema(limits: VariableLimits) {
  const variable = z
    .object({
      name: z
        .string()
        .regex(
          VARIABLE_NAME,
          "must be 2 to 64 characters: a lowercase letter, then lowercase letters, digits or underscores (^[a-z][a-z0-9_]{1,63}$)",
        )
        .refine((name) => !RESERVED_NAMES.has(name.toLowerCase()), "is a reserved JavaScript name"),
      type: z.preprocess(
        (value) => (typeof value === "string" ? (TYPE_ALIASES[value.trim().toLowerCase()] ?? value.trim().toLowerCase()) : value),
        z.enum(VARIABLE_TYPES, { message: `must be one of ${VARIABLE_TYPES.join(", ")} (or an alias: text, bool, True/False)` }),
      ),
      description: z
        .string()
        .trim()
        .min(1, "is required: it is what the model reads")
        .max(limits.maxDescriptionChars, `must be at most ${limits.maxDescriptionChars} characters`),
      options: z
        .array(z.string().trim().min(1, "an option cannot be empty").max(MAX_OPTION_CHARS, `an option must be at most ${MAX_OPTION_CHARS} characters`))
        .min(1, "must list at least one option")
        .max(1000, "must list at most 1000 options")
        .refine((options) => new Set(options).size === options.length, "options must be distinct")
        .optional(),
    })
    .superRefine((spec, ctx) => {
      if (spec.type === "enum" && !spec.options) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["options"], message: "an enum needs options: a non-empty list of distinct strings" });
      }
      if (spec.options && spec.type !== "enum" && spec.type !== "list") {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["options"], message: `options only apply to enum and list, not ${spec.type}` });
      }
    });

  return z
    .array(variable)
    .max(limits.maxVariables, `at most ${limits.maxVariables} variables`)
    .superRefine((specs, ctx) => {
      const options = specs.reduce((sum, spec) => sum + (spec.options?.length ?? 0), 0);
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
