// The body of `POST /v1/extract`: validated with zod, then normalised into an ExtractJob the pipeline runs.
import { z } from "zod";
import { InvalidRequestError, type ErrorDetail } from "../errors.js";
import { normalizeTranscript, type NormalizeResult, type Turn } from "../transcript/index.js";
import { variablesSchema, withDefaults, type VariableLimits, type VariableSpec } from "./variables.js";

const knownZones = new Set<string>();

/** Asked on every request with a call time zone: a zone once found valid is remembered (the set of zones is small). */
export function isTimeZone(zone: string): boolean {
  if (knownZones.has(zone)) return true;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
  } catch {
    return false;
  }
  if (knownZones.size < 1_000) knownZones.add(zone);
  return true;
}

/**
 * A date-time that names one instant. Without an offset, "2026-06-12T01:30:00" would be read in the server's zone
 * and could land on another calendar day in the call's zone: "tomorrow" would then resolve wrong.
 */
export function isInstant(value: string): boolean {
  return /(?:Z|[+-]\d{2}:?\d{2})$/i.test(value.trim()) && /^\d{4}-\d{2}-\d{2}T/.test(value.trim()) && !Number.isNaN(Date.parse(value));
}

export const CallContextSchema = z
  .object({
    system_prompt: z.string().max(100_000).optional().describe("The voice agent's own prompt: what the call was trying to achieve"),
    call: z
      .object({
        id: z.union([z.string(), z.number()]).optional(),
        created_at: z
          .string()
          .refine(isInstant, "must be an ISO 8601 date-time with a UTC offset or Z, e.g. 2026-06-12T14:22:05Z")
          .optional()
          .describe("When the call took place, with its UTC offset; relative dates are resolved against it"),
        timezone: z.string().refine(isTimeZone, "must be an IANA time zone such as America/New_York").optional(),
      })
      .passthrough()
      .optional(),
    input_variables: z.record(z.unknown()).optional().describe("Variables the agent had before the call"),
  })
  .passthrough();

export const ExtractOptionsSchema = z
  .object({
    model: z.string().min(1).max(200).optional(),
    evidence: z.boolean().default(false),
    cache: z.boolean().default(true),
  })
  .strict();

export function extractRequestSchema(limits: VariableLimits) {
  return z.object({
    transcript: z
      .union([z.string(), z.array(z.unknown())], { errorMap: () => ({ message: "must be a string or an array of turns" }) })
      .describe("A `Speaker: text` string, or Thoughtly / Autocalls / {role, content} turns"),
    variables: variablesSchema(limits).default([]),
    context: CallContextSchema.optional(),
    options: ExtractOptionsSchema.default({}),
  });
}

export type CallContext = z.infer<typeof CallContextSchema>;

/** A validated, normalised extraction request: what the pipeline (and the cache key) work from. */
export interface ExtractJob {
  turns: Turn[];
  /** The request's variables with the defaults (status, summary) in front. */
  variables: VariableSpec[];
  context: {
    systemPrompt?: string;
    callCreatedAt?: string;
    timezone?: string;
    inputVariables?: Record<string, unknown>;
  };
  options: { model?: string; evidence: boolean; cache: boolean };
}

export function zodIssuesToDetails(issues: readonly z.ZodIssue[], prefix: (string | number)[] = []): ErrorDetail[] {
  return issues.map((issue) => ({ path: formatPath([...prefix, ...issue.path]), message: issue.message }));
}

/** `["variables", 2, "options"]` → `variables[2].options`. */
export function formatPath(path: readonly (string | number)[]): string {
  return path.reduce<string>((out, part) => (typeof part === "number" ? `${out}[${part}]` : out ? `${out}.${part}` : part), "");
}

const schemas = new Map<string, ReturnType<typeof extractRequestSchema>>();

/** Validates a request body; throws InvalidRequestError naming the JSON path of every problem. */
export function parseExtractRequest(body: unknown, limits: VariableLimits): ExtractJob {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new InvalidRequestError("The request body must be a JSON object", [{ path: "", message: "expected an object" }]);
  }
  return buildJob(body, limits, normalizeTranscript((body as { transcript?: unknown }).transcript));
}

/** The same validation for a call whose transcript a platform adapter has already read into turns. */
export function extractJobForTurns(turns: Turn[], request: Omit<z.input<ReturnType<typeof extractRequestSchema>>, "transcript">, limits: VariableLimits): ExtractJob {
  const transcript: NormalizeResult =
    turns.length > 0 ? { ok: true, turns } : { ok: false, issues: [{ path: "transcript", message: "transcript is empty: it has no spoken turns" }] };
  return buildJob({ ...request, transcript: [] }, limits, transcript);
}

function buildJob(body: object, limits: VariableLimits, transcript: NormalizeResult): ExtractJob {
  const key = `${limits.maxVariables}:${limits.maxDescriptionChars}`;
  let schema = schemas.get(key);
  if (!schema) schemas.set(key, (schema = extractRequestSchema(limits)));

  const parsed = schema.safeParse(body);
  const issues: ErrorDetail[] = parsed.success ? [] : zodIssuesToDetails(parsed.error.issues);
  if (!transcript.ok && !issues.some((issue) => issue.path?.startsWith("transcript"))) issues.unshift(...transcript.issues);
  if (!parsed.success || !transcript.ok || issues.length > 0) {
    throw new InvalidRequestError("The request does not match the extraction schema", issues);
  }
  const { variables, context, options } = parsed.data;
  const createdAt = context?.call?.created_at;
  return {
    turns: transcript.turns,
    variables: withDefaults(variables),
    context: {
      systemPrompt: context?.system_prompt?.trim() || undefined,
      callCreatedAt: createdAt ? new Date(createdAt).toISOString() : undefined,
      timezone: context?.call?.timezone,
      inputVariables: context?.input_variables && Object.keys(context.input_variables).length > 0 ? context.input_variables : undefined,
    },
    options,
  };
}
