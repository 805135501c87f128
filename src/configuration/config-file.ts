// The pipeline configuration file (DEBRIEF_CONFIG, JSON or YAML): profiles and destinations, validated at start-up and at each reload.
import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { compileDestinations, configIssues, retryConfigSchema, retryPolicyFromConfig, substituteEnv, type CompiledDestination, type RetryPolicy } from "../delivery/index.js";
import { ConfigError, type ConfigIssue } from "../errors.js";
import { REVIEW_FLAGS, type ReviewFlag } from "../extract/index.js";
import { formatPath, isTimeZone, variablesSchema, withPhoneRegion, type VariableLimits, type VariableSpec } from "../schema/index.js";
import { SOURCE_NAMES, type SourceChoice } from "../sources/index.js";
import { isPhoneRegion } from "../lib/phone.js";
import type { ApiKey } from "../access/index.js";
import { compileApiKeys } from "./api-keys.js";

/** Retries of an extraction may come sooner and more often than a destination's: from 10 ms apart, up to 100 tries. */
const RetrySchema = retryConfigSchema({ minDelayMs: 10, maxAttempts: 100 });

/** Which flags hold a call for a human, and the confidence under which a value is low_confidence. */
const ReviewSettingsSchema = z
  .object({
    /** A value under this confidence is flagged low_confidence (default 0.5, as for POST /v1/extract). */
    min_confidence: z.number().min(0).max(1).optional(),
    /** The flags that count for this profile (default: every flag). */
    flags: z.array(z.enum(REVIEW_FLAGS)).optional(),
    /** A call with a flag that counts waits in needs_review for POST /v1/calls/{id}/review instead of being delivered. */
    hold: z.boolean().default(false),
  })
  .strict();

/** A profile's daily LLM spend limit (issue 26): what happens to its calls once today's extractions cost this much. */
const BudgetSchema = z
  .object({
    /** USD per day (the profile's time zone, else UTC), summed over every extraction of its calls: live, re-extractions, backfills. */
    daily_usd: z.number().positive(),
    /** Reached: live calls are extracted anyway (`continue`, logged and counted) or wait for the next day (`wait`). Backfills always pause. */
    on_exceeded: z.enum(["continue", "wait"]).default("continue"),
  })
  .strict();

const HEADER_NAME = /^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/;

function profileSchema(limits: VariableLimits) {
  return z
    .object({
      system_prompt: z.string().max(100_000).optional(),
      variables: variablesSchema(limits).default([]),
      /** Calls whose status is not a completed one are stored, not extracted, not delivered. */
      send_only_on_completed: z.boolean().default(true),
      include_recording: z.boolean().default(true),
      destinations: z.array(z.string()).default([]),
      model: z.string().min(1).optional(),
      /** IANA zone the profile's calls happen in, for relative dates when the payload gives none. */
      timezone: z.string().optional(),
      /** ISO 3166-1 alpha-2 region of customer numbers written without a country code (caller memory, E.164). */
      default_region: z.string().optional(),
      /** Ask the model for each value's verbatim quote and turn: what makes a value checkable (and the console highlight it). */
      evidence: z.boolean().default(true),
      /** The platform that posts to this profile; `auto` picks the adapter whose markers match. */
      source: z.enum(["auto", ...SOURCE_NAMES]).default("auto"),
      /** How the platform proves a request is its own; values may be `${ENV_VAR}` references. */
      inbound: z
        .object({
          secret: z.string().min(1).optional(),
          url_token: z.string().min(1).optional(),
          /** Vapi's HMAC credential only (`source: vapi`): the header names chosen in Vapi's dashboard. */
          signature_header: z.string().regex(HEADER_NAME, "must be an HTTP header name").optional(),
          timestamp_header: z.string().regex(HEADER_NAME, "must be an HTTP header name").optional(),
        })
        .strict()
        .refine((inbound) => inbound.secret !== undefined || inbound.url_token !== undefined, "needs a secret, a url_token, or both")
        .optional(),
      /** Gates: a call shorter than this, with fewer customer turns, or ended for one of these reasons is stored as skipped. */
      min_duration_s: z.number().min(0).optional(),
      min_customer_turns: z.number().int().min(0).optional(),
      skip_ended_reasons: z.array(z.string().min(1)).optional(),
      review: ReviewSettingsSchema.default({}),
      /**
       * `when_routed`: before paying the LLM, decide the destinations whose `when` reads only call facts; a call no
       * destination would receive is stored as skipped (no_destination_applies). `always`: every call is extracted.
       */
      extract: z.enum(["always", "when_routed"]).default("always"),
      budget: BudgetSchema.optional(),
    })
    .strict();
}

/** A token anyone could guess in a few tries is no protection for a URL that carries personal data. */
const MIN_URL_TOKEN_LENGTH = 16;

const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** The top level; profiles and destinations are checked one by one below, so that one bad entry hides no other. */
const FileSchema = z
  .object({
    profiles: z.record(z.unknown()),
    destinations: z.unknown().optional(),
    /** Named API keys with scopes and profiles; checked one by one in api-keys.ts. */
    keys: z.unknown().optional(),
    /** How extraction of accepted calls is retried while the LLM is down. */
    extraction: z.object({ retry: RetrySchema.optional() }).strict().default({}),
  })
  .strict();

export interface Profile {
  name: string;
  systemPrompt?: string;
  variables: VariableSpec[];
  sendOnlyOnCompleted: boolean;
  includeRecording: boolean;
  destinations: CompiledDestination[];
  model?: string;
  timezone?: string;
  /** Region of customer numbers written without a country code. */
  defaultRegion?: string;
  /** Extractions ask for evidence quotes. */
  evidence: boolean;
  source: SourceChoice;
  /** Set: requests to this profile authenticate themselves (signature or URL token), not with an API key. */
  inbound?: { secret?: string; urlToken?: string; signatureHeader?: string; timestampHeader?: string };
  gates: { minDurationS?: number; minCustomerTurns?: number; skipEndedReasons: string[] };
  /**
   * Which flags count (flags), where low_confidence starts (minConfidence; unset: the extraction request's default),
   * and whether a call with a flag that counts waits for a human (hold).
   */
  review: { minConfidence?: number; flags: ReviewFlag[]; hold: boolean };
  /** `when_routed`: a call no destination would receive (by what it says before extraction) is not extracted. */
  extract: "always" | "when_routed";
  /**
   * Today's LLM spend limit, in USD (the day in `timezone`, else UTC). Reached: backfills pause, and live calls are
   * extracted anyway (`continue`) or wait for the next day (`wait`). Not part of the profile's version.
   */
  budget?: { dailyUsd: number; onExceeded: "continue" | "wait" };
}

export interface PipelineConfig {
  profiles: Map<string, Profile>;
  destinations: Map<string, CompiledDestination>;
  extractionRetry: RetryPolicy;
  /** The file's named API keys (DEBRIEF_API_KEYS keys are not among them). */
  keys: ApiKey[];
}

/** Extraction retries: every 5 s at first, doubling to an hour, for about a day before a call is marked failed. */
const DEFAULT_EXTRACTION_RETRY = { max_attempts: 30, initial_delay_ms: 5_000, max_delay_ms: 3_600_000 };

function parseText(file: string, text: string): unknown {
  const yaml = [".yaml", ".yml"].includes(extname(file).toLowerCase());
  try {
    return yaml ? parseYaml(text) : JSON.parse(text);
  } catch (error) {
    throw new ConfigError([{ path: file, message: `is not valid ${yaml ? "YAML" : "JSON"}: ${(error as Error).message}` }]);
  }
}

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === "object" && !Array.isArray(value);

export interface CompileOptions {
  /** DEBRIEF_ALLOW_PRIVATE_DESTINATIONS: http and private or loopback destination URLs are accepted. */
  allowPrivate?: boolean;
  /** DEBRIEF_API_KEYS's keys by their SHA-256 (hex) and how to name them: a file key may not be one of them. */
  environmentKeys?: ReadonlyMap<string, string>;
}

/**
 * Parses and compiles a configuration object; throws one ConfigError naming the path of every problem in the file:
 * the top level, every destination and every profile are checked, whatever else is wrong.
 */
export function compilePipelineConfig(
  raw: unknown,
  env: Record<string, string | undefined>,
  limits: VariableLimits,
  options: CompileOptions = {},
): PipelineConfig {
  if (!isObject(raw)) throw new ConfigError([{ path: "(root)", message: "must be an object with `profiles` and `destinations`" }]);
  const issues: ConfigIssue[] = [];
  const file = FileSchema.safeParse(raw);
  if (!file.success) issues.push(...configIssues(file.error, FileSchema, []));

  let destinations = new Map<string, CompiledDestination>();
  try {
    destinations = compileDestinations(raw.destinations, env, { allowPrivate: options.allowPrivate });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    issues.push(...error.issues);
  }
  // A profile naming a destination that is declared but broken is not told twice: the destination's own issue says it.
  const declared = new Set(isObject(raw.destinations) ? Object.keys(raw.destinations) : []);

  const schema = profileSchema(limits);
  const profiles = new Map<string, Profile>();
  for (const [name, value] of Object.entries(isObject(raw.profiles) ? raw.profiles : {})) {
    if (!PROFILE_NAME.test(name)) {
      issues.push({ path: formatPath(["profiles", name]), message: "profile names are 1-64 letters, digits, '_', '.' or '-'" });
      continue;
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      issues.push(...configIssues(parsed.error, schema, ["profiles", name]));
      continue;
    }
    const profile = parsed.data;
    profile.destinations.forEach((destination, index) => {
      if (!declared.has(destination)) {
        issues.push({ path: `profiles.${name}.destinations[${index}]`, message: `no destination named "${destination}" is configured` });
      }
    });
    if (profile.timezone && !isTimeZone(profile.timezone)) {
      issues.push({ path: `profiles.${name}.timezone`, message: "must be an IANA time zone such as America/New_York" });
    }
    if (profile.default_region !== undefined && !isPhoneRegion(profile.default_region)) {
      issues.push({ path: `profiles.${name}.default_region`, message: "must be an ISO 3166-1 alpha-2 region code such as US, GB or DE (upper case)" });
    }
    // `ungrounded` is judged on evidence quotes: a profile that names it must ask for them, or it could never be raised.
    const ungrounded = profile.review.flags?.indexOf("ungrounded") ?? -1;
    if (ungrounded >= 0 && !profile.evidence) {
      issues.push({
        path: `profiles.${name}.review.flags[${ungrounded}]`,
        message: "`ungrounded` is judged on evidence quotes, and this profile has `evidence: false`: remove `evidence: false` or this flag",
      });
    }
    const at = ["profiles", name, "inbound"];
    const secret = profile.inbound?.secret === undefined ? undefined : substituteEnv(profile.inbound.secret, env, [...at, "secret"], issues);
    const urlToken = profile.inbound?.url_token === undefined ? undefined : substituteEnv(profile.inbound.url_token, env, [...at, "url_token"], issues);
    for (const key of ["signature_header", "timestamp_header"] as const) {
      if (profile.inbound?.[key] !== undefined && profile.source !== "vapi") {
        issues.push({
          path: formatPath([...at, key]),
          message: "is taken only with source: vapi (Vapi's HMAC credential names its headers; every other platform's are fixed, and they say which platform signed)",
        });
      }
    }
    if (urlToken !== undefined && urlToken.length < MIN_URL_TOKEN_LENGTH) {
      issues.push({ path: formatPath([...at, "url_token"]), message: `must be at least ${MIN_URL_TOKEN_LENGTH} characters (e.g. openssl rand -hex 24)` });
    }
    profiles.set(name, {
      name,
      systemPrompt: profile.system_prompt,
      // A `format: phone` variable reads national numbers in the profile's region, as GET /v1/callers does.
      variables: withPhoneRegion(profile.variables, profile.default_region),
      sendOnlyOnCompleted: profile.send_only_on_completed,
      includeRecording: profile.include_recording,
      destinations: profile.destinations.flatMap((destination) => destinations.get(destination) ?? []),
      model: profile.model,
      timezone: profile.timezone,
      defaultRegion: profile.default_region,
      evidence: profile.evidence,
      source: profile.source,
      ...(profile.inbound
        ? { inbound: { secret, urlToken, signatureHeader: profile.inbound.signature_header, timestampHeader: profile.inbound.timestamp_header } }
        : {}),
      gates: { minDurationS: profile.min_duration_s, minCustomerTurns: profile.min_customer_turns, skipEndedReasons: profile.skip_ended_reasons ?? [] },
      review: {
        minConfidence: profile.review.min_confidence,
        flags: profile.review.flags ?? [...REVIEW_FLAGS],
        hold: profile.review.hold,
      },
      extract: profile.extract,
      ...(profile.budget ? { budget: { dailyUsd: profile.budget.daily_usd, onExceeded: profile.budget.on_exceeded } } : {}),
    });
  }
  // Unknown profiles are judged against every profile the file names, valid or not: a broken profile is told once.
  const profileNames = new Set(isObject(raw.profiles) ? Object.keys(raw.profiles) : []);
  const keys = compileApiKeys(raw.keys, env, profileNames, issues, options.environmentKeys);
  if (issues.length > 0 || !file.success) throw new ConfigError(issues);
  return {
    profiles,
    destinations,
    extractionRetry: retryPolicyFromConfig({ ...DEFAULT_EXTRACTION_RETRY, ...file.data.extraction.retry }),
    keys,
  };
}

/** The file's text, or a ConfigError saying why it cannot be read. */
export function readConfigText(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    throw new ConfigError([{ path: file, message: `cannot be read: ${(error as Error).message}` }]);
  }
}

/** Parses (JSON or YAML, by the file's extension) and compiles a configuration file's text; see compilePipelineConfig. */
export function parsePipelineConfig(
  file: string,
  text: string,
  env: Record<string, string | undefined>,
  limits: VariableLimits,
  options: CompileOptions = {},
): PipelineConfig {
  return compilePipelineConfig(parseText(file, text), env, limits, options);
}

export function loadPipelineConfig(
  file: string,
  env: Record<string, string | undefined>,
  limits: VariableLimits,
  options: CompileOptions = {},
): PipelineConfig {
  return parsePipelineConfig(file, readConfigText(file), env, limits, options);
}
