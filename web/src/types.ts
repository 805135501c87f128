// The API's shapes as the console reads them (see /openapi.json, generated from the service's zod schemas). Only the
// fields the console shows are named.
import type { EvidenceItem } from "./highlight.js";

export type { EvidenceItem };

export interface CallFacts {
  completed: boolean;
  started_at: string | null;
  ended_at: string | null;
  duration_s: number | null;
  customer_phone: string | null;
  agent_phone: string | null;
  recording_url: string | null;
}

export interface Attempt {
  attempt: number;
  started_at: string;
  finished_at: string | null;
  status: number | null;
  latency_ms: number | null;
  outcome: "delivered" | "retry" | "failed" | "interrupted" | null;
  error: string | null;
  response_snippet: string | null;
}

export interface Delivery {
  id: string;
  call_id: string;
  destination: string;
  /** Which routing of the call it carries (1: the first extraction; re-extractions and reviews 2, 3…). */
  event: number;
  status: "pending" | "delivered" | "failed";
  /** Every attempt, replays included (the length of attempt_history). */
  attempts: number;
  last_status: number | null;
  next_attempt_at: string | null;
  created_at: string;
  delivered_at: string | null;
  last_error: string | null;
  last_response: string | null;
  webhook_id: string;
  attempt_history: Attempt[];
}

/** What became of a call at one destination, with every delivery to it (GET /v1/calls/{id}). */
export interface DestinationFate extends FateBrief {
  in_profile: boolean;
  deliveries: Delivery[];
}

export interface Turn {
  speaker: string;
  text: string;
  time?: string | null;
}


/** A call in the list (GET /v1/calls), and the head of a call's page. */
export interface CallSummary {
  call_id: string;
  profile: string;
  source: string;
  external_id: string;
  call: CallFacts | null;
  customer_phone_e164: string | null;
  state: string;
  reason: string | null;
  created_at: string;
  updated_at: string;
}

/** A call as `GET /v1/calls` lists it: with each destination's latest fate, and why when it was not delivered. */
export interface CallListItem extends CallSummary {
  destinations: FateBrief[];
}

/** A destination's latest fate as the calls list shows it. */
export interface FateBrief {
  destination: string;
  fate: "delivered" | "pending" | "failed" | "skipped";
  reason: { code: string; message: string } | null;
}

export interface CallList {
  calls: CallListItem[];
  next_cursor: string | null;
}

export interface CallDetail extends CallSummary {
  attempts: number;
  next_attempt_at: string | null;
  last_error: string | null;
  extracted_variables: Record<string, unknown> | null;
  evidence: Record<string, EvidenceItem> | null;
  meta: Record<string, unknown> | null;
  /** Each non-null value's confidence (0..1), when the LLM gave log-probabilities. */
  confidence: Record<string, number> | null;
  /** The flagged values, with the flags the profile counts. */
  review: Review | null;
  /** What a reviewer decided on a call held for review. */
  reviewed: CallReview | null;
  /** The turns the model read; evidence turn numbers point into them. */
  transcript: Turn[] | null;
  destinations: DestinationFate[];
  /** What the platform posted, as it came. */
  payload: Record<string, unknown>;
  /** Once extracted: the profile version it ran under, whether that is current, and the call's extraction history. */
  extraction: ExtractionSummary | null;
}

export interface ExtractionSummary {
  profile_version: string | null;
  current: boolean;
  current_profile_version: string | null;
  /** Newest (the current extraction) first. */
  history: ExtractionEntry[];
}

export interface ExtractionEntry {
  seq: number;
  profile_version: string | null;
  trigger: "live" | "api" | "backfill";
  /** The delivery event it went out as; null when it was stored without being delivered. */
  event: number | null;
  created_at: string;
  extracted_variables: Record<string, unknown>;
  /** The variables whose value differs from the entry before it; null for the first. */
  changed: string[] | null;
}

export interface Review {
  needed: boolean;
  fields: Record<string, string[]>;
}

export interface CallReview {
  approved: boolean;
  at: string;
  corrected: string[];
  values: Record<string, unknown>;
  reason: string | null;
}

/** POST /v1/calls/{id}/review's answer. */
export interface CallReviewed {
  call_id: string;
  state: "accepted" | "skipped";
  reviewed: CallReview;
}

export interface ExtractResult {
  extracted_variables: Record<string, unknown>;
  evidence?: Record<string, EvidenceItem>;
  /** Absent when the LLM gave no token log-probabilities. */
  confidence?: Record<string, number>;
  review: { needed: boolean; fields: Record<string, string[]> };
  meta: Record<string, unknown> & { model: string; cached: boolean; latency_ms: number; ungrounded?: number };
}

export interface TestRequestResult {
  ok: boolean;
  status: number | null;
  latency_ms: number;
  body_snippet: string | null;
  error: string | null;
  webhook_id: string;
}

/** A destination's health (GET /v1/destinations). */
export interface DestinationHealth {
  name: string;
  /** In the configuration file now (false: removed, with deliveries left in the outbox). */
  configured: boolean;
  host: string | null;
  pending: number;
  delivered_24h: number;
  failed_24h: number;
  consecutive_failures: number;
  last_error: string | null;
  last_error_at: string | null;
  last_delivered_at: string | null;
}

/** A backfill dry run's answer (POST /v1/profiles/{name}/backfill with dry_run). */
export interface BackfillDryRun {
  dry_run: true;
  profile: string;
  profile_version: string;
  matching: number;
  sampled: number;
  changed_calls: number;
  change_rates: Record<string, number>;
  examples: { call_id: string; changes: Record<string, { before: unknown; after: unknown }> }[];
  sample_errors: { call_id: string; code: string; message: string }[];
  sample_usage: { prompt_tokens: number; completion_tokens: number };
  /** Sampled calls answered from the result cache (no completion measured). */
  sample_cached: number;
  estimate: { model: string; calls: number; llm_calls: number; prompt_tokens: number; completion_tokens: number; cost_usd: number | null; note?: string };
}

/** A configured profile (GET /v1/profiles/{name}): destinations by name and host only, inbound secrets only as set or not. */
export interface Profile {
  name: string;
  source: string;
  model: string;
  version: string;
  versions: { version: string | null; calls: number; current: boolean }[];
  variables: { name: string; type: string; description: string; options: string[] | null; fields?: unknown[] }[];
  evidence: boolean;
  timezone: string | null;
  gates: {
    send_only_on_completed: boolean;
    min_duration_s: number | null;
    min_customer_turns: number | null;
    skip_ended_reasons: string[];
    extract: "always" | "when_routed";
  };
  review: { hold: boolean; min_confidence: number | null; flags: string[] };
  inbound: { secret: boolean; url_token: boolean };
  destinations: { name: string; host: string | null }[];
  /** The daily LLM budget and today's spend (the day in `timezone`, else UTC); null without one. */
  budget: {
    daily_usd: number;
    on_exceeded: "continue" | "wait";
    today: { spent_usd: number; since: string; until: string; exceeded: boolean };
  } | null;
}

/** A backfill's answer when started (202), and as followed (GET /v1/backfills/{id}). */
export interface BackfillStarted {
  backfill_id: string;
  state: "running" | "done";
  total: number;
}

export interface Backfill {
  backfill_id: string;
  profile: string;
  state: "running" | "done" | "cancelled";
  total: number;
  done: number;
  changed: number;
  failed: number;
  tokens: { prompt_tokens: number; completion_tokens: number };
  /** USD so far; null until one re-extraction had a known price. */
  cost_usd: number | null;
  created_at: string;
  finished_at: string | null;
  /** Its profile's daily LLM budget is spent, or the shared LLM budget is short for backfills: no item is taken up until `until`. */
  paused: { reason: "daily_budget_reached" | "llm_budget"; until: string } | null;
}

/** Spread of a number or integer variable's values (GET /v1/profiles/{name}/insights). */
export interface NumberSpread {
  count: number;
  min: number;
  max: number;
  mean: number;
  p50: number;
  p90: number;
  /** Up to 10 equal-width bins, from min to max. */
  histogram: { from: number; to: number; count: number }[];
}

/** A leaf of a list or object variable (`items[].size`): how many values it holds, and their counts or spread. */
export interface InsightPath {
  type: string;
  /** Non-null values at this path (each item of a list counts). */
  values: number;
  nulls: number;
  counts?: Record<string, number>;
  /** Null when no value was found. */
  numbers?: NumberSpread | null;
}

export interface InsightVariable {
  type: string;
  /** Of the extracted calls, the share where the model found nothing (0..1). */
  null_rate: number;
  /** Of the extracted calls, the share with a value under the profile's review.min_confidence (0..1). */
  low_confidence_rate: number;
  /** Enum and boolean variables (and lists of options): each option, zero where none. */
  counts?: Record<string, number>;
  /** Number and integer variables; null when no value was found. */
  numbers?: NumberSpread | null;
  /** List and object variables: their leaf paths. */
  paths?: Record<string, InsightPath>;
}

/** One bucket of the window (an hour, a day or a week in the profile's time zone). */
export interface InsightBucket {
  /** "2026-12-01", the week's Monday, or "2026-12-01T13:00". */
  bucket: string;
  start: string;
  calls: number;
  delivered: number;
  skipped: number;
  needs_review: number;
  failed: number;
  cost_usd: number | null;
  /** Enum and boolean top-level variables only. */
  variables: Record<string, Record<string, number>>;
}

export type InsightBucketSize = "hour" | "day" | "week";

/** What a profile's calls said over a window (GET /v1/profiles/{name}/insights). */
export interface Insights {
  profile: string;
  timezone: string;
  since: string;
  until: string;
  bucket: InsightBucketSize;
  calls: number;
  /** The calls with an extraction: the base of every rate. */
  extracted: number;
  /** The confidence under which a value counts as low: the profile's review.min_confidence, or the service's default. */
  low_confidence_below: number;
  variables: Record<string, InsightVariable>;
  series: InsightBucket[];
}
