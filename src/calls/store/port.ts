// The call store port: the durable record of every accepted call, idempotent on (profile, external id), with the
// extraction state machine. Adapters: SQLite (sqlite-store.ts, one process) and PostgreSQL (postgres-store.ts, shared).
import { randomUUID } from "node:crypto";
import type { Review } from "../../extract/index.js";
import type { CallFacts, SourceName } from "../../sources/index.js";
import type { Turn } from "../../transcript/index.js";
import type { CallFateInput, CallStage, CallState, FateInput, FateRecord } from "../fates.js";
import { CALL_STATES } from "../fates.js";

/**
 * A call's stage (the store's `state` column), the extraction's own lifecycle:
 * accepted → (extraction fails, retries left) extracting → … → extracted
 *                                    ↘ (out of attempts, or a failure retrying cannot fix) extraction_failed → (replay) accepted
 * skipped: the call was stored but not extracted (its status was not a completed one); `reason` says why.
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

/** Where a page of calls starts: after this call in newest-first order. */
export interface ListPosition {
  created_at: number;
  id: string;
}

/** `GET /v1/calls` as the store answers it: every filter is a column or an indexed lookup. */
export interface CallListQuery {
  profile?: string;
  source?: SourceName;
  /** Any of these public states. */
  states?: readonly CallState[];
  externalId?: string;
  /** created_at >= since, < until (ms since the epoch). */
  since?: number;
  until?: number;
  /** Calls with a fate for this destination (routed to it, or skipped for it). */
  destination?: string;
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
  | { kind: "done"; changed: boolean; usage: { prompt_tokens: number; completion_tokens: number } }
  /** Given up: counted in `failed`. */
  | { kind: "failed"; error: string }
  /** Tried again at `retryAt` (the LLM is down): the claim is released. */
  | { kind: "retry"; error: string; retryAt: number };

/**
 * Every method is asynchronous (PostgreSQL is a network away). Adding a query means adding a method here and to each
 * adapter; the contract suite (test/calls/store/store.contract.test.ts) runs every adapter through the same behaviour.
 */
export interface CallStore {
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
  markHeld(id: string, extraction: CallExtraction): Promise<void>;
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
  /** Newest first (created_at, then id), from `after` on. */
  list(query: CallListQuery): Promise<CallSummary[]>;
  /** A caller's calls under a profile, newest first, and the newest one that was extracted. */
  callerHistory(profile: string, customerE164: string, limit: number): Promise<{ recent: CallSummary[]; latest: CallRecord | undefined }>;
  /** The key list cursors are signed with: made once per database, the same for every instance sharing it. */
  cursorKey(): Promise<Buffer>;
  /** Finished calls (extracted with every delivery enqueued, or skipped) last changed before `before`. */
  findFinished(before: number, limit: number): Promise<string[]>;
  delete(ids: readonly string[]): Promise<number>;
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
  /** Calls matching a backfill filter, whole (payload, extraction), newest first from `after`: what a dry run reads. */
  listBackfillCandidates(filter: BackfillFilter, after: ListPosition | undefined, limit: number): Promise<CallRecord[]>;
  /** Calls per public state. */
  counts(): Promise<Record<CallState, number>>;
  /**
   * At start-up: frees the claims that can only have been left by a process that died. SQLite: every claim (a data dir
   * belongs to one process), so those calls are due at once. PostgreSQL: none, ever: a claim there may belong to a live
   * instance, and the lease expiring is what hands it over. Returns how many were freed.
   */
  releaseAbandonedClaims(): Promise<number>;
  close(): Promise<void>;
}

export const newCallId = (): string => `call_${randomUUID().replaceAll("-", "")}`;
export const newBackfillId = (): string => `bf_${randomUUID().replaceAll("-", "")}`;

/** A `calls` row as both engines return it: JSON as text, times as ms since the epoch. */
export interface CallRow {
  id: string;
  profile: string;
  external_id: string;
  source: SourceName;
  completed: number | boolean | null;
  started_at: string | null;
  ended_at: string | null;
  duration_s: number | null;
  customer_phone: string | null;
  agent_phone: string | null;
  recording_url: string | null;
  customer_e164: string | null;
  state: CallStage;
  public_state: CallState;
  reason: string | null;
  payload: string;
  attempts: number;
  next_attempt_at: number | null;
  last_error: string | null;
  extraction: string | null;
  delivery_errors: string | null;
  reviewed: string | null;
  created_at: number;
  updated_at: number;
}

/** The columns a list reads: everything but the payload and the extraction. */
export const SUMMARY_COLUMNS =
  "id, profile, external_id, source, completed, started_at, ended_at, duration_s, customer_phone, agent_phone, recording_url, customer_e164, " +
  "state, public_state, reason, attempts, next_attempt_at, last_error, created_at, updated_at";

export function toCallSummary(row: Omit<CallRow, "payload" | "extraction" | "delivery_errors" | "reviewed">): CallSummary {
  return {
    id: row.id,
    profile: row.profile,
    external_id: row.external_id,
    source: row.source,
    call:
      row.completed === null
        ? null
        : {
            completed: row.completed === 1 || row.completed === true,
            started_at: row.started_at,
            ended_at: row.ended_at,
            duration_s: row.duration_s,
            customer_phone: row.customer_phone,
            agent_phone: row.agent_phone,
            recording_url: row.recording_url,
          },
    customer_phone_e164: row.customer_e164,
    state: row.public_state,
    stage: row.state,
    reason: row.reason,
    attempts: row.attempts,
    next_attempt_at: row.next_attempt_at,
    last_error: row.last_error,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export function toCallRecord(row: CallRow): CallRecord {
  return {
    ...toCallSummary(row),
    payload: JSON.parse(row.payload),
    extraction: row.extraction ? JSON.parse(row.extraction) : null,
    reviewed: row.reviewed ? JSON.parse(row.reviewed) : null,
  };
}

/** A `call_extractions` row as both engines return it. */
export interface ExtractionRow {
  seq: number;
  profile_version: string | null;
  trigger: ExtractionTrigger;
  event: number | null;
  extraction: string;
  created_at: number | string;
}

export function toExtractionRecord(row: ExtractionRow): ExtractionRecord {
  return {
    seq: row.seq,
    profile_version: row.profile_version,
    trigger: row.trigger,
    event: row.event,
    extraction: JSON.parse(row.extraction) as ExtractionRecord["extraction"],
    created_at: Number(row.created_at),
  };
}

/** The extraction as its history keeps it: without the turns (the call's transcript, the same for every extraction). */
export function historyText(extraction: CallExtraction): string {
  const { turns: _turns, ...rest } = extraction;
  return JSON.stringify(rest);
}

export function emptyCallCounts(): Record<CallState, number> {
  return Object.fromEntries(CALL_STATES.map((state) => [state, 0])) as Record<CallState, number>;
}

/** One fate per (call, destination, event): the last one given wins (a batch must not touch a row twice). */
export function uniqueFates<T extends CallFateInput>(fates: readonly T[]): T[] {
  return [...new Map(fates.map((fate) => [`${fate.call_id}\u0000${fate.destination}\u0000${fate.event}`, fate])).values()];
}

/** A call that may be replayed: out of extraction attempts, or routed with an expression that failed on it. */
export const REPLAYABLE_CALL = `(state = 'extraction_failed' OR (state = 'extracted' AND EXISTS (
  SELECT 1 FROM call_fates WHERE call_fates.call_id = calls.id AND fate = 'skipped' AND reason_code IN ('when_failed', 'transform_failed'))))`;

/** Finished: skipped, or extracted and routed with every expression working (its deliveries are the outbox's to keep). */
export const FINISHED_CALL = `(state = 'skipped' OR (state = 'extracted' AND NOT EXISTS (
  SELECT 1 FROM call_fates WHERE call_fates.call_id = calls.id AND fate = 'skipped' AND reason_code IN ('when_failed', 'transform_failed'))))`;

/**
 * The `calls` query of a list page, for either engine (`placeholder(n)` names its n-th parameter). Only the filters
 * given become conditions, so each query can use the index that fits it: (public_state | profile | source, created_at,
 * id), external_id, or the fates' (destination, call_id). Several states are one index range each, every range read
 * in order and cut at the page size, then merged: a page never sorts every call in a common state.
 */
export function listCallsSql(query: CallListQuery, placeholder: (n: number) => string): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const p = (value: unknown) => {
    params.push(value);
    return placeholder(params.length);
  };
  const page = (state: CallState | undefined) => {
    const where: string[] = [];
    if (state !== undefined) where.push(`public_state = ${p(state)}`);
    if (query.profile !== undefined) where.push(`profile = ${p(query.profile)}`);
    if (query.source !== undefined) where.push(`source = ${p(query.source)}`);
    if (query.externalId !== undefined) where.push(`external_id = ${p(query.externalId)}`);
    if (query.since !== undefined) where.push(`created_at >= ${p(query.since)}`);
    if (query.until !== undefined) where.push(`created_at < ${p(query.until)}`);
    if (query.destination !== undefined) {
      where.push(`EXISTS (SELECT 1 FROM call_fates WHERE call_fates.call_id = calls.id AND call_fates.destination = ${p(query.destination)})`);
    }
    if (query.after !== undefined) where.push(`(created_at, id) < (${p(query.after.created_at)}, ${p(query.after.id)})`);
    const filter = where.length > 0 ? `WHERE ${where.join(" AND ")}` : "";
    return `SELECT ${SUMMARY_COLUMNS} FROM calls ${filter} ORDER BY created_at DESC, id DESC LIMIT ${p(query.limit)}`;
  };
  const states = query.states ?? [];
  if (states.length <= 1) return { sql: page(states[0]), params };
  const ranges = states.map((state, n) => `SELECT * FROM (${page(state)}) AS range_${n}`).join(" UNION ALL ");
  return { sql: `SELECT * FROM (${ranges}) AS ranges ORDER BY created_at DESC, id DESC LIMIT ${p(query.limit)}`, params };
}

/**
 * The condition on `calls` of a backfill filter, for either engine: `placeholder(n)` names the n-th parameter (counted
 * from `params`' current length), `version` is the engine's expression for an extraction's profile version.
 */
export function backfillFilterSql(filter: BackfillFilter, params: unknown[], placeholder: (n: number) => string, version: string): string {
  const p = (value: unknown) => {
    params.push(value);
    return placeholder(params.length);
  };
  const where = [`profile = ${p(filter.profile)}`, "state = 'extracted'", "extraction IS NOT NULL"];
  if (filter.since !== undefined) where.push(`created_at >= ${p(filter.since)}`);
  if (filter.until !== undefined) where.push(`created_at < ${p(filter.until)}`);
  if (filter.states && filter.states.length > 0) where.push(`public_state IN (${filter.states.map(p).join(", ")})`);
  if (filter.outdatedFrom !== undefined) where.push(`COALESCE(${version}, '') <> ${p(filter.outdatedFrom)}`);
  return where.join(" AND ");
}

/** A `backfills` row as both engines return it. */
export interface BackfillRow extends Omit<BackfillRecord, "request" | "redeliver"> {
  request: string;
  redeliver: number | boolean;
}

export function toBackfillRecord(row: BackfillRow): BackfillRecord {
  const number = (value: unknown) => Number(value);
  return {
    id: row.id,
    profile: row.profile,
    state: row.state,
    request: JSON.parse(row.request),
    redeliver: row.redeliver === 1 || row.redeliver === true,
    total: number(row.total),
    done: number(row.done),
    changed: number(row.changed),
    failed: number(row.failed),
    prompt_tokens: number(row.prompt_tokens),
    completion_tokens: number(row.completion_tokens),
    created_at: number(row.created_at),
    updated_at: number(row.updated_at),
    finished_at: row.finished_at === null ? null : number(row.finished_at),
  };
}

export function toBackfillItem(row: Omit<BackfillItem, "redeliver"> & { redeliver: number | boolean }): BackfillItem {
  return { backfill_id: row.backfill_id, call_id: row.call_id, attempts: Number(row.attempts), redeliver: row.redeliver === 1 || row.redeliver === true };
}
