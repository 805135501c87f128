// The call store on SQLite (`calls.sqlite`): the embedded default, for one process and its own data dir.
import type Database from "better-sqlite3";
import { resolve } from "node:path";
import { SqliteConnections, type Statement } from "../../db/sqlite.js";
import { summarizeCallState, type CallFateInput, type CallStage, type CallState, type FateInput, type FateRecord } from "../fates.js";
import { CALLS_SQLITE_MIGRATIONS } from "./migrations/sqlite.js";
import { listAuditSql, newAuditId, type AuditEntry, type AuditQuery } from "./audit-port.js";
import {
  newBackfillId,
  newCallId,
  type AcceptCallInput,
  type BackfillFilter,
  type BackfillItem,
  type BackfillItemOutcome,
  type BackfillRecord,
  type ProfileVersionCount,
  type CallExtraction,
  type CallListQuery,
  type CallRecord,
  type CallReview,
  type CallStore,
  type CallSummary,
  type ExtractionRecord,
  type ListPosition,
  type ReextractionInput,
  type RoutedReview,
} from "./port.js";
import { replaceValuesSqlite } from "./values-sql.js";
import { insightFigures, SQLITE_INSIGHTS, type InsightFigures, type InsightsQuery } from "./insights-sql.js";
import { valueRowsOf } from "./value-rows.js";
import { backfillFilterSql, FINISHED_CALL, listCallsSql, profileVersionCountsSql, REPLAYABLE_CALL } from "./queries.js";
import {
  CALL_COLUMNS,
  CALL_STATE_COLUMNS,
  COUNTS_SQL,
  emptyCallCounts,
  EXTRACTION_COLUMNS,
  extractionCost,
  FATE_COLUMNS,
  groupFates,
  historyText,
  SUMMARY_COLUMNS,
  toBackfillItem,
  toBackfillRecord,
  toCallRecord,
  toCallSummary,
  toExtractionRecord,
  uniqueFates,
  type BackfillItemRow,
  type BackfillRow,
  type CallRow,
  type CallStateRow,
  type CallSummaryRow,
  type CountRow,
  type ExtractionRow,
} from "./rows.js";

/** The stage a call waiting for budget goes back to: accepted, or extracting when an attempt failed before it waited. */
const RESUMED_STAGE = "(CASE WHEN attempts > 0 THEN 'extracting' ELSE 'accepted' END)";

/** The profile version an extraction ran under, as SQLite reads it from the stored extraction. */
const SQLITE_PROFILE_VERSION = "json_extract(extraction, '$.profile_version')";

/** Reads a SQLite call store's insight figures from its file, off the calling thread (the offload pool's, in the service). */
export type SqliteInsightsReader = (file: string, query: InsightsQuery) => Promise<InsightFigures>;

export interface SqliteCallStoreOptions {
  now?: () => number;
  /**
   * Where insights are read: better-sqlite3 answers synchronously, and a year of calls would hold the event loop for
   * the whole query. Without it (the store-copy CLI, tests), or for an in-memory database (no file another thread can
   * open), they are read in-process.
   */
  insights?: SqliteInsightsReader;
}

export class SqliteCallStore implements CallStore {
  readonly engine = "sqlite";
  readonly #connections: SqliteConnections;
  /** Accepting a call and a reviewer's decision commit here, with synchronous=FULL (see SqliteConnections). */
  readonly #db: Database.Database;
  /**
   * The worker's own steps commit here, with NORMAL: a power cut may undo the last of them, which only makes a call due
   * again; its deliveries are enqueued idempotently, so none is sent twice.
   */
  readonly #bookkeeping: Database.Database;
  readonly #now: () => number;
  /** Insights read elsewhere, from this store's file; undefined: in-process. */
  readonly #insightsElsewhere: ((query: InsightsQuery) => Promise<InsightFigures>) | undefined;

  private constructor(connections: SqliteConnections, options: SqliteCallStoreOptions) {
    this.#connections = connections;
    this.#db = connections.durable;
    this.#bookkeeping = connections.bookkeeping;
    this.#now = options.now ?? Date.now;
    const { insights } = options;
    const file = resolve(connections.durable.name);
    this.#insightsElsewhere = insights && !connections.durable.memory ? (query) => insights(file, query) : undefined;
  }

  /** `now` alone, or the options (a clock, where insights are read). */
  static open(file: string, options: (() => number) | SqliteCallStoreOptions = {}): SqliteCallStore {
    return new SqliteCallStore(SqliteConnections.open(file, CALLS_SQLITE_MIGRATIONS), typeof options === "function" ? { now: options } : options);
  }

  /** Prepared once per distinct SQL text and connection (the FULL one unless told); `Row` is what the SQL selects. */
  #sql<Row = unknown>(source: string, db: Database.Database = this.#db): Statement<Row> {
    return this.#connections.sql<Row>(source, db);
  }

  async accept(input: AcceptCallInput): Promise<{ call: CallRecord; created: boolean }> {
    const now = this.#now();
    const id = newCallId();
    const { call } = input;
    const result = this.#sql(
      `INSERT INTO calls (id, profile, external_id, source, completed, started_at, ended_at, duration_s, customer_phone, agent_phone,
       recording_url, customer_e164, state, public_state, reason, payload, next_attempt_at, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (profile, external_id) DO NOTHING`,
    ).run(
      id,
      input.profile,
      input.externalId ?? id,
      input.source,
      call.completed ? 1 : 0,
      call.started_at,
      call.ended_at,
      call.duration_s,
      call.customer_phone,
      call.agent_phone,
      call.recording_url,
      input.customerE164 ?? null,
      input.state,
      input.state,
      input.reason ?? null,
      JSON.stringify(input.payload),
      input.state === "accepted" ? now : null,
      now,
      now,
    );
    const row = this.#sql<CallRow>(`SELECT ${CALL_COLUMNS} FROM calls WHERE profile = ? AND external_id = ?`).get(input.profile, input.externalId ?? id)!;
    return { call: toCallRecord(row), created: result.changes === 1 };
  }

  async get(id: string): Promise<CallRecord | undefined> {
    const row = this.#sql<CallRow>(`SELECT ${CALL_COLUMNS} FROM calls WHERE id = ?`).get(id);
    return row ? toCallRecord(row) : undefined;
  }

  async claimDue(limit: number, leaseMs: number): Promise<CallRecord[]> {
    const now = this.#now();
    const rows = this.#sql<CallRow>(
      `UPDATE calls SET claimed_until = @until, updated_at = @now WHERE id IN (
         SELECT id FROM calls WHERE state IN ('accepted', 'extracting') AND next_attempt_at <= @now
         AND (claimed_until IS NULL OR claimed_until <= @now) ORDER BY next_attempt_at LIMIT @limit)
       RETURNING ${CALL_COLUMNS}`,
      this.#bookkeeping,
    ).all({ now, until: now + leaseMs, limit });
    return rows.map(toCallRecord).sort((a, b) => a.next_attempt_at! - b.next_attempt_at!);
  }

  async releaseAbandonedClaims(): Promise<number> {
    const calls = this.#sql("UPDATE calls SET claimed_until = NULL WHERE claimed_until IS NOT NULL", this.#bookkeeping).run().changes;
    const items = this.#sql("UPDATE backfill_items SET claimed_until = NULL WHERE claimed_until IS NOT NULL", this.#bookkeeping).run().changes;
    return calls + items;
  }

  async markExtracted(id: string, extraction: CallExtraction, fates: readonly FateInput[], routed?: RoutedReview): Promise<void> {
    const now = this.#now();
    const db = this.#bookkeeping;
    db.transaction(() => {
      this.#sql(
        `UPDATE calls SET state = 'extracted', extraction = ?, attempts = attempts + 1, claimed_until = NULL,
         next_attempt_at = NULL, last_error = NULL, reason = NULL, updated_at = ? WHERE id = ?`,
        db,
      ).run(JSON.stringify(extraction), now, id);
      if (routed) {
        this.#sql(
          "UPDATE call_extractions SET event = ? WHERE call_id = ? AND seq = (SELECT MAX(seq) FROM call_extractions WHERE call_id = ?)",
          db,
        ).run(routed.event, id, id);
      } else {
        this.#appendExtraction(db, id, { extraction, trigger: "live", event: 1 }, now);
      }
      this.#writeValues(db, id, extraction);
      this.#writeFates(db, [id], fates.map((fate) => ({ ...fate, call_id: id })), now);
    })();
  }

  async markHeld(id: string, extraction: CallExtraction, reason: string | null = null): Promise<void> {
    const now = this.#now();
    const db = this.#bookkeeping;
    db.transaction(() => {
      this.#sql(
        `UPDATE calls SET state = 'needs_review', public_state = 'needs_review', extraction = ?, attempts = attempts + 1, claimed_until = NULL,
         next_attempt_at = NULL, last_error = NULL, reason = ?, updated_at = ? WHERE id = ?`,
        db,
      ).run(JSON.stringify(extraction), reason, now, id);
      this.#appendExtraction(db, id, { extraction, trigger: "live", event: 1 }, now);
      this.#writeValues(db, id, extraction);
    })();
  }

  async decideReview(id: string, review: CallReview): Promise<boolean> {
    const now = this.#now();
    // On the FULL connection: a decision answered 200 survives a power cut, as an accepted call does.
    return this.#db.transaction(() => {
      const decided = this.#decide(id, review, now);
      if (decided) this.#writeValues(this.#db, id);
      return decided;
    })();
  }

  #decide(id: string, review: CallReview, now: number): boolean {
    const decided = review.approved
      ? this.#sql(
          `UPDATE calls SET state = 'accepted', public_state = 'accepted', reviewed = ?, attempts = 0, next_attempt_at = ?, claimed_until = NULL,
           reason = NULL, updated_at = ? WHERE id = ? AND state = 'needs_review'`,
        ).run(JSON.stringify(review), now, now, id)
      : this.#sql(
          `UPDATE calls SET state = 'skipped', public_state = 'skipped', reviewed = ?, reason = ?, updated_at = ? WHERE id = ? AND state = 'needs_review'`,
        ).run(JSON.stringify(review), review.reason, now, id);
    return decided.changes === 1;
  }

  async recordReextraction(id: string, input: ReextractionInput): Promise<number | undefined> {
    const now = this.#now();
    const db = this.#bookkeeping;
    return db.transaction(() => {
      // A reviewer's decision stays with the call when it is held again: their corrections outlive this extraction.
      const updated = input.hold
        ? this.#sql(
            `UPDATE calls SET extraction = ?, updated_at = ?, state = 'needs_review', public_state = 'needs_review', reason = ?
             WHERE id = ? AND state = 'extracted'`,
            db,
          ).run(JSON.stringify(input.extraction), now, input.reason ?? null, id)
        : this.#sql("UPDATE calls SET extraction = ?, updated_at = ? WHERE id = ? AND state = 'extracted'", db).run(JSON.stringify(input.extraction), now, id);
      if (updated.changes !== 1) return undefined;
      const seq = this.#appendExtraction(db, id, input, now);
      this.#writeValues(db, id, input.extraction);
      this.#writeFates(db, [id], input.fates.map((fate) => ({ ...fate, call_id: id })), now);
      return seq;
    })();
  }

  /**
   * The call's value rows (values.ts), from `extraction` (the one just written; else the stored one) and the reviewer's
   * corrections standing on the call, inside the caller's transaction.
   */
  #writeValues(db: Database.Database, id: string, extraction?: CallExtraction): void {
    const row = this.#sql<{ profile: string; created_at: number; reviewed: string | null; extraction: string | null }>(
      `SELECT profile, created_at, reviewed, ${extraction ? "NULL AS extraction" : "extraction"} FROM calls WHERE id = ?`,
      db,
    ).get(id);
    if (!row) return;
    const current = extraction ?? (row.extraction === null ? null : (JSON.parse(row.extraction) as CallExtraction));
    const reviewed = row.reviewed === null ? null : (JSON.parse(row.reviewed) as CallReview);
    replaceValuesSqlite((sql) => this.#sql(sql, db), { id, profile: row.profile, created_at: row.created_at }, current ? valueRowsOf(current, reviewed) : []);
  }

  #appendExtraction(db: Database.Database, id: string, input: Pick<ReextractionInput, "extraction" | "event"> & { trigger: ExtractionRecord["trigger"] }, now: number): number {
    const row = this.#sql<{ seq: number }>(
      `INSERT INTO call_extractions (call_id, seq, profile_version, extraction, trigger, event, created_at, cost_usd)
       SELECT @id, COALESCE(MAX(seq), 0) + 1, @version, @extraction, @trigger, @event, @now, @cost FROM call_extractions WHERE call_id = @id
       RETURNING seq`,
      db,
    ).get({
      id,
      version: input.extraction.profile_version ?? null,
      extraction: historyText(input.extraction),
      trigger: input.trigger,
      event: input.event,
      now,
      cost: extractionCost(input.extraction),
    });
    return row!.seq;
  }

  async listExtractions(callId: string, limit: number): Promise<ExtractionRecord[]> {
    const rows = this.#sql<ExtractionRow>(`SELECT ${EXTRACTION_COLUMNS} FROM call_extractions WHERE call_id = ? ORDER BY seq DESC LIMIT ?`).all(callId, limit);
    return rows.map(toExtractionRecord);
  }

  async markWaitingForBudget(id: string, until: number): Promise<void> {
    this.#sql(
      `UPDATE calls SET state = 'waiting_for_budget', public_state = 'waiting_for_budget', reason = 'daily_budget_reached', claimed_until = NULL,
       next_attempt_at = ?, updated_at = ? WHERE id = ?`,
      this.#bookkeeping,
    ).run(until, this.#now(), id);
  }

  async resumeWaitingForBudget(which: { profiles?: readonly string[]; dueBy?: number }): Promise<number> {
    const now = this.#now();
    const where = ["public_state = 'waiting_for_budget'", "state = 'waiting_for_budget'"];
    const params: unknown[] = [now, now];
    if (which.profiles !== undefined) {
      where.push("profile IN (SELECT value FROM json_each(?))");
      params.push(JSON.stringify(which.profiles));
    }
    if (which.dueBy !== undefined) {
      where.push("next_attempt_at <= ?");
      params.push(which.dueBy);
    }
    return this.#sql(
      `UPDATE calls SET state = ${RESUMED_STAGE}, public_state = ${RESUMED_STAGE}, reason = NULL, next_attempt_at = ?, updated_at = ?
       WHERE ${where.join(" AND ")}`,
      this.#bookkeeping,
    ).run(...params).changes;
  }

  async markAttemptFailed(id: string, error: { code: string; message: string }, nextAttemptAt: number | undefined): Promise<void> {
    const stage: CallStage = nextAttemptAt === undefined ? "extraction_failed" : "extracting";
    this.#sql(
      `UPDATE calls SET state = ?, public_state = ?, reason = ?, last_error = ?, attempts = attempts + 1, claimed_until = NULL,
       next_attempt_at = ?, updated_at = ? WHERE id = ?`,
      this.#bookkeeping,
    ).run(stage, stage, error.code, error.message, nextAttemptAt ?? null, this.#now(), id);
  }

  async replay(id: string): Promise<boolean> {
    const now = this.#now();
    return (
      this.#sql(
        `UPDATE calls SET state = 'accepted', public_state = 'accepted', attempts = 0, next_attempt_at = ?, claimed_until = NULL, updated_at = ?
         WHERE id = ? AND ${REPLAYABLE_CALL}`,
      ).run(now, now, id).changes === 1
    );
  }

  async recordFates(fates: readonly CallFateInput[]): Promise<void> {
    if (fates.length === 0) return;
    const db = this.#bookkeeping;
    db.transaction(() => this.#writeFates(db, fates.map((fate) => fate.call_id), fates, this.#now()))();
  }

  /**
   * Upserts fates (a skip never replaces a delivery's fate; a delivery's fate only moves to a newer version), then
   * brings the public state of `callIds` up to date. Runs inside the caller's transaction, on its connection (the
   * worker's NORMAL one: a fate lost to a power cut is pushed again by the fate sweep).
   */
  #writeFates(db: Database.Database, callIds: readonly string[], fates: readonly CallFateInput[], now: number): void {
    const upsert = this.#sql(
      `INSERT INTO call_fates (call_id, destination, event, fate, reason_code, reason, delivery_id, version, updated_at)
       SELECT @call_id, @destination, @event, @fate, @reason_code, @reason, @delivery_id, @version, @now
       WHERE EXISTS (SELECT 1 FROM calls WHERE id = @call_id)
       ON CONFLICT (call_id, destination, event) DO UPDATE SET fate = excluded.fate, reason_code = excluded.reason_code,
         reason = excluded.reason, delivery_id = excluded.delivery_id, version = excluded.version, updated_at = excluded.updated_at
       WHERE call_fates.delivery_id IS NULL OR (call_fates.delivery_id = excluded.delivery_id AND excluded.version > call_fates.version)`,
      db,
    );
    for (const fate of uniqueFates(fates)) upsert.run({ ...fate, now });
    for (const callId of new Set(callIds)) {
      const call = this.#sql<CallStateRow>(`SELECT ${CALL_STATE_COLUMNS} FROM calls WHERE id = ?`, db).get(callId);
      if (!call) continue;
      const state = summarizeCallState(call.stage, this.#fates(callId, db));
      if (state !== call.state) this.#sql("UPDATE calls SET public_state = ? WHERE id = ?", db).run(state, callId);
    }
  }

  #fates(callId: string, db: Database.Database = this.#db): FateRecord[] {
    return this.#sql<FateRecord>(`SELECT ${FATE_COLUMNS} FROM call_fates WHERE call_id = ? ORDER BY event, destination`, db).all(callId);
  }

  async listFates(callId: string): Promise<FateRecord[]> {
    return this.#fates(callId);
  }

  async listFatesOf(callIds: readonly string[]): Promise<Map<string, FateRecord[]>> {
    const rows = this.#sql<FateRecord & { call_id: string }>(
      `SELECT call_id, ${FATE_COLUMNS} FROM call_fates WHERE call_id IN (SELECT value FROM json_each(?)) ORDER BY call_id, event, destination`,
    ).all(JSON.stringify(callIds));
    return groupFates(rows);
  }

  async list(query: CallListQuery): Promise<CallSummary[]> {
    const { sql, params } = listCallsSql(query, () => "?");
    return this.#sql<CallSummaryRow>(sql).all(...params).map(toCallSummary);
  }

  async insightFigures(query: InsightsQuery): Promise<InsightFigures> {
    if (this.#insightsElsewhere) return this.#insightsElsewhere(query);
    return insightFigures(async (sql, params) => this.#sql<Record<string, unknown>>(sql).all(...params), SQLITE_INSIGHTS, query);
  }

  async spentSince(profile: string, since: number): Promise<number> {
    const row = this.#sql<{ cost: number | null }>(
      "SELECT sum(e.cost_usd) AS cost FROM call_extractions e JOIN calls c ON c.id = e.call_id WHERE e.created_at >= ? AND c.profile = ?",
    ).get(since, profile);
    return row?.cost ?? 0;
  }

  async callerHistory(profile: string, customerE164: string, limit: number): Promise<{ recent: CallSummary[]; latest: CallRecord | undefined }> {
    const recent = this.#sql<CallSummaryRow>(
      `SELECT ${SUMMARY_COLUMNS} FROM calls WHERE profile = ? AND customer_e164 = ? ORDER BY created_at DESC, id DESC LIMIT ?`,
    ).all(profile, customerE164, limit);
    const latest = this.#sql<CallRow>(
      `SELECT ${CALL_COLUMNS} FROM calls WHERE profile = ? AND customer_e164 = ? AND extraction IS NOT NULL ORDER BY created_at DESC, id DESC LIMIT 1`,
    ).get(profile, customerE164);
    return { recent: recent.map(toCallSummary), latest: latest ? toCallRecord(latest) : undefined };
  }

  async cursorKey(): Promise<Buffer> {
    return Buffer.from(this.#sql<{ key: string }>("SELECT key FROM cursor_key").get()!.key, "hex");
  }

  async findFinished(before: number, limit: number): Promise<string[]> {
    return this.#sql<{ id: string }>(`SELECT id FROM calls WHERE updated_at < ? AND ${FINISHED_CALL} ORDER BY updated_at LIMIT ?`)
      .all(before, limit)
      .map((row) => row.id);
  }

  async delete(ids: readonly string[]): Promise<number> {
    const remove = this.#sql("DELETE FROM calls WHERE id = ?");
    return this.#db.transaction(() => ids.reduce((n, id) => n + remove.run(id).changes, 0))();
  }

  async createBackfill(input: { filter: BackfillFilter; limit?: number; redeliver: boolean; request: Record<string, unknown> }): Promise<BackfillRecord> {
    const now = this.#now();
    const id = newBackfillId();
    const params: unknown[] = [id, now];
    const where = backfillFilterSql(input.filter, params, () => "?", SQLITE_PROFILE_VERSION);
    const limit = input.limit === undefined ? "" : `LIMIT ${Math.trunc(input.limit)}`;
    return this.#db.transaction(() => {
      this.#sql(
        `INSERT INTO backfills (id, profile, state, request, redeliver, created_at, updated_at) VALUES (?, ?, 'running', ?, ?, ?, ?)`,
      ).run(id, input.filter.profile, JSON.stringify(input.request), input.redeliver ? 1 : 0, now, now);
      const total = this.#sql(
        `INSERT INTO backfill_items (backfill_id, call_id, seq, next_attempt_at)
         SELECT ?, id, ROW_NUMBER() OVER (ORDER BY created_at DESC, id DESC), ? FROM calls WHERE ${where} ORDER BY created_at DESC, id DESC ${limit}`,
      ).run(...params).changes;
      this.#sql(
        `UPDATE backfills SET total = ?, state = CASE WHEN ? = 0 THEN 'done' ELSE state END, finished_at = CASE WHEN ? = 0 THEN ? END WHERE id = ?`,
      ).run(total, total, total, now, id);
      return toBackfillRecord(this.#sql<BackfillRow>("SELECT * FROM backfills WHERE id = ?").get(id)!);
    })();
  }

  async getBackfill(id: string): Promise<BackfillRecord | undefined> {
    const row = this.#sql<BackfillRow>("SELECT * FROM backfills WHERE id = ?").get(id);
    return row ? toBackfillRecord(row) : undefined;
  }

  async cancelBackfill(id: string): Promise<BackfillRecord | undefined> {
    const now = this.#now();
    this.#sql("UPDATE backfills SET state = 'cancelled', finished_at = ?, updated_at = ? WHERE id = ? AND state = 'running'").run(now, now, id);
    return this.getBackfill(id);
  }

  async claimBackfillItems(limit: number, leaseMs: number): Promise<BackfillItem[]> {
    const now = this.#now();
    return this.#sql<BackfillItemRow>(
      `UPDATE backfill_items SET claimed_until = @until WHERE rowid IN (
         SELECT i.rowid FROM backfill_items AS i JOIN backfills AS b ON b.id = i.backfill_id
         WHERE i.state = 'pending' AND b.state = 'running' AND i.next_attempt_at <= @now AND (i.claimed_until IS NULL OR i.claimed_until <= @now)
         ORDER BY i.next_attempt_at, i.seq LIMIT @limit)
       RETURNING backfill_id, call_id, attempts, (SELECT redeliver FROM backfills WHERE id = backfill_id) AS redeliver`,
      this.#bookkeeping,
    )
      .all({ now, until: now + leaseMs, limit })
      .map(toBackfillItem);
  }

  async finishBackfillItem(item: Pick<BackfillItem, "backfill_id" | "call_id">, outcome: BackfillItemOutcome): Promise<void> {
    const now = this.#now();
    const db = this.#bookkeeping;
    db.transaction(() => {
      const key = { backfill_id: item.backfill_id, call_id: item.call_id, now };
      if (outcome.kind === "retry") {
        this.#sql(
          `UPDATE backfill_items SET attempts = attempts + 1, next_attempt_at = @at, claimed_until = NULL, error = @error
           WHERE backfill_id = @backfill_id AND call_id = @call_id AND state = 'pending'`,
          db,
        ).run({ ...key, at: outcome.retryAt, error: outcome.error });
        return;
      }
      const done = outcome.kind === "done";
      const finished = this.#sql(
        `UPDATE backfill_items SET state = @state, attempts = attempts + 1, claimed_until = NULL, changed = @changed, error = @error
         WHERE backfill_id = @backfill_id AND call_id = @call_id AND state = 'pending'`,
        db,
      ).run({ ...key, state: done ? "done" : "failed", changed: done ? (outcome.changed ? 1 : 0) : null, error: done ? null : outcome.error }).changes;
      // Finished already (by a worker whose lease ran out): counted once.
      if (finished === 0) return;
      this.#sql(
        `UPDATE backfills SET done = done + 1, changed = changed + @changed, failed = failed + @failed, prompt_tokens = prompt_tokens + @prompt,
         completion_tokens = completion_tokens + @completion, cost_usd = CASE WHEN @cost IS NULL THEN cost_usd ELSE COALESCE(cost_usd, 0) + @cost END,
         updated_at = @now,
         finished_at = CASE WHEN state = 'running' AND done + 1 >= total THEN @now ELSE finished_at END,
         state = CASE WHEN state = 'running' AND done + 1 >= total THEN 'done' ELSE state END
         WHERE id = @backfill_id`,
        db,
      ).run({
        backfill_id: item.backfill_id,
        now,
        changed: done && outcome.changed ? 1 : 0,
        failed: done ? 0 : 1,
        prompt: done ? outcome.usage.prompt_tokens : 0,
        cost: done ? outcome.cost_usd : null,
        completion: done ? outcome.usage.completion_tokens : 0,
      });
    })();
  }

  async deferBackfills(profile: string, until: number, claimed: readonly Pick<BackfillItem, "backfill_id" | "call_id">[] = []): Promise<number> {
    const db = this.#bookkeeping;
    return db.transaction(() => {
      const deferred = this.#sql(
        `UPDATE backfill_items SET next_attempt_at = @until
         WHERE state = 'pending' AND next_attempt_at < @until AND backfill_id IN (SELECT id FROM backfills WHERE profile = @profile AND state = 'running')`,
        db,
      ).run({ profile, until }).changes;
      const release = this.#sql("UPDATE backfill_items SET claimed_until = NULL WHERE backfill_id = ? AND call_id = ? AND state = 'pending'", db);
      for (const item of claimed) release.run(item.backfill_id, item.call_id);
      return deferred;
    })();
  }

  async resumeBackfills(profile: string): Promise<number> {
    return this.#sql(
      `UPDATE backfill_items SET next_attempt_at = @now
       WHERE state = 'pending' AND next_attempt_at > @now AND backfill_id IN (SELECT id FROM backfills WHERE profile = @profile AND state = 'running')`,
      this.#bookkeeping,
    ).run({ profile, now: this.#now() }).changes;
  }

  async listBackfillCandidates(filter: BackfillFilter, after: ListPosition | undefined, limit: number): Promise<CallRecord[]> {
    const params: unknown[] = [];
    let where = backfillFilterSql(filter, params, () => "?", SQLITE_PROFILE_VERSION);
    if (after) {
      where += " AND (created_at, id) < (?, ?)";
      params.push(after.created_at, after.id);
    }
    return this.#sql<CallRow>(`SELECT ${CALL_COLUMNS} FROM calls WHERE ${where} ORDER BY created_at DESC, id DESC LIMIT ?`)
      .all(...params, limit)
      .map(toCallRecord);
  }

  async counts(): Promise<Record<CallState, number>> {
    const counts = emptyCallCounts();
    for (const row of this.#sql<CountRow>(COUNTS_SQL).all()) counts[row.state] = row.n;
    return counts;
  }

  async profileVersionCounts(profile?: string): Promise<ProfileVersionCount[]> {
    const { sql, params } = profileVersionCountsSql(profile, () => "?", SQLITE_PROFILE_VERSION);
    return this.#sql<ProfileVersionCount>(sql).all(...params);
  }

  async recordAudit(input: Omit<AuditEntry, "id" | "at">): Promise<AuditEntry> {
    const entry = { ...input, id: newAuditId(), at: this.#now() };
    this.#sql("INSERT INTO audit_log (id, at, actor, action, target, outcome, details) VALUES (?, ?, ?, ?, ?, ?, ?)").run(
      entry.id, entry.at, entry.actor, entry.action, entry.target, entry.outcome, JSON.stringify(entry.details),
    );
    return entry;
  }

  async listAudit(query: AuditQuery): Promise<AuditEntry[]> {
    const { sql, params } = listAuditSql(query, () => "?");
    return this.#sql<AuditRow>(sql).all(...params).map((row) => ({ ...row, details: JSON.parse(row.details) as Record<string, unknown> }));
  }

  async pruneAudit(before: number): Promise<number> {
    return this.#sql("DELETE FROM audit_log WHERE at < ?").run(before).changes;
  }

  async close(): Promise<void> {
    this.#connections.close();
  }
}

type AuditRow = Omit<AuditEntry, "details"> & { details: string };
