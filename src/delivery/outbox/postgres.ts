// The outbox on PostgreSQL, shared by every instance: due deliveries are claimed with FOR UPDATE SKIP LOCKED under a
// lease, so any instance sends any delivery, none sends one another holds, and one killed mid-attempt is taken over.
import type pg from "pg";
import { restoredRow, storableOrNull } from "../../db/postgres.js";
import {
  claimWindow,
  combineHealth,
  DEFAULT_LIST_LIMIT,
  DELIVERY_COLUMNS,
  emptyDeliveryCounts,
  FATE_SYNC_COLUMNS,
  healthCountsSql,
  INTERRUPTED_BY_CRASH,
  MAX_LIST_LIMIT,
  newDeliveryId,
  pickClaims,
  retried,
  retrySql,
  saturatedDestinations,
  serializeBody,
  toClaimed,
  toDelivery,
  withAttempts,
  type AttemptResultInput,
  type AttemptRow,
  type ClaimedDelivery,
  type ClaimRequest,
  type ClaimRow,
  type DeliveryOutbox,
  type DeliveryRow,
  type EnqueueInput,
  type FateSyncRow,
  type HealthRow,
} from "./port.js";
import { webhookIdFor } from "../signing.js";
import type { AttemptOutcome, Delivery, DeliveryFilter, DeliveryStatus, DeliveryWithAttempts, DestinationHealth } from "../types.js";

/** The schema this adapter reads and writes: whoever opens the pool applies it (see openPostgres). */
export { OUTBOX_POSTGRES_MIGRATIONS } from "./migrations/postgres.js";

/**
 * Rows given back as they were sent: a receiver's response, or an error quoting it, may hold NUL, which PostgreSQL
 * cannot store; it is stored through storable() (db/postgres.ts) and restored here.
 */
const deliveryRow = (row: DeliveryRow): DeliveryRow => restoredRow(row, { text: ["last_error", "last_response"] });
const attemptRow = (row: AttemptRow): AttemptRow => restoredRow(row, { text: ["error", "response_snippet"] });
const delivery = (row: DeliveryRow): Delivery => toDelivery(deliveryRow(row));

/** How each outcome moves the delivery on ($1 id, $2 attempt, $3 now, $4 status, $5 error, $6 snippet; params: the next attempt). */
const MOVE: Record<AttemptOutcome, string> = {
  delivered: `status = 'delivered', delivered_at = $3, next_attempt_at = NULL, claimed_until = NULL, version = version + 1,
              last_status = $4, last_error = NULL, last_response = $6, updated_at = $3`,
  retry: `next_attempt_at = (SELECT next_attempt_at FROM params), claimed_until = NULL, last_status = $4, last_error = $5, last_response = $6, updated_at = $3`,
  failed: `status = 'failed', next_attempt_at = NULL, claimed_until = NULL, version = version + 1,
           last_status = $4, last_error = $5, last_response = $6, updated_at = $3`,
  // Shutdown cut the attempt short: due again at once, and it does not use up the retry budget.
  interrupted: `next_attempt_at = $3, claimed_until = NULL, attempts = GREATEST(attempts - 1, 0), updated_at = $3`,
};

/** How each outcome moves the destination's failure streak (a CTE after `moved`; an interrupted attempt leaves it alone). */
const HEALTH_DELIVERED = `, health AS (
  INSERT INTO destination_health (destination, consecutive_failures, last_delivered_at) SELECT destination, 0, $3 FROM moved
  ON CONFLICT (destination) DO UPDATE SET consecutive_failures = 0, last_delivered_at = excluded.last_delivered_at)`;
const HEALTH_FAILED = `, health AS (
  INSERT INTO destination_health (destination, consecutive_failures, last_error, last_status, last_error_at) SELECT destination, 1, $5, $4, $3 FROM moved
  ON CONFLICT (destination) DO UPDATE SET consecutive_failures = destination_health.consecutive_failures + 1,
    last_error = excluded.last_error, last_status = excluded.last_status, last_error_at = excluded.last_error_at)`;
const HEALTH: Record<AttemptOutcome, string> = { delivered: HEALTH_DELIVERED, retry: HEALTH_FAILED, failed: HEALTH_FAILED, interrupted: "" };

export class PostgresOutbox implements DeliveryOutbox {
  readonly engine = "postgres";
  readonly now: () => number;
  readonly #pool: pg.Pool;

  /** The pool belongs to whoever opened it (see openPostgres), which also applied OUTBOX_POSTGRES_MIGRATIONS. */
  constructor(pool: pg.Pool, clock: () => number = Date.now) {
    this.#pool = pool;
    this.now = clock;
  }

  async enqueue(input: EnqueueInput): Promise<Delivery> {
    const body = serializeBody(input);
    const now = this.now();
    const event = input.event ?? 1;
    const inserted = await this.#pool.query<DeliveryRow>(
      `INSERT INTO deliveries (id, call_id, destination, event, webhook_id, body, status, next_attempt_at, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $7, $7) ON CONFLICT (call_id, destination, event) DO NOTHING RETURNING ${DELIVERY_COLUMNS}`,
      [newDeliveryId(), input.callId, input.destination, event, webhookIdFor(input.callId, input.destination, event), body, now],
    );
    if (inserted.rows[0]) return delivery(inserted.rows[0]);
    const existing = await this.#pool.query<DeliveryRow>(
      `SELECT ${DELIVERY_COLUMNS} FROM deliveries WHERE call_id = $1 AND destination = $2 AND event = $3`,
      [input.callId, input.destination, event],
    );
    return delivery(existing.rows[0]!);
  }

  async get(id: string): Promise<DeliveryWithAttempts | undefined> {
    const [deliveries, attempts] = await Promise.all([
      this.#pool.query<DeliveryRow>(`SELECT ${DELIVERY_COLUMNS} FROM deliveries WHERE id = $1`, [id]),
      this.#pool.query<AttemptRow>("SELECT * FROM attempts WHERE delivery_id = $1 ORDER BY attempt", [id]),
    ]);
    return withAttempts(deliveries.rows.map(deliveryRow), attempts.rows.map(attemptRow))[0];
  }

  async list(filter: DeliveryFilter = {}): Promise<Delivery[]> {
    const limit = Math.min(Math.max(1, filter.limit ?? DEFAULT_LIST_LIMIT), MAX_LIST_LIMIT);
    const { rows } = await this.#pool.query<DeliveryRow>(
      `SELECT ${DELIVERY_COLUMNS} FROM deliveries
       WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR destination = $2) AND ($3::text IS NULL OR call_id = $3)
       ORDER BY seq DESC LIMIT $4`,
      [filter.status ?? null, filter.destination ?? null, filter.callId ?? null, limit],
    );
    return rows.map(delivery);
  }

  async listForCall(callId: string): Promise<DeliveryWithAttempts[]> {
    const [deliveries, attempts] = await Promise.all([
      this.#pool.query<DeliveryRow>(`SELECT ${DELIVERY_COLUMNS} FROM deliveries WHERE call_id = $1 ORDER BY seq`, [callId]),
      this.#pool.query<AttemptRow>(
        `SELECT attempts.* FROM attempts JOIN deliveries ON deliveries.id = attempts.delivery_id
         WHERE deliveries.call_id = $1 ORDER BY attempts.delivery_id, attempts.attempt`,
        [callId],
      ),
    ]);
    return withAttempts(deliveries.rows.map(deliveryRow), attempts.rows.map(attemptRow));
  }

  async retry(id: string): Promise<Delivery> {
    const now = this.now();
    const changed = await this.#pool.query(retrySql("$1", "$2"), [id, now]);
    return retried(id, changed.rowCount === 1, await this.get(id));
  }

  /** Never frees anything: a claim here may belong to a live instance; it is handed over when its lease runs out. */
  async releaseAbandonedClaims(): Promise<number> {
    return 0;
  }

  /**
   * Locks a window of due rows that no other instance is locking (SKIP LOCKED), picks those the request has room for,
   * and claims them in one statement that also closes any attempt a dead worker left open and starts the new one.
   * Rows looked at but not picked are unlocked at commit, untouched.
   */
  async claimDue(request: ClaimRequest): Promise<ClaimedDelivery[]> {
    const now = this.now();
    const client = await this.#pool.connect();
    try {
      await client.query("BEGIN");
      const candidates = await client.query<{ id: string; destination: string }>(
        `SELECT id, destination FROM deliveries
         WHERE status = 'pending' AND next_attempt_at <= $1 AND (claimed_until IS NULL OR claimed_until <= $1)
           AND destination <> ALL($2::text[]) AND id <> ALL($3::text[])
         ORDER BY next_attempt_at, seq LIMIT $4 FOR UPDATE SKIP LOCKED`,
        [now, saturatedDestinations(request), request.excludeIds ?? [], claimWindow(request)],
      );
      const picked = pickClaims(candidates.rows, request);
      if (picked.length === 0) {
        await client.query("COMMIT");
        return [];
      }
      const claimed = await client.query<ClaimRow>(
        `WITH picked AS (SELECT * FROM unnest($1::text[], $2::bigint[]) AS p(id, lease_ms)),
         claimed AS (
           UPDATE deliveries SET claimed_until = $3::bigint + picked.lease_ms, attempts = attempts + 1,
             total_attempts = total_attempts + 1, updated_at = $3
           FROM picked WHERE deliveries.id = picked.id
           RETURNING deliveries.id, call_id, destination, webhook_id, body, attempts, total_attempts, claimed_until),
         interrupted AS (
           UPDATE attempts SET finished_at = $3, outcome = 'interrupted', error = $4
           WHERE delivery_id IN (SELECT id FROM claimed) AND finished_at IS NULL),
         started AS (INSERT INTO attempts (delivery_id, attempt, started_at) SELECT id, total_attempts, $3 FROM claimed)
         SELECT * FROM claimed`,
        [picked.map((p) => p.id), picked.map((p) => p.leaseMs), now, INTERRUPTED_BY_CRASH],
      );
      await client.query("COMMIT");
      const order = new Map(picked.map((p, index) => [p.id, index]));
      return claimed.rows.sort((a, b) => order.get(a.id)! - order.get(b.id)!).map(toClaimed);
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /**
   * One statement: close the attempt if it is still ours (open, and the delivery not claimed again since), then move
   * the delivery on. Nothing closed means the lease was lost: undefined, and nothing changes.
   */
  async recordAttempt(claim: ClaimedDelivery, result: AttemptResultInput): Promise<Delivery | undefined> {
    if (result.outcome === "retry" && result.nextAttemptAt === undefined) throw new Error("a retry needs nextAttemptAt");
    const { rows } = await this.#pool.query<DeliveryRow>(
      `WITH params AS (SELECT $7::bigint AS next_attempt_at),
       closed AS (
         UPDATE attempts SET finished_at = $3, status = $4, latency_ms = $8, outcome = $9, error = $5, response_snippet = $6
         WHERE delivery_id = $1 AND attempt = $2 AND finished_at IS NULL RETURNING delivery_id),
       moved AS (
         UPDATE deliveries SET ${MOVE[result.outcome]}
         WHERE id = $1 AND total_attempts = $2 AND status = 'pending' AND EXISTS (SELECT 1 FROM closed)
         RETURNING ${DELIVERY_COLUMNS})${HEALTH[result.outcome]}
       SELECT * FROM moved
       UNION ALL
       SELECT ${DELIVERY_COLUMNS} FROM deliveries WHERE id = $1 AND EXISTS (SELECT 1 FROM closed) AND NOT EXISTS (SELECT 1 FROM moved)`,
      [
        claim.id,
        claim.attempt,
        this.now(),
        result.status,
        storableOrNull(result.error),
        storableOrNull(result.responseSnippet),
        result.nextAttemptAt ?? null,
        Math.round(result.latencyMs),
        result.outcome,
      ],
    );
    return rows[0] ? delivery(rows[0]) : undefined;
  }

  async counts(): Promise<Record<DeliveryStatus, number>> {
    const counts = emptyDeliveryCounts();
    const { rows } = await this.#pool.query<{ status: DeliveryStatus; n: number }>("SELECT status, COUNT(*) AS n FROM deliveries GROUP BY status");
    for (const row of rows) counts[row.status] = row.n;
    return counts;
  }

  async unsyncedFates(options: { ids?: readonly string[]; limit: number }): Promise<FateSyncRow[]> {
    const only = options.ids === undefined ? "" : "AND id = ANY($2)";
    const { rows } = await this.#pool.query<FateSyncRow>(
      `SELECT ${FATE_SYNC_COLUMNS} FROM deliveries WHERE fate_version < version ${only} ORDER BY seq LIMIT $1`,
      options.ids === undefined ? [options.limit] : [options.limit, options.ids],
    );
    return rows.map((row) => restoredRow(row, { text: ["last_error"] }));
  }

  async markFatesSynced(rows: readonly { id: string; version: number }[]): Promise<void> {
    if (rows.length === 0) return;
    // One row per id (an UPDATE … FROM applies only one of several matches): the newest version.
    const newest = new Map<string, number>();
    for (const row of rows) newest.set(row.id, Math.max(row.version, newest.get(row.id) ?? 0));
    rows = [...newest].map(([id, version]) => ({ id, version }));
    await this.#pool.query(
      `UPDATE deliveries SET fate_version = GREATEST(fate_version, v.version) FROM unnest($1::text[], $2::int[]) AS v(id, version)
       WHERE deliveries.id = v.id`,
      [rows.map((row) => row.id), rows.map((row) => row.version)],
    );
  }

  async destinationHealth(since: number): Promise<DestinationHealth[]> {
    const [counts, health] = await Promise.all([
      this.#pool.query<{ destination: string; status: DeliveryStatus; n: number }>(healthCountsSql("$1"), [since]),
      this.#pool.query<HealthRow>("SELECT * FROM destination_health"),
    ]);
    return combineHealth(counts.rows, health.rows.map((row) => restoredRow(row, { text: ["last_error"] })));
  }

  async consecutiveFailures(): Promise<Map<string, number>> {
    const { rows } = await this.#pool.query<Pick<HealthRow, "destination" | "consecutive_failures">>(
      "SELECT destination, consecutive_failures FROM destination_health",
    );
    return new Map(rows.map((row) => [row.destination, row.consecutive_failures]));
  }

  async hasDeliveries(callId: string): Promise<boolean> {
    return (await this.#pool.query("SELECT 1 FROM deliveries WHERE call_id = $1 LIMIT 1", [callId])).rowCount === 1;
  }

  async pruneDelivered(before: number): Promise<number> {
    return (await this.#pool.query("DELETE FROM deliveries WHERE status = 'delivered' AND delivered_at < $1 AND fate_version >= version", [before])).rowCount ?? 0;
  }

  /** Nothing to close: the pool is its opener's. */
  async close(): Promise<void> {}
}
