// The outbox port: every delivery, its attempts and its next attempt time, durable, so a crash loses nothing.
// Adapters: SQLite (sqlite.ts, one process) and PostgreSQL (postgres.ts, shared by instances); schemas in migrations/.
import { randomBytes } from "node:crypto";
import { ConflictError, NotFoundError } from "../errors.js";
import type { AttemptOutcome, AttemptRecord, Delivery, DeliveryFilter, DeliveryStatus, DeliveryWithAttempts, DestinationHealth } from "../types.js";

export const DEFAULT_LIST_LIMIT = 50;
export const MAX_LIST_LIMIT = 200;

/** A delivery the worker holds a lease on: it alone may send it until `claimedUntil`. */
export interface ClaimedDelivery {
  id: string;
  callId: string;
  destination: string;
  webhookId: string;
  /** The exact JSON bytes rendered at enqueue: every retry sends the same body. */
  body: string;
  /** This attempt's number in the delivery's history. */
  attempt: number;
  /** Attempts in the current run, this one included: what the retry budget counts. */
  runAttempt: number;
  claimedUntil: number;
}

export interface AttemptResultInput {
  outcome: AttemptOutcome;
  /** Required when outcome is "retry". */
  nextAttemptAt?: number;
  status: number | null;
  latencyMs: number;
  error: string | null;
  responseSnippet: string | null;
}

/** What a worker can start right now, so that it never claims a delivery it would leave waiting under its lease. */
export interface ClaimRequest {
  /** At most this many in all. */
  limit: number;
  /** Per destination: how many more it may start now (0: none), and how long each claim lasts. */
  destinations: ReadonlyMap<string, { room: number; leaseMs: number }>;
  /** The same for destinations not listed (no longer configured: the worker fails them). */
  other: { room: number; leaseMs: number };
  /** Never these ids (a flush runs each delivery at most once). */
  excludeIds?: readonly string[];
}

/**
 * Every method is asynchronous (PostgreSQL is a network away). Adding a query means adding a method here and to each
 * adapter; the contract suite (test/delivery/outbox/outbox.contract.test.ts) runs every adapter through the same behaviour.
 */
export interface DeliveryOutbox {
  readonly engine: "sqlite" | "postgres";
  /** The clock the outbox schedules with; the worker signs and schedules with the same one. */
  readonly now: () => number;
  /**
   * Stores `payload` (the body to send, already rendered by the destination's transform) as exact JSON bytes.
   * Idempotent on (callId, destination, event): a second call returns the existing delivery unchanged.
   */
  enqueue(input: EnqueueInput): Promise<Delivery>;
  get(id: string): Promise<DeliveryWithAttempts | undefined>;
  /** Newest first. */
  list(filter?: DeliveryFilter): Promise<Delivery[]>;
  /** Every delivery of one call with its attempt history: for `GET /v1/calls/:id`. */
  listForCall(callId: string): Promise<DeliveryWithAttempts[]>;
  /**
   * Sends a delivery now. A dead letter (failed) is re-queued with a fresh run budget; a pending one waiting for its
   * next attempt becomes due now, its run going on. Throws NotFoundError, or ConflictError when it is delivered or an
   * attempt at it is in flight.
   */
  retry(id: string): Promise<Delivery>;
  /**
   * Takes due deliveries (oldest due first) within the request's room, each under a lease, and records each attempt as
   * started. An earlier attempt that never got recorded (its worker died holding the lease) is closed as interrupted.
   * A delivery waiting for its next attempt holds no lease: whoever asks once it is due gets it.
   */
  claimDue(request: ClaimRequest): Promise<ClaimedDelivery[]>;
  /**
   * Records how a claimed attempt ended and moves the delivery on. Returns undefined (changing nothing) when the lease
   * was lost and the delivery claimed again meanwhile: the newer attempt owns it.
   */
  recordAttempt(claim: ClaimedDelivery, result: AttemptResultInput): Promise<Delivery | undefined>;
  counts(): Promise<Record<DeliveryStatus, number>>;
  /**
   * Deliveries whose status the call store has not confirmed yet (enqueued, delivered, dead-lettered or re-queued since),
   * oldest first; only those of `ids` when given. Every status change bumps a delivery's version in the same write.
   */
  unsyncedFates(options: { ids?: readonly string[]; limit: number }): Promise<FateSyncRow[]>;
  /** The call store now has these versions: they are no longer listed by unsyncedFates (a newer one still is). */
  markFatesSynced(rows: readonly { id: string; version: number }[]): Promise<void>;
  /** Per destination that has deliveries or attempts: pending now, delivered and dead-lettered since `since`, its failure streak. */
  destinationHealth(since: number): Promise<DestinationHealth[]>;
  /** Failed attempts since each destination's last delivered one (cheap: read at every metrics scrape). */
  consecutiveFailures(): Promise<Map<string, number>>;
  /** Does any delivery of this call remain (pending, failed, or delivered but not yet pruned)? */
  hasDeliveries(callId: string): Promise<boolean>;
  /**
   * Deletes delivered rows (bodies hold call data) delivered before `before`; failed ones stay for replay, and so does a
   * delivered one whose status the call store has not confirmed yet.
   */
  pruneDelivered(before: number): Promise<number>;
  /** At start-up: frees claims only a dead process can have left (SQLite: all of them; PostgreSQL: none). See CallStore. */
  releaseAbandonedClaims(): Promise<number>;
  close(): Promise<void>;
}

export const newDeliveryId = (): string => `dlv_${randomBytes(12).toString("hex")}`;

export const INTERRUPTED_BY_CRASH =
  "the process stopped before this attempt was recorded; the delivery was claimed again after its lease expired";

/**
 * How many due rows to look at (and, on PostgreSQL, lock for the moment of the claim) for one claim: no more than could
 * be taken, so that other instances claiming at the same moment find the rest free. Saturated destinations are left out
 * of the read; a destination with some room left that fills up is left out of the next read (the worker claims again).
 */
export const claimWindow = (request: ClaimRequest): number => request.limit;

/** The destinations with no room left: never worth reading their rows. */
export const saturatedDestinations = (request: ClaimRequest): string[] =>
  [...request.destinations].filter(([, { room }]) => room <= 0).map(([name]) => name);

/** Picks, in order, the candidates the request has room for, each with its lease. */
export function pickClaims<T extends { destination: string }>(candidates: readonly T[], request: ClaimRequest): (T & { leaseMs: number })[] {
  const taken = new Map<string, number>();
  const picked: (T & { leaseMs: number })[] = [];
  for (const candidate of candidates) {
    if (picked.length >= request.limit) break;
    const rule = request.destinations.get(candidate.destination) ?? request.other;
    const count = taken.get(candidate.destination) ?? 0;
    if (count >= rule.room) continue;
    taken.set(candidate.destination, count + 1);
    picked.push({ ...candidate, leaseMs: rule.leaseMs });
  }
  return picked;
}

export const DELIVERY_COLUMNS =
  "id, call_id, destination, event, webhook_id, status, attempts, total_attempts, last_status, last_error, last_response, next_attempt_at, created_at, delivered_at";

/** A delivery as the call store's fate of it: what the fate sync reads. */
export interface FateSyncRow {
  id: string;
  call_id: string;
  destination: string;
  event: number;
  status: DeliveryStatus;
  last_error: string | null;
  version: number;
}

export const FATE_SYNC_COLUMNS = "id, call_id, destination, event, status, last_error, version";

/**
 * Frozen: part of outbox migration 2 on both engines. Each destination's failure streak, last error and last success,
 * from the attempts already recorded, so an upgraded outbox reports a destination that was failing as failing.
 */
export const DESTINATION_HEALTH_FROM_HISTORY = `
INSERT INTO destination_health (destination, consecutive_failures, last_error, last_status, last_error_at, last_delivered_at)
SELECT names.destination,
  (SELECT COUNT(*) FROM attempts JOIN deliveries ON deliveries.id = attempts.delivery_id
    WHERE deliveries.destination = names.destination AND attempts.outcome IN ('retry', 'failed')
      AND attempts.finished_at > COALESCE((SELECT MAX(a.finished_at) FROM attempts a JOIN deliveries d ON d.id = a.delivery_id
                                           WHERE d.destination = names.destination AND a.outcome = 'delivered'), -1)),
  (SELECT attempts.error FROM attempts JOIN deliveries ON deliveries.id = attempts.delivery_id
    WHERE deliveries.destination = names.destination AND attempts.outcome IN ('retry', 'failed') ORDER BY attempts.finished_at DESC LIMIT 1),
  (SELECT attempts.status FROM attempts JOIN deliveries ON deliveries.id = attempts.delivery_id
    WHERE deliveries.destination = names.destination AND attempts.outcome IN ('retry', 'failed') ORDER BY attempts.finished_at DESC LIMIT 1),
  (SELECT MAX(attempts.finished_at) FROM attempts JOIN deliveries ON deliveries.id = attempts.delivery_id
    WHERE deliveries.destination = names.destination AND attempts.outcome IN ('retry', 'failed')),
  (SELECT MAX(attempts.finished_at) FROM attempts JOIN deliveries ON deliveries.id = attempts.delivery_id
    WHERE deliveries.destination = names.destination AND attempts.outcome = 'delivered')
FROM (SELECT DISTINCT destination FROM deliveries) AS names;
`;

/**
 * Sends a delivery now (see DeliveryOutbox.retry): a dead letter gets a fresh run and a new version (its fate changes
 * back to pending); a waiting pending one is only made due. `:now`-style names are the engine's placeholders.
 */
export function retrySql(id: string, now: string): string {
  return `UPDATE deliveries SET
      version = CASE WHEN status = 'failed' THEN version + 1 ELSE version END,
      attempts = CASE WHEN status = 'failed' THEN 0 ELSE attempts END,
      status = 'pending', next_attempt_at = ${now}, claimed_until = NULL, updated_at = ${now}
    WHERE id = ${id} AND (status = 'failed' OR (status = 'pending' AND (claimed_until IS NULL OR claimed_until <= ${now})))`;
}

/** Counts per destination and status: pending now, delivered and dead-lettered since the window's start (`since`). */
export function healthCountsSql(since: string): string {
  return `SELECT destination, status, COUNT(*) AS n FROM deliveries WHERE status = 'pending' GROUP BY destination, status
    UNION ALL
    SELECT destination, status, COUNT(*) AS n FROM deliveries WHERE status IN ('delivered', 'failed') AND updated_at >= ${since}
    GROUP BY destination, status`;
}

export interface HealthRow {
  destination: string;
  consecutive_failures: number;
  last_error: string | null;
  last_error_at: number | null;
  last_delivered_at: number | null;
}

/** One entry per destination seen in either result. */
export function combineHealth(counts: readonly { destination: string; status: DeliveryStatus; n: number }[], health: readonly HealthRow[]): DestinationHealth[] {
  const names = [...new Set([...health.map((row) => row.destination), ...counts.map((row) => row.destination)])].sort();
  return names.map((destination) => {
    const row = health.find((entry) => entry.destination === destination);
    const count = (status: DeliveryStatus) => Number(counts.find((entry) => entry.destination === destination && entry.status === status)?.n ?? 0);
    return {
      destination,
      pending: count("pending"),
      delivered: count("delivered"),
      failed: count("failed"),
      consecutive_failures: row?.consecutive_failures ?? 0,
      last_error: row?.last_error ?? null,
      last_error_at: row?.last_error_at ?? null,
      last_delivered_at: row?.last_delivered_at ?? null,
    };
  });
}

/** A `deliveries` row as both engines return it (times in ms since the epoch). */
export interface DeliveryRow {
  id: string;
  call_id: string;
  destination: string;
  event: number;
  webhook_id: string;
  status: DeliveryStatus;
  attempts: number;
  total_attempts: number;
  last_status: number | null;
  last_error: string | null;
  last_response: string | null;
  next_attempt_at: number | null;
  created_at: number;
  delivered_at: number | null;
}

export interface ClaimRow {
  id: string;
  call_id: string;
  destination: string;
  webhook_id: string;
  body: string;
  attempts: number;
  total_attempts: number;
  claimed_until: number;
}

export interface AttemptRow {
  delivery_id: string;
  attempt: number;
  started_at: number;
  finished_at: number | null;
  status: number | null;
  latency_ms: number | null;
  outcome: AttemptOutcome | null;
  error: string | null;
  response_snippet: string | null;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function toDelivery(row: DeliveryRow): Delivery {
  return {
    id: row.id,
    call_id: row.call_id,
    destination: row.destination,
    event: row.event,
    status: row.status,
    attempts: row.total_attempts,
    run_attempts: row.attempts,
    last_status: row.last_status,
    next_attempt_at: iso(row.next_attempt_at),
    created_at: iso(row.created_at)!,
    delivered_at: iso(row.delivered_at),
    last_error: row.last_error,
    last_response: row.last_response,
    webhook_id: row.webhook_id,
  };
}

export function toAttempt(row: AttemptRow): AttemptRecord {
  return {
    attempt: row.attempt,
    started_at: iso(row.started_at)!,
    finished_at: iso(row.finished_at),
    status: row.status,
    latency_ms: row.latency_ms,
    outcome: row.outcome,
    error: row.error,
    response_snippet: row.response_snippet,
  };
}

export function toClaimed(row: ClaimRow): ClaimedDelivery {
  return {
    id: row.id,
    callId: row.call_id,
    destination: row.destination,
    webhookId: row.webhook_id,
    body: row.body,
    attempt: row.total_attempts,
    runAttempt: row.attempts,
    claimedUntil: row.claimed_until,
  };
}

/** Each delivery of a call with its own attempts, from the two result sets. */
export function withAttempts(rows: readonly DeliveryRow[], attempts: readonly AttemptRow[]): DeliveryWithAttempts[] {
  return rows.map((row) => ({
    ...toDelivery(row),
    attempt_history: attempts.filter((attempt) => attempt.delivery_id === row.id).map(toAttempt),
  }));
}

/**
 * The body to send, already rendered by the destination's transform: `body` when it is serialised already (rendered on
 * the worker pool), else `payload`, serialised at enqueue. Enqueueing is idempotent on (call, destination, event);
 * `event` numbers the times the call was routed (default 1, its first extraction).
 */
export type EnqueueInput = { callId: string; destination: string; event?: number } & ({ payload: unknown } | { body: string });

/** The exact JSON bytes an enqueue stores. */
export function serializeBody(input: EnqueueInput): string {
  if ("body" in input) return input.body;
  const body = JSON.stringify(input.payload);
  if (body === undefined) throw new TypeError("a delivery payload must be JSON-serialisable");
  return body;
}

export function emptyDeliveryCounts(): Record<DeliveryStatus, number> {
  return { pending: 0, delivered: 0, failed: 0 };
}

/** What `retry` answers once its update ran: the delivery, or why it could not be sent now. */
export function retried(id: string, changed: boolean, delivery: DeliveryWithAttempts | undefined): Delivery {
  if (!delivery) throw new NotFoundError(`No delivery with id "${id}".`);
  if (!changed && delivery.status === "pending") {
    throw new ConflictError(`Delivery "${id}" has an attempt in flight right now; its outcome is recorded when it ends.`, [
      { path: "status", message: "is pending, with an attempt in flight" },
    ]);
  }
  if (!changed) {
    throw new ConflictError(`Delivery "${id}" is ${delivery.status}; only pending and failed deliveries can be sent again.`, [
      { path: "status", message: `is ${delivery.status}` },
    ]);
  }
  const { attempt_history: _history, ...plain } = delivery;
  return plain;
}
