// The call store port: the durable record of every accepted call, idempotent on (profile, external id), with the
// extraction state machine, and the backfills port beside it. Adapters: SQLite (sqlite.ts, one process) and PostgreSQL
// (postgres.ts, shared); their rows and mappers are in rows.ts, the SQL they share in queries.ts.
import { randomUUID } from "node:crypto";
import type { AuditStore } from "./audit-port.js";
import type { InsightsStore } from "./insights-sql.js";
import type { Review } from "../../extract/index.js";
import type { CallFacts, SourceName } from "../../sources/index.js";
import type { Turn } from "../../transcript/index.js";
import type { CallFateInput, CallStage, CallState, FateInput, FateRecord } from "../fates.js";

/**
 * A call's stage (the store's `state` column), the extraction's own lifecycle:
 * accepted → (extraction fails, retries left) extracting → … → extracted
 *                                    ↘ (out of attempts, or a failure retrying cannot fix) extraction_failed → (replay) accepted
 * skipped: the call was stored but not extracted (its status was not a completed one); `reason` says why.
 * waiting_for_budget: accepted (or extracting), but its profile's daily LLM budget is spent (`budget.on_exceeded: wait`):
 * not extracted until its profile's next day starts or a reload raises the budget; then accepted (extracting) again.
 * needs_review: extracted, held for a reviewer (its profile's `review.hold`, a flagged value); the reviewer's decision
 * makes it accepted again (routed with the corrections, not extracted again) or skipped with the reviewer's reason.
 * Its public `state` (fates.ts) is kept beside it, in the same transaction as every change to the stage or the fates.
 */
export type { CallStage, CallState } from "../fates.js";

/** What extraction produced, kept with the call. */
export interface CallExtraction {
  extracted_variables: Record<string, unknown>;
  meta: Record<string, unknown>;
  /** Per non-null value, a quote and the index of its turn in `turns` (profiles with `evidence`). */
  evidence?: Record<string, { quote: string; turn: number }>;
  /** The normalised transcript the model read: the turns evidence indexes point into. Absent for calls extracted before it was kept. */
  turns?: Turn[];
  /** Each non-null value's confidence, when the LLM gave token log-probabilities. */
  confidence?: Record<string, number>;
  /** The flagged values, under the profile's review settings. Absent for calls extracted before it was kept. */
  review?: Review;
  /** The profile's version (profile-version.ts) it ran under; absent for calls extracted before versions existed. */
  profile_version?: string;
  /**
   * A re-extraction held for review: the values the receivers had been sent before it, delivered as
   * `debrief.previous_values` once a reviewer approves it.
   */
  previous_values?: Record<string, unknown>;
}

/** What a reviewer decided on a call held for review (POST /v1/calls/{id}/review), kept with the call. */
export interface CallReview {
  /** true: routed with the corrections; false: skipped, for `reason`. */
  approved: boolean;
  /** ISO 8601 instant of the decision. */
  at: string;
  /** The variables whose value the reviewer changed, in the profile's order. */
  corrected: string[];
  /** The changed values by name (null: the reviewer cleared it); the model's own stay in the extraction. */
  values: Record<string, unknown>;
  /** Why the reviewer skipped the call; null when approved. */
  reason: string | null;
  /** The reviewer's key name (issue 25); absent without auth, and for reviews recorded before it was kept. */
  by?: string;
}

/** What made an extraction: the call arriving (`live`, replays included), `POST /v1/calls/{id}/reextract`, or a backfill. */
export const EXTRACTION_TRIGGERS = ["live", "api", "backfill"] as const;
export type ExtractionTrigger = (typeof EXTRACTION_TRIGGERS)[number];

/** One extraction in a call's history; the newest is the call's current one. */
export interface ExtractionRecord {
  /** 1, 2, 3… in the order they were stored. */
  seq: number;
  /** Null for an extraction stored before profile versions existed. */
  profile_version: string | null;
  trigger: ExtractionTrigger;
  /**
   * The delivery event it was routed as (1: the first extraction), or, held for review, will be routed as once
   * approved; null when it was stored without being delivered.
   */
  event: number | null;
  /** The extraction without its turns (the call's transcript, kept once with the current extraction). */
  extraction: Omit<CallExtraction, "turns">;
  created_at: number;
}

/**
 * A re-extraction to store as the call's current one, with the fates of its delivery when it was routed (`event`).
 * `hold`: its profile holds calls for review and a value is flagged, so instead of being delivered the call goes to
 * needs_review (no fates; `event` is the one its approval will deliver it as) until a reviewer decides.
 */
export interface ReextractionInput {
  extraction: CallExtraction;
  trigger: Exclude<ExtractionTrigger, "live">;
  event: number | null;
  fates: readonly FateInput[];
  hold?: boolean;
  /** Why it is held when not (only) for a flag: `correction_conflict: …`, kept as the call's `reason`. */
  reason?: string;
}

/**
 * An approved review routing the extraction it was held with: that extraction is in the call's history already, with
 * this event number, so no entry is added.
 */
export interface RoutedReview {
  event: number;
}

/** A call without its payload and extraction: what lists show. */
export interface CallSummary {
  id: string;
  profile: string;
  external_id: string;
  /** The platform that posted it. */
  source: SourceName;
  /** What the platform said of the call (null fields where it did not say); null for calls stored before sources existed. */
  call: CallFacts | null;
  /** The customer's number in E.164, as caller memory looks it up; null when the platform sent none or it could not be read. */
  customer_phone_e164: string | null;
  /** The public state (one of CALL_STATES), kept up to date with the stage and the fates. */
  state: CallState;
  stage: CallStage;
  reason: string | null;
  attempts: number;
  next_attempt_at: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
}

export interface CallRecord extends CallSummary {
  payload: unknown;
  extraction: CallExtraction | null;
  /** The reviewer's decision, once a held call was reviewed. */
  reviewed: CallReview | null;
}

export interface AcceptCallInput {
  profile: string;
  source: SourceName;
  /** What the platform said of the call: kept in columns, so calls can be listed by source and show duration and phones. */
  call: CallFacts;
  /** The customer's number normalised to E.164 (caller memory looks calls up by it); none when unknown. */
  customerE164?: string | null;
  /** The platform's id; a call without one gets its own call id, so it is never a duplicate. */
  externalId?: string;
  payload: unknown;
  state: "accepted" | "skipped";
  reason?: string;
}

/** A list filter `where=variable:value` (issue 27): calls whose `path` holds `value` (null: is null) in `call_values`. */
export interface ValueCondition {
  path: string;
  value: string | null;
}

/** Where a page of calls starts: after this call in newest-first order. */
export interface ListPosition {
  created_at: number;
  id: string;
}

/** `GET /v1/calls` as the store answers it: every filter is a column or an indexed lookup. */
export interface CallListQuery {
  profile?: string;
  /** Only these profiles' calls (a key bound to them); undefined: every profile. */
  profiles?: readonly string[];
  source?: SourceName;
  /** Any of these public states. */
  states?: readonly CallState[];
  externalId?: string;
  /** created_at >= since, < until (ms since the epoch). */
  since?: number;
  until?: number;
  /** Calls with a fate for this destination (routed to it, or skipped for it). */
  destination?: string;
  /** Calls whose delivered values hold each of these (the `call_values` rows: `where=service_type:repair`). */
  where?: readonly ValueCondition[];
  after?: ListPosition;
  limit: number;
}

/** Which calls a backfill re-extracts: a profile's extracted calls, narrowed by these (issue 14: backfills). */
export interface BackfillFilter {
  profile: string;
  /** created_at >= since, < until (ms since the epoch). */
  since?: number;
  until?: number;
  /** Any of these public states. */
  states?: readonly CallState[];
  /** Only calls whose stored extraction ran under another profile version than this one (the current one). */
  outdatedFrom?: string;
}

/** How many of a profile's calls have a current extraction made under one version of it (GET /v1/profiles). */
export interface ProfileVersionCount {
  profile: string;
  /** Null: extracted before profile versions existed. */
  version: string | null;
  calls: number;
}

export type BackfillState = "running" | "done" | "cancelled";

export interface BackfillRecord {
  id: string;
  profile: string;
  state: BackfillState;
  /** What the backfill was asked for (its request body, normalised), for GET /v1/backfills/:id. */
  request: Record<string, unknown>;
  redeliver: boolean;
  /** Calls it re-extracts: fixed when it starts. */
  total: number;
  /** Calls finished, failed ones included. */
  done: number;
  /** Calls whose values changed. */
  changed: number;
  failed: number;
  prompt_tokens: number;
  completion_tokens: number;
  /** USD its finished items' extractions cost; null until one had a known price (see prices.ts). */
  cost_usd: number | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}

/** One call of a running backfill, claimed for a lease like a due call. */
export interface BackfillItem {
  backfill_id: string;
  call_id: string;
  /** Attempts before this one. */
  attempts: number;
  redeliver: boolean;
}

export type BackfillItemOutcome =
  | { kind: "done"; changed: boolean; usage: { prompt_tokens: number; completion_tokens: number }; cost_usd: number | null }
  /** Given up: counted in `failed`. */
  | { kind: "failed"; error: string }
  /** Tried again at `retryAt` (the LLM is down): the claim is released. */
  | { kind: "retry"; error: string; retryAt: number };

/**
 * Every method is asynchronous (PostgreSQL is a network away). Adding a query means adding a method here and to each
 * adapter; the contract suite (test/calls/store/store.contract.test.ts) runs every adapter through the same behaviour.
 */
export interface CallStore extends BackfillStore, AuditStore, InsightsStore {
  readonly engine: "sqlite" | "postgres";
  /** Stores a call unless (profile, external id) is known; either way returns the stored call. */
  accept(input: AcceptCallInput): Promise<{ call: CallRecord; created: boolean }>;
  get(id: string): Promise<CallRecord | undefined>;
  /**
   * Takes up to `limit` due calls (oldest due first) for `leaseMs`: until then no other worker, in this process or
   * another, gets them. A call claimed by a worker that died is due again once its lease has run out.
   */
  claimDue(limit: number, leaseMs: number): Promise<CallRecord[]>;
  /**
   * Records the extraction (the current one, and the next in the call's history, event 1) and each destination's fate
   * (enqueued: pending with its delivery; skipped: why), in one transaction.
   */
  markExtracted(id: string, extraction: CallExtraction, fates: readonly FateInput[], routed?: RoutedReview): Promise<void>;
  /**
   * Keeps the extraction of a call held for review: needs_review, routed nowhere until a reviewer decides. The
   * extraction joins the call's history with the event it is to be delivered as (1) once approved.
   */
  markHeld(id: string, extraction: CallExtraction, reason?: string | null): Promise<void>;
  /**
   * Records a reviewer's decision, only while the call is needs_review (one conditional update: of two reviews racing,
   * one wins and the other gets false). Approved: accepted again and due now, for the worker to route with the
   * corrections; not approved: skipped with the reviewer's reason.
   */
  decideReview(id: string, review: CallReview): Promise<boolean>;
  /**
   * Stores a re-extraction as the next in the call's history and makes it current, with its fates, in one transaction.
   * Returns its seq, or undefined (storing nothing) when the call does not exist or is not extracted.
   */
  recordReextraction(id: string, input: ReextractionInput): Promise<number | undefined>;
  /** The call's newest `limit` extractions, newest (the current one) first. */
  listExtractions(callId: string, limit: number): Promise<ExtractionRecord[]>;
  /**
   * Its profile's daily LLM budget is spent (`budget.on_exceeded: wait`): the claimed call is not extracted but waits in
   * waiting_for_budget until `until` (the profile's next day), its attempts unchanged. resumeWaitingForBudget makes it due.
   */
  markWaitingForBudget(id: string, until: number): Promise<void>;
  /**
   * Makes calls waiting for budget due now, back in the stage they waited in (accepted, or extracting when an attempt
   * had failed before): those matching every condition given: of `profiles` (a reload raised their budget), waiting
   * until `dueBy` or earlier (their day has ended). Returns how many.
   */
  resumeWaitingForBudget(which: { profiles?: readonly string[]; dueBy?: number }): Promise<number>;
  /** Records a failed attempt: retried at `nextAttemptAt`, or marked extraction_failed when that is undefined. */
  markAttemptFailed(id: string, error: { code: string; message: string }, nextAttemptAt: number | undefined): Promise<void>;
  /**
   * Runs a call again now, attempts starting over: after extraction_failed, or after a destination's expression failed
   * on it (its other deliveries are not sent twice: enqueueing is idempotent per destination). False otherwise.
   */
  replay(id: string): Promise<boolean>;
  /**
   * Writes fates that follow deliveries (the delivery worker's outcomes, the sweeper's catch-up) and brings each call's
   * state up to date in the same transaction. A fate never goes back to an older version of its delivery, and a skip
   * never replaces a delivery's fate. Fates of calls that no longer exist are ignored.
   */
  recordFates(fates: readonly CallFateInput[]): Promise<void>;
  /** Every fate of one call, every event, oldest event first. */
  listFates(callId: string): Promise<FateRecord[]>;
  /** The fates of several calls (a list page's) in one query, by call id; a call without fates is absent. */
  listFatesOf(callIds: readonly string[]): Promise<Map<string, FateRecord[]>>;
  /** Newest first (created_at, then id), from `after` on. */
  list(query: CallListQuery): Promise<CallSummary[]>;
  /** A caller's calls under a profile, newest first, and the newest one that was extracted. */
  callerHistory(profile: string, customerE164: string, limit: number): Promise<{ recent: CallSummary[]; latest: CallRecord | undefined }>;
  /** The key list cursors are signed with: made once per database, the same for every instance sharing it. */
  cursorKey(): Promise<Buffer>;
  /** Finished calls (extracted with every delivery enqueued, or skipped) last changed before `before`. */
  findFinished(before: number, limit: number): Promise<string[]>;
  delete(ids: readonly string[]): Promise<number>;
  /** Calls per public state. */
  counts(): Promise<Record<CallState, number>>;
  /** Per profile (or only `profile`), its calls with a current extraction, by the profile version it ran under. */
  profileVersionCounts(profile?: string): Promise<ProfileVersionCount[]>;
  /**
   * At start-up: frees the claims that can only have been left by a process that died. SQLite: every claim (a data dir
   * belongs to one process), so those calls are due at once. PostgreSQL: none, ever: a claim there may belong to a live
   * instance, and the lease expiring is what hands it over. Returns how many were freed.
   */
  releaseAbandonedClaims(): Promise<number>;
  close(): Promise<void>;
}

/**
 * Backfills (issue 14): re-extracting a profile's past calls in the background, behind live ones. Its own port, tested
 * by its own contract suite (test/calls/store/backfill-store.contract.test.ts); every call store adapter implements it,
 * as its items are the store's calls.
 */
export interface BackfillStore {
  /**
   * Starts a backfill: the calls matching `filter` (newest first, at most `limit`) become its items, in one
   * transaction, so a restart finds it whole. With no matching call it is `done` at once.
   */
  createBackfill(input: { filter: BackfillFilter; limit?: number; redeliver: boolean; request: Record<string, unknown> }): Promise<BackfillRecord>;
  getBackfill(id: string): Promise<BackfillRecord | undefined>;
  /** running → cancelled (items not started are never started); any other state is left as it is. Undefined: no such backfill. */
  cancelBackfill(id: string): Promise<BackfillRecord | undefined>;
  /** Up to `limit` pending items of running backfills, oldest first, for `leaseMs` (as claimDue: no other worker gets them meanwhile). */
  claimBackfillItems(limit: number, leaseMs: number): Promise<BackfillItem[]>;
  /** Records an item's outcome and its backfill's counts in one transaction; the last item finishes the backfill (`done`). */
  finishBackfillItem(item: Pick<BackfillItem, "backfill_id" | "call_id">, outcome: BackfillItemOutcome): Promise<void>;
  /**
   * The profile's daily LLM budget is spent: the pending items of its running backfills wait until `until` (its next
   * day), so no worker claims them before (their attempts unchanged). `claimed` are the caller's own claims among them,
   * released (another worker's claim stays: it finishes or its lease runs out). Returns how many were deferred.
   */
  deferBackfills(profile: string, until: number, claimed?: readonly Pick<BackfillItem, "backfill_id" | "call_id">[]): Promise<number>;
  /**
   * The profile's budget is no longer spent (a reload raised or removed it): the pending items of its running backfills
   * that wait (deferred, or waiting to retry) are due now. Returns how many.
   */
  resumeBackfills(profile: string): Promise<number>;
  /** Calls matching a backfill filter, whole (payload, extraction), newest first from `after`: what a dry run reads. */
  listBackfillCandidates(filter: BackfillFilter, after: ListPosition | undefined, limit: number): Promise<CallRecord[]>;
}

export const newCallId = (): string => `call_${randomUUID().replaceAll("-", "")}`;
export const newBackfillId = (): string => `bf_${randomUUID().replaceAll("-", "")}`;
