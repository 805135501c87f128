// When to try a delivery (or an extraction) again: the `retry` block of the configuration file, status classification,
// backoff with jitter, and Retry-After.
import { z } from "zod";

export type Backoff =
  | { kind: "schedule"; delaysMs: readonly number[] }
  | { kind: "exponential"; initialDelayMs: number; maxDelayMs: number };

export interface RetryPolicy {
  /** Total tries, the first one included. */
  maxAttempts: number;
  backoff: Backoff;
}

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/** Svix's schedule: a receiver that is down for most of a day still gets the call. */
const DEFAULT_RETRY_SCHEDULE_MS: readonly number[] = [
  5 * SECOND,
  5 * MINUTE,
  30 * MINUTE,
  2 * HOUR,
  5 * HOUR,
  10 * HOUR,
  10 * HOUR,
];

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: DEFAULT_RETRY_SCHEDULE_MS.length + 1,
  backoff: { kind: "schedule", delaysMs: DEFAULT_RETRY_SCHEDULE_MS },
};

const DEFAULT_INITIAL_DELAY_MS = 5 * SECOND;
const DEFAULT_MAX_DELAY_MS = 10 * HOUR;

/** Jitter spreads retries of many deliveries that failed together (a receiver outage) over time. */
const JITTER_RATIO = 0.2;

/** A Retry-After shorter than this would let a receiver make us spin. */
const MIN_RETRY_AFTER_MS = 1 * SECOND;

/** What a `retry` block may ask for: the fewest milliseconds between tries, and the most tries. */
export interface RetryBounds {
  minDelayMs: number;
  maxAttempts: number;
}

/**
 * The configuration file's `retry` block (a destination's, and extraction's). The bounds are the caller's: each use
 * kept the ones it had before the two shared this schema, so that every file that loaded still loads.
 */
export function retryConfigSchema(bounds: RetryBounds) {
  return z
    .object({
      max_attempts: z.number().int().min(1).max(bounds.maxAttempts).optional(),
      initial_delay_ms: z.number().int().min(bounds.minDelayMs).max(86_400_000).optional(),
      max_delay_ms: z.number().int().min(bounds.minDelayMs).max(7 * 86_400_000).optional(),
    })
    .strict()
    .refine((retry) => retry.initial_delay_ms === undefined || retry.max_delay_ms === undefined || retry.initial_delay_ms <= retry.max_delay_ms, {
      message: "initial_delay_ms must not exceed max_delay_ms",
      path: ["max_delay_ms"],
    });
}

export type RetryConfig = z.infer<ReturnType<typeof retryConfigSchema>>;

/** The config's `retry` block → a policy: exponential when the user sets delays, Svix-like otherwise. */
export function retryPolicyFromConfig(config: RetryConfig | undefined): RetryPolicy {
  const maxAttempts = config?.max_attempts ?? DEFAULT_RETRY_POLICY.maxAttempts;
  if (config?.initial_delay_ms === undefined && config?.max_delay_ms === undefined) {
    return { maxAttempts, backoff: DEFAULT_RETRY_POLICY.backoff };
  }
  const initialDelayMs = config.initial_delay_ms ?? DEFAULT_INITIAL_DELAY_MS;
  return {
    maxAttempts,
    backoff: { kind: "exponential", initialDelayMs, maxDelayMs: config.max_delay_ms ?? Math.max(initialDelayMs, DEFAULT_MAX_DELAY_MS) },
  };
}

/** The longest wait the policy ever asks for; also the ceiling for a receiver's Retry-After. */
function longestDelayMs(policy: RetryPolicy): number {
  return policy.backoff.kind === "schedule" ? Math.max(...policy.backoff.delaysMs) : policy.backoff.maxDelayMs;
}

/** Wait before the next try, after `failedAttempts` tries have failed (1 after the first). `random` is in [0, 1). */
export function backoffDelayMs(policy: RetryPolicy, failedAttempts: number, random: () => number = Math.random): number {
  const step = Math.max(1, failedAttempts);
  let base: number;
  if (policy.backoff.kind === "schedule") {
    const delays = policy.backoff.delaysMs;
    base = delays[Math.min(step, delays.length) - 1] ?? 0;
  } else {
    const { initialDelayMs, maxDelayMs } = policy.backoff;
    base = Math.min(initialDelayMs * 2 ** (step - 1), maxDelayMs);
  }
  const jitter = 1 + (random() * 2 - 1) * JITTER_RATIO;
  return Math.round(base * jitter);
}

export type StatusClass = "success" | "retry" | "final";

/** 2xx succeeds; 408, 425, 429 and 5xx may pass on a later try; everything else (3xx included) will not. */
export function classifyStatus(status: number): StatusClass {
  if (status >= 200 && status < 300) return "success";
  if (status === 408 || status === 425 || status === 429 || (status >= 500 && status < 600)) return "retry";
  return "final";
}

/** What one attempt produced, as far as the retry decision cares. */
export interface AttemptOutcomeInput {
  /** HTTP status, or undefined when no response arrived (network error, timeout, refused, aborted). */
  status: number | undefined;
  /** The destination will never be contacted (SSRF guard, bad URL): retrying cannot help. */
  refused?: boolean;
  /** The attempt was cut short by shutdown: it says nothing about the receiver. */
  interrupted?: boolean;
  retryAfterMs?: number | undefined;
}

export type RetryDecision =
  | { kind: "delivered" }
  | { kind: "retry"; delayMs: number }
  | { kind: "failed"; reason: "final_status" | "exhausted" | "refused" }
  | { kind: "interrupted" };

/** Decides what happens after an attempt; `attemptsMade` counts this attempt. */
export function decideAfterAttempt(
  policy: RetryPolicy,
  attemptsMade: number,
  outcome: AttemptOutcomeInput,
  random: () => number = Math.random,
): RetryDecision {
  if (outcome.interrupted) return { kind: "interrupted" };
  if (outcome.refused) return { kind: "failed", reason: "refused" };
  if (outcome.status !== undefined) {
    const statusClass = classifyStatus(outcome.status);
    if (statusClass === "success") return { kind: "delivered" };
    if (statusClass === "final") return { kind: "failed", reason: "final_status" };
  }
  if (attemptsMade >= policy.maxAttempts) return { kind: "failed", reason: "exhausted" };
  const honoursRetryAfter = outcome.status === 429 || outcome.status === 503;
  if (honoursRetryAfter && outcome.retryAfterMs !== undefined) {
    return { kind: "retry", delayMs: Math.min(Math.max(outcome.retryAfterMs, MIN_RETRY_AFTER_MS), longestDelayMs(policy)) };
  }
  return { kind: "retry", delayMs: backoffDelayMs(policy, attemptsMade, random) };
}
