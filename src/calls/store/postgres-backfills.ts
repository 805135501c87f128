// Backfills on PostgreSQL: a backfill's items fixed when it starts, claimed for a lease with FOR UPDATE SKIP LOCKED (as
// due calls are, so instances never take the same item), finished with their backfill's counts in one transaction,
// deferred and resumed with their profile's daily budget. The call store (postgres.ts) serves these through this.
import type pg from "pg";
import { inTransaction, restoredRow, storable, storableJson } from "../../db/postgres.js";
import { newBackfillId, type BackfillFilter, type BackfillItem, type BackfillItemOutcome, type BackfillRecord, type BackfillStore, type CallRecord, type ListPosition } from "./port.js";
import { backfillFilterSql } from "./queries.js";
import { CALL_COLUMNS, CALL_JSON_FIELDS, CALL_TEXT_FIELDS, toBackfillItem, toBackfillRecord, toCallRecord, type BackfillItemRow, type BackfillRow, type CallRow } from "./rows.js";

/** The profile version an extraction ran under, as PostgreSQL reads it from the stored extraction (JSON text). */
export const POSTGRES_PROFILE_VERSION = "(extraction::json ->> 'profile_version')";

const backfillRecord = (row: BackfillRow): BackfillRecord => toBackfillRecord(restoredRow(row, { json: ["request"] }));
const callRecord = (row: CallRow): CallRecord => toCallRecord(restoredRow(row, { text: CALL_TEXT_FIELDS, json: CALL_JSON_FIELDS }));

export class PostgresBackfillStore implements BackfillStore {
  readonly #pool: pg.Pool;
  readonly #now: () => number;

  constructor(pool: pg.Pool, now: () => number) {
    this.#pool = pool;
    this.#now = now;
  }

  async createBackfill(input: { filter: BackfillFilter; limit?: number; redeliver: boolean; request: Record<string, unknown> }): Promise<BackfillRecord> {
    const now = this.#now();
    const id = newBackfillId();
    const params: unknown[] = [id, now];
    const where = backfillFilterSql(input.filter, params, (n) => `$${n}`, POSTGRES_PROFILE_VERSION);
    const limit = input.limit === undefined ? "" : `LIMIT ${Math.trunc(input.limit)}`;
    return inTransaction(this.#pool, async (client) => {
      await client.query(
        `INSERT INTO backfills (id, profile, state, request, redeliver, created_at, updated_at) VALUES ($1, $2, 'running', $3, $4, $5, $5)`,
        [id, input.filter.profile, storableJson(JSON.stringify(input.request)), input.redeliver, now],
      );
      const inserted = await client.query(
        `INSERT INTO backfill_items (backfill_id, call_id, seq, next_attempt_at)
         SELECT $1, id, ROW_NUMBER() OVER (ORDER BY created_at DESC, id DESC), $2 FROM calls WHERE ${where} ORDER BY created_at DESC, id DESC ${limit}`,
        params,
      );
      const total = inserted.rowCount ?? 0;
      const { rows } = await client.query<BackfillRow>(
        `UPDATE backfills SET total = $1, state = CASE WHEN $1 = 0 THEN 'done' ELSE state END, finished_at = CASE WHEN $1 = 0 THEN $2::bigint END
         WHERE id = $3 RETURNING *`,
        [total, now, id],
      );
      return backfillRecord(rows[0]!);
    });
  }

  async getBackfill(id: string): Promise<BackfillRecord | undefined> {
    const { rows } = await this.#pool.query<BackfillRow>("SELECT * FROM backfills WHERE id = $1", [id]);
    return rows[0] ? backfillRecord(rows[0]) : undefined;
  }

  async cancelBackfill(id: string): Promise<BackfillRecord | undefined> {
    const now = this.#now();
    await this.#pool.query("UPDATE backfills SET state = 'cancelled', finished_at = $1, updated_at = $1 WHERE id = $2 AND state = 'running'", [now, id]);
    return this.getBackfill(id);
  }

  async claimBackfillItems(limit: number, leaseMs: number): Promise<BackfillItem[]> {
    const now = this.#now();
    // As claimDue: items another instance is claiming right now are skipped, not waited for.
    const { rows } = await this.#pool.query<BackfillItemRow>(
      `UPDATE backfill_items AS i SET claimed_until = $2 FROM (
         SELECT i.backfill_id, i.call_id, b.redeliver FROM backfill_items AS i JOIN backfills AS b ON b.id = i.backfill_id
         WHERE i.state = 'pending' AND b.state = 'running' AND i.next_attempt_at <= $1 AND (i.claimed_until IS NULL OR i.claimed_until <= $1)
         ORDER BY i.next_attempt_at, i.seq LIMIT $3 FOR UPDATE OF i SKIP LOCKED) AS picked
       WHERE i.backfill_id = picked.backfill_id AND i.call_id = picked.call_id
       RETURNING i.backfill_id, i.call_id, i.attempts, picked.redeliver`,
      [now, now + leaseMs, limit],
    );
    return rows.map(toBackfillItem);
  }

  async finishBackfillItem(item: Pick<BackfillItem, "backfill_id" | "call_id">, outcome: BackfillItemOutcome): Promise<void> {
    const now = this.#now();
    const key = [item.backfill_id, item.call_id];
    if (outcome.kind === "retry") {
      await this.#pool.query(
        `UPDATE backfill_items SET attempts = attempts + 1, next_attempt_at = $3, claimed_until = NULL, error = $4
         WHERE backfill_id = $1 AND call_id = $2 AND state = 'pending'`,
        [...key, outcome.retryAt, storable(outcome.error)],
      );
      return;
    }
    const done = outcome.kind === "done";
    await inTransaction(this.#pool, async (client) => {
      const finished = await client.query(
        `UPDATE backfill_items SET state = $3, attempts = attempts + 1, claimed_until = NULL, changed = $4, error = $5
         WHERE backfill_id = $1 AND call_id = $2 AND state = 'pending'`,
        [...key, done ? "done" : "failed", done ? outcome.changed : null, done ? null : storable(outcome.error)],
      );
      // Finished already (by a worker whose lease ran out): counted once.
      if (finished.rowCount !== 1) return;
      await client.query(
        `UPDATE backfills SET done = done + 1, changed = changed + $2, failed = failed + $3, prompt_tokens = prompt_tokens + $4,
         completion_tokens = completion_tokens + $5, updated_at = $6,
         cost_usd = CASE WHEN $7::double precision IS NULL THEN cost_usd ELSE COALESCE(cost_usd, 0) + $7::double precision END,
         finished_at = CASE WHEN state = 'running' AND done + 1 >= total THEN $6 ELSE finished_at END,
         state = CASE WHEN state = 'running' AND done + 1 >= total THEN 'done' ELSE state END
         WHERE id = $1`,
        [
          item.backfill_id,
          done && outcome.changed ? 1 : 0,
          done ? 0 : 1,
          done ? outcome.usage.prompt_tokens : 0,
          done ? outcome.usage.completion_tokens : 0,
          now,
          done ? outcome.cost_usd : null,
        ],
      );
    });
  }

  async deferBackfills(profile: string, until: number, claimed: readonly Pick<BackfillItem, "backfill_id" | "call_id">[] = []): Promise<number> {
    const result = await this.#pool.query(
      `WITH mine AS (SELECT * FROM unnest($3::text[], $4::text[]) AS m (backfill_id, call_id))
       UPDATE backfill_items SET next_attempt_at = GREATEST(next_attempt_at, $2),
       claimed_until = CASE WHEN (backfill_id, call_id) IN (SELECT backfill_id, call_id FROM mine) THEN NULL ELSE claimed_until END
       WHERE state = 'pending' AND backfill_id IN (SELECT id FROM backfills WHERE profile = $1 AND state = 'running')
       AND (next_attempt_at < $2 OR (backfill_id, call_id) IN (SELECT backfill_id, call_id FROM mine))`,
      [profile, until, claimed.map((item) => item.backfill_id), claimed.map((item) => item.call_id)],
    );
    return result.rowCount ?? 0;
  }

  async resumeBackfills(profile: string): Promise<number> {
    const result = await this.#pool.query(
      `UPDATE backfill_items SET next_attempt_at = $2
       WHERE state = 'pending' AND next_attempt_at > $2 AND backfill_id IN (SELECT id FROM backfills WHERE profile = $1 AND state = 'running')`,
      [profile, this.#now()],
    );
    return result.rowCount ?? 0;
  }

  async listBackfillCandidates(filter: BackfillFilter, after: ListPosition | undefined, limit: number): Promise<CallRecord[]> {
    const params: unknown[] = [];
    let where = backfillFilterSql(filter, params, (n) => `$${n}`, POSTGRES_PROFILE_VERSION);
    if (after) {
      params.push(after.created_at, after.id);
      where += ` AND (created_at, id) < ($${params.length - 1}, $${params.length})`;
    }
    params.push(limit);
    const { rows } = await this.#pool.query<CallRow>(
      `SELECT ${CALL_COLUMNS} FROM calls WHERE ${where} ORDER BY created_at DESC, id DESC LIMIT $${params.length}`,
      params,
    );
    return rows.map(callRecord);
  }
}
