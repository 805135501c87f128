// The call store port: the durable record of every accepted call, idempotent on (profile, external id), with the
// extraction state machine. Adapters: SQLite (sqlite-store.ts, one process) and PostgreSQL (postgres-store.ts, shared).
import { randomUUID } from "node:crypto";
import type { CallFacts, SourceName } from "../sources/index.js";

/**
 * accepted → (extraction fails, retries left) extracting → … → extracted
 *                                    ↘ (out of attempts, or a failure retrying cannot fix) extraction_failed → (replay) accepted
 * skipped: the call was stored but not extracted (its status was not a completed one); `reason` says why.
 */
export const CALL_STATES = ["accepted", "extracting", "extracted", "extraction_failed", "skipped"] as const;
export type CallState = (typeof CALL_STATES)[number];

export interface CallRecord {
  id: string;
  profile: string;
  external_id: string;
  /** The platform that posted it. */
  source: SourceName;
  /** What the platform said of the call (null fields where it did not say); null for calls stored before sources existed. */
  call: CallFacts | null;
  state: CallState;
  reason: string | null;
  payload: unknown;
  attempts: number;
  next_attempt_at: number | null;
  last_error: string | null;
  extraction: { extracted_variables: Record<string, unknown>; meta: Record<string, unknown> } | null;
  delivery_errors: { destination: string; path: string; message: string }[];
  created_at: number;
  updated_at: number;
}

export interface AcceptCallInput {
  profile: string;
  source: SourceName;
  /** What the platform said of the call: kept in columns, so calls can be listed by source and show duration and phones. */
  call: CallFacts;
  /** The platform's id; a call without one gets its own call id, so it is never a duplicate. */
  externalId?: string;
  payload: unknown;
  state: "accepted" | "skipped";
  reason?: string;
}

/**
 * Every method is asynchronous (PostgreSQL is a network away). Adding a query means adding a method here and to each
 * adapter; the contract suite (test/calls/store.contract.test.ts) runs every adapter through the same behaviour.
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
  markExtracted(id: string, extraction: CallRecord["extraction"], deliveryErrors: CallRecord["delivery_errors"]): Promise<void>;
  /** Records a failed attempt: retried at `nextAttemptAt`, or marked extraction_failed when that is undefined. */
  markAttemptFailed(id: string, error: { code: string; message: string }, nextAttemptAt: number | undefined): Promise<void>;
  /**
   * Runs a call again now, attempts starting over: after extraction_failed, or after a destination's expression failed
   * on it (its other deliveries are not sent twice: enqueueing is idempotent per destination). False otherwise.
   */
  replay(id: string): Promise<boolean>;
  /** Finished calls (extracted with every delivery enqueued, or skipped) last changed before `before`. */
  findFinished(before: number, limit: number): Promise<string[]>;
  delete(ids: readonly string[]): Promise<number>;
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
  state: CallState;
  reason: string | null;
  payload: string;
  attempts: number;
  next_attempt_at: number | null;
  last_error: string | null;
  extraction: string | null;
  delivery_errors: string | null;
  created_at: number;
  updated_at: number;
}

export function toCallRecord(row: CallRow): CallRecord {
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
    state: row.state,
    reason: row.reason,
    payload: JSON.parse(row.payload),
    attempts: row.attempts,
    next_attempt_at: row.next_attempt_at,
    last_error: row.last_error,
    extraction: row.extraction ? JSON.parse(row.extraction) : null,
    delivery_errors: row.delivery_errors ? JSON.parse(row.delivery_errors) : [],
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export function emptyCallCounts(): Record<CallState, number> {
  return Object.fromEntries(CALL_STATES.map((state) => [state, 0])) as Record<CallState, number>;
}
