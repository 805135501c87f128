// The outbox on SQLite (`outbox.sqlite`): the embedded default, for one process and its own data dir.
import type Database from "better-sqlite3";
import { SqliteConnections, type Statement } from "../../db/sqlite.js";
import { OUTBOX_MIGRATIONS } from "./migrations/sqlite.js";
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
import type { Delivery, DeliveryFilter, DeliveryStatus, DeliveryWithAttempts, DestinationHealth } from "../types.js";

export class SqliteOutbox implements DeliveryOutbox {
  readonly engine = "sqlite";
  readonly now: () => number;
  readonly #connections: SqliteConnections;
  /** Enqueueing and replays commit here, with synchronous=FULL: an accepted delivery survives power loss as well as SIGKILL. */
  readonly #db: Database.Database;
  /**
   * Claims and attempt outcomes commit here, with NORMAL: a power cut may undo the last of them, and the delivery is
   * then claimed and sent again (at least once, with the same webhook-id), never lost.
   */
  readonly #bookkeeping: Database.Database;

  private constructor(connections: SqliteConnections, clock: () => number) {
    this.#connections = connections;
    this.#db = connections.durable;
    this.#bookkeeping = connections.bookkeeping;
    this.now = clock;
  }

  /** Opens (creating and migrating if needed) the outbox file. */
  static open(file: string, clock: () => number = Date.now): SqliteOutbox {
    return new SqliteOutbox(SqliteConnections.open(file, OUTBOX_MIGRATIONS), clock);
  }

  async enqueue(input: EnqueueInput): Promise<Delivery> {
    const body = serializeBody(input);
    const now = this.now();
    const event = input.event ?? 1;
    this.#sql(
      `INSERT INTO deliveries (id, call_id, destination, event, webhook_id, body, status, next_attempt_at, created_at, updated_at)
       VALUES (@id, @callId, @destination, @event, @webhookId, @body, 'pending', @now, @now, @now)
       ON CONFLICT (call_id, destination, event) DO NOTHING`,
    ).run({
      id: newDeliveryId(),
      callId: input.callId,
      destination: input.destination,
      event,
      webhookId: webhookIdFor(input.callId, input.destination, event),
      body,
      now,
    });
    const row = this.#sql<DeliveryRow>(`SELECT ${DELIVERY_COLUMNS} FROM deliveries WHERE call_id = ? AND destination = ? AND event = ?`).get(
      input.callId,
      input.destination,
      event,
    );
    return toDelivery(row!);
  }

  async get(id: string): Promise<DeliveryWithAttempts | undefined> {
    return this.#get(id);
  }

  #get(id: string): DeliveryWithAttempts | undefined {
    const row = this.#sql<DeliveryRow>(`SELECT ${DELIVERY_COLUMNS} FROM deliveries WHERE id = ?`).get(id);
    if (!row) return undefined;
    const attempts = this.#sql<AttemptRow>("SELECT * FROM attempts WHERE delivery_id = ? ORDER BY attempt").all(id);
    return withAttempts([row], attempts)[0];
  }

  async list(filter: DeliveryFilter = {}): Promise<Delivery[]> {
    const limit = Math.min(Math.max(1, filter.limit ?? DEFAULT_LIST_LIMIT), MAX_LIST_LIMIT);
    const rows = this.#sql<DeliveryRow>(
      `SELECT ${DELIVERY_COLUMNS} FROM deliveries
       WHERE (@status IS NULL OR status = @status)
         AND (@destination IS NULL OR destination = @destination)
         AND (@callId IS NULL OR call_id = @callId)
       ORDER BY seq DESC LIMIT @limit`,
    ).all({ status: filter.status ?? null, destination: filter.destination ?? null, callId: filter.callId ?? null, limit });
    return rows.map(toDelivery);
  }

  async listForCall(callId: string): Promise<DeliveryWithAttempts[]> {
    const rows = this.#sql<DeliveryRow>(`SELECT ${DELIVERY_COLUMNS} FROM deliveries WHERE call_id = ? ORDER BY seq`).all(callId);
    const attempts = this.#sql<AttemptRow>(
      `SELECT attempts.* FROM attempts JOIN deliveries ON deliveries.id = attempts.delivery_id
       WHERE deliveries.call_id = ? ORDER BY attempts.delivery_id, attempts.attempt`,
    ).all(callId);
    return withAttempts(rows, attempts);
  }

  async retry(id: string): Promise<Delivery> {
    const now = this.now();
    const changed = this.#sql(retrySql("@id", "@now")).run({ id, now }).changes;
    return retried(id, changed === 1, this.#get(id));
  }

  async releaseAbandonedClaims(): Promise<number> {
    return this.#sql("UPDATE deliveries SET claimed_until = NULL WHERE status = 'pending' AND claimed_until IS NOT NULL", this.#bookkeeping).run().changes;
  }

  async claimDue(request: ClaimRequest): Promise<ClaimedDelivery[]> {
    const now = this.now();
    return this.#bookkeeping.transaction((): ClaimedDelivery[] => {
      const candidates = this.#sql<{ id: string; destination: string }>(
        `SELECT id, destination FROM deliveries
         WHERE status = 'pending' AND next_attempt_at <= @now
           AND (claimed_until IS NULL OR claimed_until <= @now)
           AND destination NOT IN (SELECT value FROM json_each(@saturated))
           AND id NOT IN (SELECT value FROM json_each(@excludeIds))
         ORDER BY next_attempt_at, seq LIMIT @window`,
        this.#bookkeeping,
      ).all({
        now,
        window: claimWindow(request),
        saturated: JSON.stringify(saturatedDestinations(request)),
        excludeIds: JSON.stringify(request.excludeIds ?? []),
      });
      return pickClaims(candidates, request).map(({ id, leaseMs }) => {
        const row = this.#sql<ClaimRow>(
          `UPDATE deliveries SET claimed_until = @until, attempts = attempts + 1, total_attempts = total_attempts + 1, updated_at = @now
           WHERE id = @id RETURNING id, call_id, destination, webhook_id, body, attempts, total_attempts, claimed_until`,
          this.#bookkeeping,
        ).get({ id, now, until: now + leaseMs })!;
        this.#sql(
          "UPDATE attempts SET finished_at = @now, outcome = 'interrupted', error = @error WHERE delivery_id = @id AND finished_at IS NULL",
          this.#bookkeeping,
        ).run({ id, now, error: INTERRUPTED_BY_CRASH });
        this.#sql("INSERT INTO attempts (delivery_id, attempt, started_at) VALUES (?, ?, ?)", this.#bookkeeping).run(id, row.total_attempts, now);
        return toClaimed(row);
      });
    }).immediate();
  }

  async recordAttempt(claim: ClaimedDelivery, result: AttemptResultInput): Promise<Delivery | undefined> {
    const now = this.now();
    return this.#bookkeeping.transaction((): Delivery | undefined => {
      const closed = this.#sql(
        `UPDATE attempts SET finished_at = @now, status = @status, latency_ms = @latencyMs, outcome = @outcome, error = @error, response_snippet = @snippet
         WHERE delivery_id = @id AND attempt = @attempt AND finished_at IS NULL`,
        this.#bookkeeping,
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
      let moved = 0;
      switch (result.outcome) {
        case "delivered":
          moved = this.#sql(
            `UPDATE deliveries SET status = 'delivered', delivered_at = @now, next_attempt_at = NULL, claimed_until = NULL, version = version + 1,
             last_status = @status, last_error = NULL, last_response = @snippet, updated_at = @now ${where}`,
            this.#bookkeeping,
          ).run(params).changes;
          break;
        case "retry":
          if (result.nextAttemptAt === undefined) throw new Error("a retry needs nextAttemptAt");
          moved = this.#sql(
            `UPDATE deliveries SET next_attempt_at = @next, claimed_until = NULL,
             last_status = @status, last_error = @error, last_response = @snippet, updated_at = @now ${where}`,
            this.#bookkeeping,
          ).run({ ...params, next: result.nextAttemptAt }).changes;
          break;
        case "failed":
          moved = this.#sql(
            `UPDATE deliveries SET status = 'failed', next_attempt_at = NULL, claimed_until = NULL, version = version + 1,
             last_status = @status, last_error = @error, last_response = @snippet, updated_at = @now ${where}`,
            this.#bookkeeping,
          ).run(params).changes;
          break;
        case "interrupted":
          // Shutdown cut the attempt short: due again at once, and it does not use up the retry budget.
          this.#sql(
            `UPDATE deliveries SET next_attempt_at = @now, claimed_until = NULL, attempts = MAX(attempts - 1, 0), updated_at = @now ${where}`,
            this.#bookkeeping,
          ).run({ id: claim.id, attempt: claim.attempt, now });
          break;
      }
      if (moved === 1) this.#recordHealth(claim.destination, result, now);
      return toDelivery(this.#sql<DeliveryRow>(`SELECT ${DELIVERY_COLUMNS} FROM deliveries WHERE id = ?`, this.#bookkeeping).get(claim.id)!);
    })();
  }

  async counts(): Promise<Record<DeliveryStatus, number>> {
    const counts = emptyDeliveryCounts();
    const rows = this.#sql<{ status: DeliveryStatus; n: number }>("SELECT status, COUNT(*) AS n FROM deliveries GROUP BY status").all();
    for (const row of rows) counts[row.status] = row.n;
    return counts;
  }

  /** The destination's failure streak: a delivered attempt ends it, a retried or final failure adds to it. */
  #recordHealth(destination: string, result: AttemptResultInput, now: number): void {
    if (result.outcome === "delivered") {
      this.#sql(
        `INSERT INTO destination_health (destination, consecutive_failures, last_delivered_at) VALUES (?, 0, ?)
         ON CONFLICT (destination) DO UPDATE SET consecutive_failures = 0, last_delivered_at = excluded.last_delivered_at`,
        this.#bookkeeping,
      ).run(destination, now);
    } else if (result.outcome === "retry" || result.outcome === "failed") {
      this.#sql(
        `INSERT INTO destination_health (destination, consecutive_failures, last_error, last_status, last_error_at) VALUES (?, 1, ?, ?, ?)
         ON CONFLICT (destination) DO UPDATE SET consecutive_failures = destination_health.consecutive_failures + 1,
           last_error = excluded.last_error, last_status = excluded.last_status, last_error_at = excluded.last_error_at`,
        this.#bookkeeping,
      ).run(destination, result.error, result.status, now);
    }
  }

  async unsyncedFates(options: { ids?: readonly string[]; limit: number }): Promise<FateSyncRow[]> {
    const only = options.ids === undefined ? "" : "AND id IN (SELECT value FROM json_each(@ids))";
    return this.#sql<FateSyncRow>(`SELECT ${FATE_SYNC_COLUMNS} FROM deliveries WHERE fate_version < version ${only} ORDER BY seq LIMIT @limit`).all({
      ids: JSON.stringify(options.ids ?? []),
      limit: options.limit,
    });
  }

  async markFatesSynced(rows: readonly { id: string; version: number }[]): Promise<void> {
    // The worker's bookkeeping: a mark lost to a power cut only makes the sweep push that fate again.
    const mark = this.#sql("UPDATE deliveries SET fate_version = MAX(fate_version, @version) WHERE id = @id", this.#bookkeeping);
    this.#bookkeeping.transaction(() => rows.forEach((row) => mark.run(row)))();
  }

  async destinationHealth(since: number): Promise<DestinationHealth[]> {
    const counts = this.#sql<{ destination: string; status: DeliveryStatus; n: number }>(healthCountsSql("?")).all(since);
    return combineHealth(counts, this.#sql<HealthRow>("SELECT * FROM destination_health").all());
  }

  async consecutiveFailures(): Promise<Map<string, number>> {
    const rows = this.#sql<Pick<HealthRow, "destination" | "consecutive_failures">>("SELECT destination, consecutive_failures FROM destination_health").all();
    return new Map(rows.map((row) => [row.destination, row.consecutive_failures]));
  }

  async hasDeliveries(callId: string): Promise<boolean> {
    return this.#sql("SELECT 1 FROM deliveries WHERE call_id = ? LIMIT 1").get(callId) !== undefined;
  }

  async pruneDelivered(before: number): Promise<number> {
    return this.#sql("DELETE FROM deliveries WHERE status = 'delivered' AND delivered_at < ? AND fate_version >= version").run(before).changes;
  }

  /** Prepared once per distinct SQL text and connection (the FULL one unless told): claim and record run on every attempt. */
  #sql<Row = unknown>(source: string, db: Database.Database = this.#db): Statement<Row> {
    return this.#connections.sql<Row>(source, db);
  }

  async close(): Promise<void> {
    this.#connections.close();
  }
}
