// The call store on PostgreSQL, shared by every instance: a unique constraint makes a platform's retry a duplicate on
// whichever instance it lands, and claims use FOR UPDATE SKIP LOCKED, so instances never take the same call.
import type pg from "pg";
import { inTransaction, restored, restoredRow, storable, storableJson, storableOrNull } from "../../db/postgres.js";
import { POSTGRES_PROFILE_VERSION, PostgresBackfillStore } from "./postgres-backfills.js";
import { summarizeCallState, type CallFateInput, type CallStage, type CallState, type FateInput, type FateRecord } from "../fates.js";
import {
  newCallId,
  type AcceptCallInput,
  type ProfileVersionCount,
  type CallExtraction,
  type CallListQuery,
  type CallRecord,
  type CallReview,
  type BackfillStore,
  type CallStore,
  type CallSummary,
  type ExtractionRecord,
  type ReextractionInput,
  type RoutedReview,
} from "./port.js";
import { listAuditSql, newAuditId, type AuditEntry, type AuditQuery } from "./audit-port.js";
import { replaceValuesPostgres } from "./values-sql.js";
import { insightFigures, POSTGRES_INSIGHTS, type InsightFigures, type InsightsQuery } from "./insights-sql.js";
import { valueRowsOf } from "./value-rows.js";
import { FINISHED_CALL, listCallsSql, profileVersionCountsSql, REPLAYABLE_CALL } from "./queries.js";
import {
  CALL_COLUMNS,
  CALL_JSON_FIELDS,
  CALL_STATE_COLUMNS,
  CALL_TEXT_FIELDS,
  COUNTS_SQL,
  emptyCallCounts,
  EXTRACTION_COLUMNS,
  extractionCost,
  FATE_COLUMNS,
  groupFates,
  historyText,
  SUMMARY_COLUMNS,
  toCallRecord,
  toCallSummary,
  toExtractionRecord,
  uniqueFates,
  type CallRow,
  type CallStateRow,
  type CallSummaryRow,
  type CountRow,
  type ExtractionRow,
} from "./rows.js";

/** The schema this adapter reads and writes: whoever opens the pool applies it (see openPostgres). */
export { CALLS_POSTGRES_MIGRATIONS } from "./migrations/postgres.js";

/**
 * Rows given back as they were sent: what a platform, a model or a reviewer wrote is stored through storable() and
 * storableJson() (db/postgres.ts: PostgreSQL cannot hold NUL), and restored here.
 */
const CALL_FIELDS = { text: CALL_TEXT_FIELDS, json: CALL_JSON_FIELDS };
const callRecord = (row: CallRow): CallRecord => toCallRecord(restoredRow(row, CALL_FIELDS));
const callSummary = (row: CallSummaryRow): CallSummary => toCallSummary(restoredRow(row, { text: CALL_TEXT_FIELDS }));
const extractionRecord = (row: ExtractionRow): ExtractionRecord => toExtractionRecord(restoredRow(row, { json: ["extraction"] }));
const fateRecord = (row: FateRecord): FateRecord => restoredRow(row, { text: ["reason"] });


export class PostgresCallStore implements CallStore {
  readonly engine = "postgres";
  readonly #pool: pg.Pool;
  readonly #now: () => number;
  readonly #backfills: PostgresBackfillStore;
  #cursorKey: Promise<Buffer> | undefined;

  /** The pool belongs to whoever opened it (see openPostgres), which also applied CALLS_POSTGRES_MIGRATIONS. */
  constructor(pool: pg.Pool, now: () => number = Date.now) {
    this.#pool = pool;
    this.#now = now;
    this.#backfills = new PostgresBackfillStore(pool, now);
  }

  async accept(input: AcceptCallInput): Promise<{ call: CallRecord; created: boolean }> {
    const now = this.#now();
    const id = newCallId();
    const externalId = storable(input.externalId ?? id);
    // Another instance inserting the same call at the same moment makes this wait for its commit, then do nothing.
    const { call } = input;
    const inserted = await this.#pool.query<CallRow>(
      `INSERT INTO calls (id, profile, external_id, source, completed, started_at, ended_at, duration_s, customer_phone, agent_phone,
       recording_url, state, public_state, reason, payload, next_attempt_at, created_at, updated_at, customer_e164)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13, $14, $15, $16, $16, $17)
       ON CONFLICT (profile, external_id) DO NOTHING RETURNING ${CALL_COLUMNS}`,
      [
        id,
        input.profile,
        externalId,
        input.source,
        call.completed,
        storableOrNull(call.started_at),
        storableOrNull(call.ended_at),
        call.duration_s,
        storableOrNull(call.customer_phone),
        storableOrNull(call.agent_phone),
        storableOrNull(call.recording_url),
        input.state,
        storableOrNull(input.reason ?? null),
        storableJson(JSON.stringify(input.payload)),
        input.state === "accepted" ? now : null,
        now,
        input.customerE164 ?? null,
      ],
    );
    if (inserted.rows[0]) return { call: callRecord(inserted.rows[0]), created: true };
    const existing = await this.#pool.query<CallRow>(`SELECT ${CALL_COLUMNS} FROM calls WHERE profile = $1 AND external_id = $2`, [input.profile, externalId]);
    return { call: callRecord(existing.rows[0]!), created: false };
  }

  async get(id: string): Promise<CallRecord | undefined> {
    const { rows } = await this.#pool.query<CallRow>(`SELECT ${CALL_COLUMNS} FROM calls WHERE id = $1`, [id]);
    return rows[0] ? callRecord(rows[0]) : undefined;
  }

  async claimDue(limit: number, leaseMs: number): Promise<CallRecord[]> {
    const now = this.#now();
    // Rows another instance is claiming right now are skipped, not waited for: each instance takes its own.
    const { rows } = await this.#pool.query<CallRow>(
      `UPDATE calls SET claimed_until = $2, updated_at = $1 WHERE id IN (
         SELECT id FROM calls WHERE state IN ('accepted', 'extracting') AND next_attempt_at <= $1
         AND (claimed_until IS NULL OR claimed_until <= $1) ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED)
       RETURNING ${CALL_COLUMNS}`,
      [now, now + leaseMs, limit],
    );
    return rows.map(callRecord).sort((a, b) => a.next_attempt_at! - b.next_attempt_at!);
  }

  /** Never frees anything: a claim here may belong to a live instance; it is handed over when its lease runs out. */
  async releaseAbandonedClaims(): Promise<number> {
    return 0;
  }

  async markExtracted(id: string, extraction: CallExtraction, fates: readonly FateInput[], routed?: RoutedReview): Promise<void> {
    const now = this.#now();
    await this.#transaction(async (client) => {
      await client.query(
        `UPDATE calls SET state = 'extracted', extraction = $1, attempts = attempts + 1, claimed_until = NULL,
         next_attempt_at = NULL, last_error = NULL, reason = NULL, updated_at = $2 WHERE id = $3`,
        [storableJson(JSON.stringify(extraction)), now, id],
      );
      if (routed) {
        await client.query(
          "UPDATE call_extractions SET event = $1 WHERE call_id = $2 AND seq = (SELECT MAX(seq) FROM call_extractions WHERE call_id = $2)",
          [routed.event, id],
        );
      } else {
        await this.#appendExtraction(client, id, { extraction, trigger: "live", event: 1 }, now);
      }
      await this.#writeValues(client, id, extraction);
      await this.#writeFates(client, [id], fates.map((fate) => ({ ...fate, call_id: id })), now);
    });
  }

  async markHeld(id: string, extraction: CallExtraction, reason: string | null = null): Promise<void> {
    const now = this.#now();
    await this.#transaction(async (client) => {
      await client.query(
        `UPDATE calls SET state = 'needs_review', public_state = 'needs_review', extraction = $1, attempts = attempts + 1, claimed_until = NULL,
         next_attempt_at = NULL, last_error = NULL, reason = $4, updated_at = $2 WHERE id = $3`,
        [storableJson(JSON.stringify(extraction)), now, id, reason === null ? null : storable(reason)],
      );
      await this.#appendExtraction(client, id, { extraction, trigger: "live", event: 1 }, now);
      await this.#writeValues(client, id, extraction);
    });
  }

  async decideReview(id: string, review: CallReview): Promise<boolean> {
    const now = this.#now();
    // A second review racing this one waits for its row lock, then finds the call no longer needs_review: 0 rows.
    return this.#transaction(async (client) => {
      const decided = await this.#decide(client, id, review, now);
      if (decided) await this.#writeValues(client, id);
      return decided;
    });
  }

  async #decide(client: pg.PoolClient, id: string, review: CallReview, now: number): Promise<boolean> {
    const decided = review.approved
      ? await client.query(
          `UPDATE calls SET state = 'accepted', public_state = 'accepted', reviewed = $1, attempts = 0, next_attempt_at = $2, claimed_until = NULL,
           reason = NULL, updated_at = $2 WHERE id = $3 AND state = 'needs_review'`,
          [storableJson(JSON.stringify(review)), now, id],
        )
      : await client.query(
          `UPDATE calls SET state = 'skipped', public_state = 'skipped', reviewed = $1, reason = $2, updated_at = $3 WHERE id = $4 AND state = 'needs_review'`,
          [storableJson(JSON.stringify(review)), storableOrNull(review.reason), now, id],
        );
    return decided.rowCount === 1;
  }

  async recordReextraction(id: string, input: ReextractionInput): Promise<number | undefined> {
    const now = this.#now();
    return this.#transaction(async (client) => {
      // The call's row lock also orders concurrent re-extractions of one call: each takes the next seq.
      // A reviewer's decision stays with the call when it is held again: their corrections outlive this extraction.
      const extraction = storableJson(JSON.stringify(input.extraction));
      const updated = input.hold
        ? await client.query(
            `UPDATE calls SET extraction = $1, updated_at = $2, state = 'needs_review', public_state = 'needs_review', reason = $4
             WHERE id = $3 AND state = 'extracted'`,
            [extraction, now, id, input.reason === undefined ? null : storable(input.reason)],
          )
        : await client.query("UPDATE calls SET extraction = $1, updated_at = $2 WHERE id = $3 AND state = 'extracted'", [extraction, now, id]);
      if (updated.rowCount !== 1) return undefined;
      const seq = await this.#appendExtraction(client, id, input, now);
      await this.#writeValues(client, id, input.extraction);
      await this.#writeFates(client, [id], input.fates.map((fate) => ({ ...fate, call_id: id })), now);
      return seq;
    });
  }

  /**
   * The call's value rows (values.ts), from `extraction` (the one just written; else the stored one) and the reviewer's
   * corrections standing on the call, inside the caller's transaction.
   */
  async #writeValues(client: pg.PoolClient, id: string, extraction?: CallExtraction): Promise<void> {
    const { rows } = await client.query<{ profile: string; created_at: number; reviewed: string | null; extraction: string | null }>(
      `SELECT profile, created_at::float8 AS created_at, reviewed, ${extraction ? "NULL AS extraction" : "extraction"} FROM calls WHERE id = $1`,
      [id],
    );
    const row = rows[0];
    if (!row) return;
    const stored = restoredRow(row, { json: ["reviewed", "extraction"] });
    const current = extraction ?? (stored.extraction === null ? null : (JSON.parse(stored.extraction) as CallExtraction));
    const reviewed = stored.reviewed === null ? null : (JSON.parse(stored.reviewed) as CallReview);
    await replaceValuesPostgres(client, [{ owner: { id, profile: row.profile, created_at: row.created_at }, rows: current ? valueRowsOf(current, reviewed) : [] }]);
  }

  async #appendExtraction(
    client: pg.PoolClient,
    id: string,
    input: Pick<ReextractionInput, "extraction" | "event"> & { trigger: ExtractionRecord["trigger"] },
    now: number,
  ): Promise<number> {
    const { rows } = await client.query<{ seq: number }>(
      `INSERT INTO call_extractions (call_id, seq, profile_version, extraction, trigger, event, created_at, cost_usd)
       SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4, $5, $6, $7 FROM call_extractions WHERE call_id = $1
       RETURNING seq`,
      [id, input.extraction.profile_version ?? null, storableJson(historyText(input.extraction)), input.trigger, input.event, now, extractionCost(input.extraction)],
    );
    return rows[0]!.seq;
  }

  async listExtractions(callId: string, limit: number): Promise<ExtractionRecord[]> {
    const { rows } = await this.#pool.query<ExtractionRow>(
      `SELECT ${EXTRACTION_COLUMNS} FROM call_extractions WHERE call_id = $1 ORDER BY seq DESC LIMIT $2`,
      [callId, limit],
    );
    return rows.map(extractionRecord);
  }

  async markWaitingForBudget(id: string, until: number): Promise<void> {
    await this.#pool.query(
      `UPDATE calls SET state = 'waiting_for_budget', public_state = 'waiting_for_budget', reason = 'daily_budget_reached', claimed_until = NULL,
       next_attempt_at = $1, updated_at = $2 WHERE id = $3`,
      [until, this.#now(), id],
    );
  }

  async resumeWaitingForBudget(which: { profiles?: readonly string[]; dueBy?: number }): Promise<number> {
    const params: unknown[] = [this.#now()];
    const where = ["public_state = 'waiting_for_budget'", "state = 'waiting_for_budget'"];
    if (which.profiles !== undefined) where.push(`profile = ANY($${params.push([...which.profiles])})`);
    if (which.dueBy !== undefined) where.push(`next_attempt_at <= $${params.push(which.dueBy)}`);
    const stage = "(CASE WHEN attempts > 0 THEN 'extracting' ELSE 'accepted' END)";
    const result = await this.#pool.query(
      `UPDATE calls SET state = ${stage}, public_state = ${stage}, reason = NULL, next_attempt_at = $1, updated_at = $1 WHERE ${where.join(" AND ")}`,
      params,
    );
    return result.rowCount ?? 0;
  }

  async markAttemptFailed(id: string, error: { code: string; message: string }, nextAttemptAt: number | undefined): Promise<void> {
    const stage: CallStage = nextAttemptAt === undefined ? "extraction_failed" : "extracting";
    await this.#pool.query(
      `UPDATE calls SET state = $1, public_state = $1, reason = $2, last_error = $3, attempts = attempts + 1, claimed_until = NULL,
       next_attempt_at = $4, updated_at = $5 WHERE id = $6`,
      [stage, error.code, storable(error.message), nextAttemptAt ?? null, this.#now(), id],
    );
  }

  async replay(id: string): Promise<boolean> {
    const now = this.#now();
    const result = await this.#pool.query(
      `UPDATE calls SET state = 'accepted', public_state = 'accepted', attempts = 0, next_attempt_at = $1, claimed_until = NULL, updated_at = $1
       WHERE id = $2 AND ${REPLAYABLE_CALL}`,
      [now, id],
    );
    return result.rowCount === 1;
  }

  async recordFates(fates: readonly CallFateInput[]): Promise<void> {
    if (fates.length === 0) return;
    await this.#transaction((client) => this.#writeFates(client, fates.map((fate) => fate.call_id), fates, this.#now()));
  }

  /**
   * Locks the calls (in id order, so two writers never deadlock, and so two deliveries of one call finishing on two
   * instances summarise one after the other), upserts the fates (a skip never replaces a delivery's fate; a delivery's
   * fate only moves to a newer version), then brings the public state of `ids` up to date.
   */
  async #writeFates(client: pg.PoolClient, ids: readonly string[], fates: readonly CallFateInput[], now: number): Promise<void> {
    const unique = uniqueFates(fates);
    const callIds = [...new Set(ids)].sort();
    const { rows: calls } = await client.query<CallStateRow>(
      `SELECT ${CALL_STATE_COLUMNS} FROM calls WHERE id = ANY($1) ORDER BY id FOR UPDATE`,
      [callIds],
    );
    const column = <K extends keyof CallFateInput>(key: K) => unique.map((fate) => fate[key]);
    await client.query(
      `INSERT INTO call_fates (call_id, destination, event, fate, reason_code, reason, delivery_id, version, updated_at)
       SELECT f.*, $9::bigint FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int[])
         AS f(call_id, destination, event, fate, reason_code, reason, delivery_id, version)
       WHERE f.call_id = ANY($10)
       ON CONFLICT (call_id, destination, event) DO UPDATE SET fate = excluded.fate, reason_code = excluded.reason_code,
         reason = excluded.reason, delivery_id = excluded.delivery_id, version = excluded.version, updated_at = excluded.updated_at
       WHERE call_fates.delivery_id IS NULL OR (call_fates.delivery_id = excluded.delivery_id AND excluded.version > call_fates.version)`,
      [
        column("call_id"),
        column("destination"),
        column("event"),
        column("fate"),
        column("reason_code"),
        column("reason").map(storableOrNull),
        column("delivery_id"),
        column("version"),
        now,
        calls.map((call) => call.id),
      ],
    );
    const { rows: stored } = await client.query<FateRecord & { call_id: string }>("SELECT * FROM call_fates WHERE call_id = ANY($1)", [callIds]);
    const changed = calls
      .map((call) => ({ id: call.id, was: call.state, state: summarizeCallState(call.stage, stored.filter((fate) => fate.call_id === call.id)) }))
      .filter((call) => call.state !== call.was);
    if (changed.length === 0) return;
    await client.query("UPDATE calls SET public_state = v.state FROM unnest($1::text[], $2::text[]) AS v(id, state) WHERE calls.id = v.id", [
      changed.map((call) => call.id),
      changed.map((call) => call.state),
    ]);
  }

  #transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.#pool, work);
  }


  async listFates(callId: string): Promise<FateRecord[]> {
    const { rows } = await this.#pool.query<FateRecord>(`SELECT ${FATE_COLUMNS} FROM call_fates WHERE call_id = $1 ORDER BY event, destination`, [callId]);
    return rows.map(fateRecord);
  }

  async listFatesOf(callIds: readonly string[]): Promise<Map<string, FateRecord[]>> {
    const { rows } = await this.#pool.query<FateRecord & { call_id: string }>(
      `SELECT call_id, ${FATE_COLUMNS} FROM call_fates WHERE call_id = ANY($1::text[]) ORDER BY call_id, event, destination`,
      [callIds.map(storable)],
    );
    return groupFates(rows.map((row) => ({ ...fateRecord(row), call_id: restored(row.call_id) })));
  }

  async list(query: CallListQuery): Promise<CallSummary[]> {
    const { sql, params } = listCallsSql(
      {
        ...query,
        externalId: query.externalId === undefined ? undefined : storable(query.externalId),
        where: query.where?.map((condition) => ({ path: storable(condition.path), value: storableOrNull(condition.value) })),
      },
      (n) => `$${n}`,
    );
    return (await this.#pool.query<CallSummaryRow>(sql, params)).rows.map(callSummary);
  }

  async insightFigures(query: InsightsQuery): Promise<InsightFigures> {
    const stored = {
      ...query,
      countedPaths: query.countedPaths.map(storable),
      seriesPaths: query.seriesPaths.map(storable),
      numberPaths: query.numberPaths.map(storable),
    };
    return insightFigures(async (sql, params) => (await this.#pool.query(sql, params)).rows, POSTGRES_INSIGHTS, stored, restored);
  }

  async spentSince(profile: string, since: number): Promise<number> {
    const { rows } = await this.#pool.query<{ cost: number | null }>(
      `SELECT sum(e.cost_usd) AS cost FROM call_extractions e JOIN calls c ON c.id = e.call_id WHERE e.created_at >= $1 AND c.profile = $2`,
      [since, profile],
    );
    return Number(rows[0]?.cost ?? 0);
  }

  async callerHistory(profile: string, customerE164: string, limit: number): Promise<{ recent: CallSummary[]; latest: CallRecord | undefined }> {
    const [recent, latest] = await Promise.all([
      this.#pool.query<CallSummaryRow>(
        `SELECT ${SUMMARY_COLUMNS} FROM calls WHERE profile = $1 AND customer_e164 = $2 ORDER BY created_at DESC, id DESC LIMIT $3`,
        [profile, customerE164, limit],
      ),
      this.#pool.query<CallRow>(
        `SELECT ${CALL_COLUMNS} FROM calls WHERE profile = $1 AND customer_e164 = $2 AND extraction IS NOT NULL ORDER BY created_at DESC, id DESC LIMIT 1`,
        [profile, customerE164],
      ),
    ]);
    return { recent: recent.rows.map(callSummary), latest: latest.rows[0] ? callRecord(latest.rows[0]) : undefined };
  }

  async cursorKey(): Promise<Buffer> {
    this.#cursorKey ??= this.#pool.query<{ key: string }>("SELECT key FROM cursor_key").then(({ rows }) => Buffer.from(rows[0]!.key, "hex"));
    return this.#cursorKey.catch((error: unknown) => {
      this.#cursorKey = undefined;
      throw error;
    });
  }

  async findFinished(before: number, limit: number): Promise<string[]> {
    const { rows } = await this.#pool.query<{ id: string }>(
      `SELECT id FROM calls WHERE updated_at < $1 AND ${FINISHED_CALL} ORDER BY updated_at LIMIT $2`,
      [before, limit],
    );
    return rows.map((row) => row.id);
  }

  async delete(ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    return (await this.#pool.query("DELETE FROM calls WHERE id = ANY($1)", [ids])).rowCount ?? 0;
  }

  // Backfills: their own room (postgres-backfills.ts), on the same pool.
  createBackfill: BackfillStore["createBackfill"] = (input) => this.#backfills.createBackfill(input);
  getBackfill: BackfillStore["getBackfill"] = (id) => this.#backfills.getBackfill(id);
  cancelBackfill: BackfillStore["cancelBackfill"] = (id) => this.#backfills.cancelBackfill(id);
  claimBackfillItems: BackfillStore["claimBackfillItems"] = (limit, leaseMs) => this.#backfills.claimBackfillItems(limit, leaseMs);
  finishBackfillItem: BackfillStore["finishBackfillItem"] = (item, outcome) => this.#backfills.finishBackfillItem(item, outcome);
  deferBackfills: BackfillStore["deferBackfills"] = (profile, until, claimed) => this.#backfills.deferBackfills(profile, until, claimed);
  resumeBackfills: BackfillStore["resumeBackfills"] = (profile) => this.#backfills.resumeBackfills(profile);
  listBackfillCandidates: BackfillStore["listBackfillCandidates"] = (filter, after, limit) => this.#backfills.listBackfillCandidates(filter, after, limit);

  async counts(): Promise<Record<CallState, number>> {
    const counts = emptyCallCounts();
    const { rows } = await this.#pool.query<CountRow>(COUNTS_SQL);
    for (const row of rows) counts[row.state] = row.n;
    return counts;
  }

  async profileVersionCounts(profile?: string): Promise<ProfileVersionCount[]> {
    const { sql, params } = profileVersionCountsSql(profile, (n) => `$${n}`, POSTGRES_PROFILE_VERSION);
    return (await this.#pool.query<ProfileVersionCount>(sql, params)).rows;
  }

  async recordAudit(input: Omit<AuditEntry, "id" | "at">): Promise<AuditEntry> {
    const entry = { ...input, id: newAuditId(), at: this.#now() };
    await this.#pool.query("INSERT INTO audit_log (id, at, actor, action, target, outcome, details) VALUES ($1, $2, $3, $4, $5, $6, $7)", [
      entry.id, entry.at, storable(entry.actor), entry.action, storableOrNull(entry.target), storable(entry.outcome), storableJson(JSON.stringify(entry.details)),
    ]);
    return entry;
  }

  async listAudit(query: AuditQuery): Promise<AuditEntry[]> {
    const { sql, params } = listAuditSql(query, (n) => `$${n}`);
    const { rows } = await this.#pool.query<Omit<AuditEntry, "details"> & { details: string }>(sql, params);
    return rows.map((row) => {
      const restoredEntry = restoredRow(row, { text: ["actor", "target", "outcome"], json: ["details"] });
      return { ...restoredEntry, at: Number(row.at), details: JSON.parse(restoredEntry.details) as Record<string, unknown> };
    });
  }

  async pruneAudit(before: number): Promise<number> {
    return (await this.#pool.query("DELETE FROM audit_log WHERE at < $1", [before])).rowCount ?? 0;
  }

  /** Nothing to close: the pool is its opener's. */
  async close(): Promise<void> {}
}
