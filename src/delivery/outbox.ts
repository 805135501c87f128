// The durable outbox: every delivery and its next attempt time live in SQLite, so a crash loses nothing.
import { randomBytes } from "node:crypto";
import Database from "better-sqlite3";
import { ConflictError, NotFoundError } from "./errors.js";
import { openDatabase } from "../sqlite.js";
import { OUTBOX_MIGRATIONS } from "./outbox-schema.js";
import { webhookIdFor } from "./signing.js";
import type { AttemptOutcome, AttemptRecord, Delivery, DeliveryFilter, DeliveryStatus, DeliveryWithAttempts } from "./types.js";

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

interface DeliveryRow {
  id: string;
  call_id: string;
  destination: string;
  webhook_id: string;
  status: DeliveryStatus;
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  last_response: string | null;
  next_attempt_at: number | null;
  created_at: number;
  delivered_at: number | null;
}

interface ClaimRow {
  id: string;
  call_id: string;
  destination: string;
  webhook_id: string;
  body: string;
  attempts: number;
  total_attempts: number;
  claimed_until: number;
}

interface AttemptRow {
  delivery_id: string;
  attempt: number;
  started_at: number;
  finished_at: number | null;
  status: number | null;
  latency_ms: number | null;
  outcome: AttemptOutcome | null;
  error: string | null;
}

const DELIVERY_COLUMNS =
  "id, call_id, destination, webhook_id, status, attempts, last_status, last_error, last_response, next_attempt_at, created_at, delivered_at";

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

function toDelivery(row: DeliveryRow): Delivery {
  return {
    id: row.id,
    call_id: row.call_id,
    destination: row.destination,
    status: row.status,
    attempts: row.attempts,
    last_status: row.last_status,
    next_attempt_at: iso(row.next_attempt_at),
    created_at: iso(row.created_at)!,
    delivered_at: iso(row.delivered_at),
    last_error: row.last_error,
    last_response: row.last_response,
    webhook_id: row.webhook_id,
  };
}

function toAttempt(row: AttemptRow): AttemptRecord {
  return {
    attempt: row.attempt,
    started_at: iso(row.started_at)!,
    finished_at: iso(row.finished_at),
    status: row.status,
    latency_ms: row.latency_ms,
    outcome: row.outcome,
    error: row.error,
  };
}

const INTERRUPTED_BY_CRASH = "the process stopped before this attempt was recorded; the delivery was claimed again after its lease expired";

export class DeliveryOutbox {
  readonly now: () => number;
  private readonly db: Database.Database;
  /** The worker's bookkeeping (claims, attempt outcomes): a second connection to the same file, synchronous=NORMAL. */
  private readonly bookkeeping: Database.Database;
  private readonly statements = new Map<Database.Database, Map<string, Database.Statement>>();

  private constructor(db: Database.Database, bookkeeping: Database.Database, clock: () => number) {
    this.db = db;
    this.bookkeeping = bookkeeping;
    this.now = clock;
  }

  /**
   * Opens (creating if needed) the outbox file. WAL; enqueueing and replays commit with synchronous=FULL, so an
   * accepted delivery survives power loss as well as SIGKILL. Claims and attempt outcomes commit with NORMAL, without
   * an fsync on the event loop for each: a power cut may undo the last of them, and the delivery is then claimed and
   * sent again (at least once, with the same webhook-id), never lost.
   */
  static open(file: string, clock: () => number = Date.now): DeliveryOutbox {
    const db = openDatabase(file, { synchronous: "FULL", migrations: OUTBOX_MIGRATIONS });
    const bookkeeping = openDatabase(file, { synchronous: "NORMAL", migrations: OUTBOX_MIGRATIONS });
    return new DeliveryOutbox(db, bookkeeping, clock);
  }

  /**
   * Stores the body to send (already rendered by the destination's transform) as exact JSON bytes: `body` when it is
   * serialised already, else `payload` serialised here. Idempotent on (callId, destination): a second call returns
   * the existing row unchanged.
   */
  enqueue(input: { callId: string; destination: string } & ({ payload: unknown } | { body: string })): Delivery {
    const body = "body" in input ? input.body : JSON.stringify(input.payload);
    if (body === undefined) throw new TypeError("a delivery payload must be JSON-serialisable");
    const now = this.now();
    this.sql(
      `INSERT INTO deliveries (id, call_id, destination, webhook_id, body, status, next_attempt_at, created_at, updated_at)
       VALUES (@id, @callId, @destination, @webhookId, @body, 'pending', @now, @now, @now)
       ON CONFLICT (call_id, destination) DO NOTHING`,
    ).run({
      id: `dlv_${randomBytes(12).toString("hex")}`,
      callId: input.callId,
      destination: input.destination,
      webhookId: webhookIdFor(input.callId, input.destination),
      body,
      now,
    });
    const row = this.sql(`SELECT ${DELIVERY_COLUMNS} FROM deliveries WHERE call_id = ? AND destination = ?`).get(input.callId, input.destination);
    return toDelivery(row as DeliveryRow);
  }

  get(id: string): DeliveryWithAttempts | undefined {
    const row = this.sql(`SELECT ${DELIVERY_COLUMNS} FROM deliveries WHERE id = ?`).get(id) as DeliveryRow | undefined;
    if (!row) return undefined;
    const attempts = this.sql("SELECT * FROM attempts WHERE delivery_id = ? ORDER BY attempt").all(id) as AttemptRow[];
    return { ...toDelivery(row), attempt_history: attempts.map(toAttempt) };
  }

  /** Newest first. */
  list(filter: DeliveryFilter = {}): Delivery[] {
    const limit = Math.min(Math.max(1, filter.limit ?? DEFAULT_LIST_LIMIT), MAX_LIST_LIMIT);
    const rows = this.sql(
      `SELECT ${DELIVERY_COLUMNS} FROM deliveries
       WHERE (@status IS NULL OR status = @status)
         AND (@destination IS NULL OR destination = @destination)
         AND (@callId IS NULL OR call_id = @callId)
       ORDER BY seq DESC LIMIT @limit`,
    ).all({ status: filter.status ?? null, destination: filter.destination ?? null, callId: filter.callId ?? null, limit });
    return (rows as DeliveryRow[]).map(toDelivery);
  }

  /** Every delivery of one call with its attempt history: for `GET /v1/calls/:id`. */
  listForCall(callId: string): DeliveryWithAttempts[] {
    const rows = this.sql(`SELECT ${DELIVERY_COLUMNS} FROM deliveries WHERE call_id = ? ORDER BY seq`).all(callId) as DeliveryRow[];
    const attempts = this.sql(
      `SELECT attempts.* FROM attempts JOIN deliveries ON deliveries.id = attempts.delivery_id
       WHERE deliveries.call_id = ? ORDER BY attempts.delivery_id, attempts.attempt`,
    ).all(callId) as AttemptRow[];
    return rows.map((row) => ({
      ...toDelivery(row),
      attempt_history: attempts.filter((attempt) => attempt.delivery_id === row.id).map(toAttempt),
    }));
  }

  /** Replays a dead-lettered delivery now with a fresh attempt budget. Throws NotFoundError / ConflictError. */
  retry(id: string): Delivery {
    const now = this.now();
    const changed = this.sql(
      `UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = @now, claimed_until = NULL, updated_at = @now
       WHERE id = @id AND status = 'failed'`,
    ).run({ id, now }).changes;
    const delivery = this.get(id);
    if (!delivery) throw new NotFoundError(`No delivery with id "${id}".`);
    if (changed === 0) {
      throw new ConflictError(`Delivery "${id}" is ${delivery.status}; only failed deliveries can be retried.`, [
        { path: "status", message: `is ${delivery.status}` },
      ]);
    }
    const { attempt_history: _history, ...plain } = delivery;
    return plain;
  }

  /** Deliveries due now whose lease (if any) has expired, oldest due first. */
  findDue(options: { limit: number; excludeDestinations?: readonly string[]; excludeIds?: readonly string[] }): { id: string; destination: string }[] {
    const rows = this.sql(
      `SELECT id, destination FROM deliveries
       WHERE status = 'pending' AND next_attempt_at <= @now
         AND (claimed_until IS NULL OR claimed_until <= @now)
         AND destination NOT IN (SELECT value FROM json_each(@excludeDestinations))
         AND id NOT IN (SELECT value FROM json_each(@excludeIds))
       ORDER BY next_attempt_at, seq LIMIT @limit`,
    ).all({
      now: this.now(),
      limit: options.limit,
      excludeDestinations: JSON.stringify(options.excludeDestinations ?? []),
      excludeIds: JSON.stringify(options.excludeIds ?? []),
    });
    return rows as { id: string; destination: string }[];
  }

  /**
   * Frees the claims of pending deliveries. Each data dir belongs to one process, so a claim found at start-up was left
   * by a process that died mid-attempt: the delivery is retried at once (the next claim records that attempt as
   * interrupted) rather than when its lease would have run out.
   */
  releaseClaims(): number {
    return this.sql("UPDATE deliveries SET claimed_until = NULL WHERE status = 'pending' AND claimed_until IS NOT NULL", this.bookkeeping).run().changes;
  }

  /**
   * Takes a lease on a due delivery and records the attempt as started, in one transaction. Returns
   * undefined if it is no longer due or someone else holds it. An earlier attempt that never got
   * recorded (the process died holding the lease) is closed as interrupted here.
   */
  claim(id: string, leaseMs: number): ClaimedDelivery | undefined {
    const now = this.now();
    return this.bookkeeping.transaction((): ClaimedDelivery | undefined => {
      const row = this.sql(
        `UPDATE deliveries SET claimed_until = @until, attempts = attempts + 1, total_attempts = total_attempts + 1, updated_at = @now
         WHERE id = @id AND status = 'pending' AND next_attempt_at <= @now AND (claimed_until IS NULL OR claimed_until <= @now)
         RETURNING id, call_id, destination, webhook_id, body, attempts, total_attempts, claimed_until`,
        this.bookkeeping,
      ).get({ id, now, until: now + leaseMs }) as ClaimRow | undefined;
      if (!row) return undefined;
      this.sql(
        "UPDATE attempts SET finished_at = @now, outcome = 'interrupted', error = @error WHERE delivery_id = @id AND finished_at IS NULL",
        this.bookkeeping,
      ).run({ id, now, error: INTERRUPTED_BY_CRASH });
      this.sql("INSERT INTO attempts (delivery_id, attempt, started_at) VALUES (?, ?, ?)", this.bookkeeping).run(id, row.total_attempts, now);
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
    })();
  }

  /**
   * Records how a claimed attempt ended and moves the delivery on. Returns undefined (changing nothing)
   * when the lease was lost and the delivery claimed again meanwhile: the newer attempt owns it.
   */
  recordAttempt(claim: ClaimedDelivery, result: AttemptResultInput): Delivery | undefined {
    const now = this.now();
    return this.bookkeeping.transaction((): Delivery | undefined => {
      const closed = this.sql(
        `UPDATE attempts SET finished_at = @now, status = @status, latency_ms = @latencyMs, outcome = @outcome, error = @error, response_snippet = @snippet
         WHERE delivery_id = @id AND attempt = @attempt AND finished_at IS NULL`,
        this.bookkeeping,
      ).run({
        now,
        id: claim.id,
        attempt: claim.attempt,
        status: result.status,
        latencyMs: Math.round(result.latencyMs),
        outcome: result.outcome,
        error: result.error,
        snippet: result.responseSnippet,
      }).changes;
      if (closed === 0) return undefined;
      const params = { id: claim.id, attempt: claim.attempt, now, status: result.status, error: result.error, snippet: result.responseSnippet };
      const where = "WHERE id = @id AND total_attempts = @attempt AND status = 'pending'";
      switch (result.outcome) {
        case "delivered":
          this.sql(
            `UPDATE deliveries SET status = 'delivered', delivered_at = @now, next_attempt_at = NULL, claimed_until = NULL,
             last_status = @status, last_error = NULL, last_response = @snippet, updated_at = @now ${where}`,
            this.bookkeeping,
          ).run(params);
          break;
        case "retry":
          if (result.nextAttemptAt === undefined) throw new Error("a retry needs nextAttemptAt");
          this.sql(
            `UPDATE deliveries SET next_attempt_at = @next, claimed_until = NULL,
             last_status = @status, last_error = @error, last_response = @snippet, updated_at = @now ${where}`,
            this.bookkeeping,
          ).run({ ...params, next: result.nextAttemptAt });
          break;
        case "failed":
          this.sql(
            `UPDATE deliveries SET status = 'failed', next_attempt_at = NULL, claimed_until = NULL,
             last_status = @status, last_error = @error, last_response = @snippet, updated_at = @now ${where}`,
            this.bookkeeping,
          ).run(params);
          break;
        case "interrupted":
          // Shutdown cut the attempt short: due again at once, and it does not use up the retry budget.
          this.sql(
            `UPDATE deliveries SET next_attempt_at = @now, claimed_until = NULL, attempts = MAX(attempts - 1, 0), updated_at = @now ${where}`,
            this.bookkeeping,
          ).run({ id: claim.id, attempt: claim.attempt, now });
          break;
      }
      return toDelivery(this.sql(`SELECT ${DELIVERY_COLUMNS} FROM deliveries WHERE id = ?`, this.bookkeeping).get(claim.id) as DeliveryRow);
    })();
  }

  counts(): Record<DeliveryStatus, number> {
    const counts: Record<DeliveryStatus, number> = { pending: 0, delivered: 0, failed: 0 };
    const rows = this.sql("SELECT status, COUNT(*) AS n FROM deliveries GROUP BY status").all() as { status: DeliveryStatus; n: number }[];
    for (const row of rows) counts[row.status] = row.n;
    return counts;
  }

  /** Does any delivery of this call remain (pending, failed, or delivered but not yet pruned)? */
  hasDeliveries(callId: string): boolean {
    return this.sql("SELECT 1 FROM deliveries WHERE call_id = ? LIMIT 1").get(callId) !== undefined;
  }

  /** Deletes delivered rows (bodies hold call data) delivered before `before`; failed ones stay for replay. */
  pruneDelivered(before: number): number {
    return this.sql("DELETE FROM deliveries WHERE status = 'delivered' AND delivered_at < ?").run(before).changes;
  }

  /** Prepared once per distinct SQL text and connection (the FULL one unless told): claim and record run on every attempt. */
  private sql(source: string, db: Database.Database = this.db): Database.Statement {
    let prepared = this.statements.get(db);
    if (!prepared) this.statements.set(db, (prepared = new Map()));
    let statement = prepared.get(source);
    if (!statement) prepared.set(source, (statement = db.prepare(source)));
    return statement;
  }

  close(): void {
    if (this.bookkeeping.open) this.bookkeeping.close();
    if (this.db.open) this.db.close();
  }
}
