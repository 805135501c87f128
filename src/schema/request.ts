// The body of `POST /v1/extract`: validated with zod, then normalised into an ExtractJob the pipeline runs.
import { distance } from "fastest-levenshtein";
import { z } from "zod";
import { InvalidRequestError, type ErrorDetail } from "../errors.js";
import { normalizeTranscript, TRANSCRIPT_EXPECTED, type NormalizeResult, type Turn } from "../transcript/index.js";
import { isPhoneRegion } from "../lib/phone.js";
import { variablesSchema, withDefaults, withPhoneRegion, type VariableLimits, type VariableSpec } from "./variables.js";

const knownZones = new Set<string>();

/** Asked on every request with a call time zone: a zone once found valid is remembered (the set of zones is small). */
export function isTimeZone(zone: string): boolean {
  if (knownZones.has(zone)) return true;
  // IANA names are short and plain; anything else is refused before Intl, which takes milliseconds to refuse it.
  if (!/^[A-Za-z0-9_+\-/:]{1,64}$/.test(zone)) return false;
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
    min_confidence: z
      .number()
      .min(0)
      .max(1)
      .default(0.5)
      .describe("A value whose confidence is under this is flagged low_confidence in `review` (only where the LLM gives log-probabilities)"),
    default_region: z
      .string()
      .refine(isPhoneRegion, "must be an ISO 3166-1 alpha-2 region code such as US, GB or DE (upper case)")
      .optional()
      .describe(
        "An ISO 3166-1 alpha-2 region code (upper case: US, GB, DE) for reading national phone numbers: a `format: phone` value " +
          "said without its country code, such as (312) 555-0197, is read in this region (+13125550197 in US). A variable's own " +
          "`default_region` wins. Without either, such a number cannot be placed: it is asked for once more, then null and flagged `invalid_format`.",
      )
      .openapi({ example: "US" }),
  })
  .strict();

export function extractRequestSchema(limits: VariableLimits) {
  return z
    .object({
    transcript: z
      .union([z.string(), z.array(z.unknown())], { errorMap: () => ({ message: TRANSCRIPT_EXPECTED }) })
      .describe("A `Speaker: text` string, or Thoughtly / Autocalls / {role, content} turns"),
    variables: variablesSchema(limits).default([]),
    context: CallContextSchema.optional(),
    options: ExtractOptionsSchema.default({}),
    })
    // A misspelt key (`variable`) would otherwise be dropped, and the call extracted without what it asked for.
    .strict();
}

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
  options: { model?: string; evidence: boolean; cache: boolean; min_confidence: number; default_region?: string };
}

/** The known key `key` is most likely a slip for: at most a third of its letters differ (case aside). */
export function didYouMean(key: string, known: readonly string[]): string | undefined {
  // Longer than any known key by more than the slack allows: not worth measuring (keys can be megabytes).
  if (key.length > 100) return undefined;
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const d = distance(key.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(best.length / 3)) ? best : undefined;
}

/** Unknown keys listed one by one, each with its suggestion; at most this many, so a flood of keys is one short answer. */
const MAX_UNKNOWN_KEYS_LISTED = 20;

/**
 * zod issues as `{path, message}` details. An object with keys it does not know gets one detail per key, naming the
 * known key it most likely meant (`knownKeys` says which keys the object at a path has).
 */
export function zodIssuesToDetails(
  issues: readonly z.ZodIssue[],
  prefix: (string | number)[] = [],
  knownKeys: (path: readonly (string | number)[]) => readonly string[] = () => [],
): ErrorDetail[] {
  return issues.flatMap((issue) => {
    const at = [...prefix, ...issue.path];
    if (issue.code !== z.ZodIssueCode.unrecognized_keys) return [{ path: formatPath(at), message: issue.message }];
    const known = knownKeys(issue.path);
    return issue.keys.slice(0, MAX_UNKNOWN_KEYS_LISTED).map((key) => {
      const guess = didYouMean(key, known);
      const expected = known.length > 0 ? `; expected ${known.map((name) => `\`${name}\``).join(", ")}` : "";
      return { path: formatPath([...at, key]), message: guess ? `unknown key: did you mean \`${guess}\`?` : `unknown key${expected}` };
    });
  });
}

/** `["variables", 2, "options"]` → `variables[2].options`. */
export function formatPath(path: readonly (string | number)[]): string {
  return path.reduce<string>((out, part) => (typeof part === "number" ? `${out}[${part}]` : out ? `${out}.${part}` : part), "");
}

const schemas = new Map<string, ReturnType<typeof extractRequestSchema>>();

/** The keys the object at `path` inside `schema` knows (defaults, optionals and refinements looked through). */
export function knownKeysAt(schema: z.ZodTypeAny, path: readonly (string | number)[]): readonly string[] {
  let node: z.ZodTypeAny | undefined = schema;
  for (let depth = 0; node && depth <= path.length; ) {
    if (node instanceof z.ZodEffects) node = node.innerType();
    else if (node instanceof z.ZodOptional || node instanceof z.ZodNullable) node = node.unwrap();
    else if (node instanceof z.ZodDefault) node = node.removeDefault();
    else if (depth === path.length) break;
    else {
      const key = path[depth++]!;
      if (node instanceof z.ZodObject) node = (node.shape as Record<string, z.ZodTypeAny>)[String(key)];
      else if (node instanceof z.ZodArray) node = node.element;
      else if (node instanceof z.ZodRecord) node = node.valueSchema;
      else node = undefined;
    }
  }
  return node instanceof z.ZodObject ? Object.keys(node.shape) : [];
}

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
  const issues: ErrorDetail[] = parsed.success ? [] : zodIssuesToDetails(parsed.error.issues, [], (path) => knownKeysAt(schema, path));
  if (!transcript.ok && !issues.some((issue) => issue.path?.startsWith("transcript"))) issues.unshift(...transcript.issues);
  if (!parsed.success || !transcript.ok || issues.length > 0) {
    const unknown = issues.find((issue) => issue.message.startsWith("unknown key"));
    throw new InvalidRequestError(`The request does not match the extraction schema${unknown ? `: \`${unknown.path}\` is an ${unknown.message}` : ""}`, issues);
  }
  const { variables, context, options } = parsed.data;
  const createdAt = context?.call?.created_at;
  return {
    turns: transcript.turns,
    variables: withPhoneRegion(withDefaults(variables), options.default_region),
    context: {
      systemPrompt: context?.system_prompt?.trim() || undefined,
      callCreatedAt: createdAt ? new Date(createdAt).toISOString() : undefined,
      timezone: context?.call?.timezone,
      inputVariables: context?.input_variables && Object.keys(context.input_variables).length > 0 ? context.input_variables : undefined,
    },
    options,
  };
}
