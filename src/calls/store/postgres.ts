// The call store on PostgreSQL, shared by every instance: a unique constraint makes a platform's retry a duplicate on
// whichever instance it lands, and claims use FOR UPDATE SKIP LOCKED, so instances never take the same call.
import type pg from "pg";
import type { PostgresMigrations } from "../../db/postgres.js";
import { summarizeCallState, type CallFateInput, type CallStage, type CallState, type FateInput, type FateRecord } from "../fates.js";
import {
  emptyCallCounts,
  FINISHED_CALL,
  listCallsSql,
  newCallId,
  REPLAYABLE_CALL,
  SUMMARY_COLUMNS,
  toCallRecord,
  toCallSummary,
  uniqueFates,
  backfillFilterSql,
  newBackfillId,
  toBackfillItem,
  toBackfillRecord,
  type AcceptCallInput,
  type BackfillFilter,
  type BackfillItem,
  type BackfillItemOutcome,
  type BackfillRecord,
  type BackfillRow,
  type ListPosition,
  type CallExtraction,
  type CallListQuery,
  type CallRecord,
  type CallReview,
  type CallRow,
  type CallStore,
  type CallSummary,
  type ExtractionRecord,
  type ExtractionRow,
  type ReextractionInput,
  type RoutedReview,
  historyText,
  toExtractionRecord,
} from "./port.js";

/** Append-only; version 1 mirrors the SQLite schema (times in ms since the epoch, JSON kept as the exact text). */
export const CALLS_POSTGRES_MIGRATIONS: PostgresMigrations = {
  component: "calls",
  steps: [
    `
CREATE TABLE calls (
  id              TEXT    PRIMARY KEY,
  profile         TEXT    NOT NULL,
  external_id     TEXT    NOT NULL,
  state           TEXT    NOT NULL,
  reason          TEXT,
  payload         TEXT    NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at BIGINT,
  claimed_until   BIGINT,
  last_error      TEXT,
  extraction      TEXT,
  delivery_errors TEXT,
  created_at      BIGINT  NOT NULL,
  updated_at      BIGINT  NOT NULL,
  UNIQUE (profile, external_id)
);
CREATE INDEX calls_due ON calls (next_attempt_at) WHERE state IN ('accepted', 'extracting');
CREATE INDEX calls_finished ON calls (updated_at) WHERE state IN ('extracted', 'skipped');
`,
    // The platform and its facts of the call (as SQLite's step 2): calls can be listed by source and show duration and phones.
    `
ALTER TABLE calls ADD COLUMN source TEXT NOT NULL DEFAULT 'autocalls';
ALTER TABLE calls ADD COLUMN completed BOOLEAN;
ALTER TABLE calls ADD COLUMN started_at TEXT;
ALTER TABLE calls ADD COLUMN ended_at TEXT;
ALTER TABLE calls ADD COLUMN duration_s DOUBLE PRECISION;
ALTER TABLE calls ADD COLUMN customer_phone TEXT;
ALTER TABLE calls ADD COLUMN agent_phone TEXT;
ALTER TABLE calls ADD COLUMN recording_url TEXT;
CREATE INDEX calls_source ON calls (source, external_id);
`,
    // Public state, fates, caller numbers and the cursor key (as SQLite's step 3, which says why and how existing calls upgrade).
    `
ALTER TABLE calls ADD COLUMN public_state TEXT NOT NULL DEFAULT 'accepted';
ALTER TABLE calls ADD COLUMN customer_e164 TEXT;
CREATE TABLE call_fates (
  call_id     TEXT    NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
  destination TEXT    NOT NULL,
  event       INTEGER NOT NULL DEFAULT 1,
  fate        TEXT    NOT NULL CHECK (fate IN ('pending', 'delivered', 'failed', 'skipped')),
  reason_code TEXT,
  reason      TEXT,
  delivery_id TEXT    UNIQUE,
  version     INTEGER NOT NULL DEFAULT 0,
  updated_at  BIGINT  NOT NULL,
  PRIMARY KEY (call_id, destination, event)
);
CREATE INDEX call_fates_by_destination ON call_fates (destination, call_id);
INSERT INTO call_fates (call_id, destination, fate, reason_code, reason, updated_at)
  SELECT calls.id, error->>'destination', 'skipped',
         CASE WHEN error->>'path' LIKE '%.when' THEN 'when_failed' ELSE 'transform_failed' END,
         error->>'message', calls.updated_at
  FROM calls CROSS JOIN LATERAL json_array_elements(calls.delivery_errors::json) AS error
  WHERE calls.state = 'extracted' AND calls.delivery_errors LIKE '[%'
  ON CONFLICT DO NOTHING;
UPDATE calls SET public_state = CASE
  WHEN state <> 'extracted' THEN state
  WHEN EXISTS (SELECT 1 FROM call_fates WHERE call_fates.call_id = calls.id) THEN 'delivery_failed'
  ELSE 'extracted' END;
UPDATE calls SET customer_e164 = customer_phone WHERE customer_phone ~ '^\\+[1-9][0-9]{6,14}$';
CREATE INDEX calls_by_time ON calls (created_at, id);
CREATE INDEX calls_by_state ON calls (public_state, created_at, id);
CREATE INDEX calls_by_profile ON calls (profile, created_at, id);
CREATE INDEX calls_by_source ON calls (source, created_at, id);
CREATE INDEX calls_by_external_id ON calls (external_id);
CREATE INDEX calls_by_caller ON calls (profile, customer_e164, created_at, id) WHERE customer_e164 IS NOT NULL;
CREATE TABLE cursor_key (key TEXT NOT NULL);
INSERT INTO cursor_key (key) VALUES (replace(gen_random_uuid()::text, '-', '') || replace(gen_random_uuid()::text, '-', ''));
`,
    // issue 15: review hold (as SQLite's step 4): a reviewer's decision on a call held for review.
    `
ALTER TABLE calls ADD COLUMN reviewed TEXT;
    `,
    // issue 14: extraction history (as SQLite's step 5, which says why and how existing calls upgrade).
    `
CREATE TABLE call_extractions (
  call_id         TEXT    NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
  seq             INTEGER NOT NULL,
  profile_version TEXT,
  extraction      TEXT    NOT NULL,
  trigger         TEXT    NOT NULL CHECK (trigger IN ('live', 'api', 'backfill')),
  event           INTEGER,
  created_at      BIGINT  NOT NULL,
  PRIMARY KEY (call_id, seq)
);
INSERT INTO call_extractions (call_id, seq, profile_version, extraction, trigger, event, created_at)
  SELECT id, 1, NULL, (extraction::jsonb - 'turns')::text, 'live', 1, updated_at FROM calls WHERE extraction IS NOT NULL;
`,
    // issue 14: backfills (as SQLite's step 5, which says why).
    `
CREATE TABLE backfills (
  id                TEXT    PRIMARY KEY,
  profile           TEXT    NOT NULL,
  state             TEXT    NOT NULL CHECK (state IN ('running', 'done', 'cancelled')),
  request           TEXT    NOT NULL,
  redeliver         BOOLEAN NOT NULL,
  total             INTEGER NOT NULL DEFAULT 0,
  done              INTEGER NOT NULL DEFAULT 0,
  changed           INTEGER NOT NULL DEFAULT 0,
  failed            INTEGER NOT NULL DEFAULT 0,
  prompt_tokens     BIGINT  NOT NULL DEFAULT 0,
  completion_tokens BIGINT  NOT NULL DEFAULT 0,
  created_at        BIGINT  NOT NULL,
  updated_at        BIGINT  NOT NULL,
  finished_at       BIGINT
);
CREATE TABLE backfill_items (
  backfill_id     TEXT    NOT NULL REFERENCES backfills (id) ON DELETE CASCADE,
  call_id         TEXT    NOT NULL,
  seq             INTEGER NOT NULL,
  state           TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at BIGINT  NOT NULL,
  claimed_until   BIGINT,
  changed         BOOLEAN,
  error           TEXT,
  PRIMARY KEY (backfill_id, call_id)
);
CREATE INDEX backfill_items_due ON backfill_items (next_attempt_at, seq) WHERE state = 'pending';
`,
  ],
};

/** PostgreSQL text cannot hold NUL; a platform's call id, or an error message quoting a model, might. */
const storable = (text: string): string => text.replaceAll("\u0000", "\uFFFD");
const storableOrNull = (text: string | null): string | null => (text === null ? null : storable(text));

/** The profile version an extraction ran under, as PostgreSQL reads it from the stored extraction (JSON text). */
const POSTGRES_PROFILE_VERSION = "(extraction::json ->> 'profile_version')";

export class PostgresCallStore implements CallStore {
  readonly engine = "postgres";
  readonly #pool: pg.Pool;
  readonly #now: () => number;
  #cursorKey: Promise<Buffer> | undefined;

  /** The pool belongs to whoever opened it (see openPostgres), which also applied CALLS_POSTGRES_MIGRATIONS. */
  constructor(pool: pg.Pool, now: () => number = Date.now) {
    this.#pool = pool;
    this.#now = now;
  }

  async accept(input: AcceptCallInput): Promise<{ call: CallRecord; created: boolean }> {
    const now = this.#now();
    const id = newCallId();
    const externalId = storable(input.externalId ?? id);
    // Another instance inserting the same call at the same moment makes this wait for its commit, then do nothing.
    const { call } = input;
    const text = (value: string | null) => (value === null ? null : storable(value));
    const inserted = await this.#pool.query<CallRow>(
      `INSERT INTO calls (id, profile, external_id, source, completed, started_at, ended_at, duration_s, customer_phone, agent_phone,
       recording_url, state, public_state, reason, payload, next_attempt_at, created_at, updated_at, customer_e164)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13, $14, $15, $16, $16, $17)
       ON CONFLICT (profile, external_id) DO NOTHING RETURNING *`,
      [
        id,
        input.profile,
        externalId,
        input.source,
        call.completed,
        text(call.started_at),
        text(call.ended_at),
        call.duration_s,
        text(call.customer_phone),
        text(call.agent_phone),
        text(call.recording_url),
        input.state,
        input.reason === undefined ? null : storable(input.reason),
        JSON.stringify(input.payload),
        input.state === "accepted" ? now : null,
        now,
        input.customerE164 ?? null,
      ],
    );
    if (inserted.rows[0]) return { call: toCallRecord(inserted.rows[0]), created: true };
    const existing = await this.#pool.query<CallRow>("SELECT * FROM calls WHERE profile = $1 AND external_id = $2", [input.profile, externalId]);
    return { call: toCallRecord(existing.rows[0]!), created: false };
  }

  async get(id: string): Promise<CallRecord | undefined> {
    const { rows } = await this.#pool.query<CallRow>("SELECT * FROM calls WHERE id = $1", [id]);
    return rows[0] ? toCallRecord(rows[0]) : undefined;
  }

  async claimDue(limit: number, leaseMs: number): Promise<CallRecord[]> {
    const now = this.#now();
    // Rows another instance is claiming right now are skipped, not waited for: each instance takes its own.
    const { rows } = await this.#pool.query<CallRow>(
      `UPDATE calls SET claimed_until = $2, updated_at = $1 WHERE id IN (
         SELECT id FROM calls WHERE state IN ('accepted', 'extracting') AND next_attempt_at <= $1
         AND (claimed_until IS NULL OR claimed_until <= $1) ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED)
       RETURNING *`,
      [now, now + leaseMs, limit],
    );
    return rows.map(toCallRecord).sort((a, b) => a.next_attempt_at! - b.next_attempt_at!);
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
        [JSON.stringify(extraction), now, id],
      );
      if (routed) {
        await client.query(
          "UPDATE call_extractions SET event = $1 WHERE call_id = $2 AND seq = (SELECT MAX(seq) FROM call_extractions WHERE call_id = $2)",
          [routed.event, id],
        );
      } else {
        await this.#appendExtraction(client, id, { extraction, trigger: "live", event: 1 }, now);
      }
      await this.#writeFates(client, [id], fates.map((fate) => ({ ...fate, call_id: id })), now);
    });
  }

  async markHeld(id: string, extraction: CallExtraction): Promise<void> {
    const now = this.#now();
    await this.#transaction(async (client) => {
      await client.query(
        `UPDATE calls SET state = 'needs_review', public_state = 'needs_review', extraction = $1, attempts = attempts + 1, claimed_until = NULL,
         next_attempt_at = NULL, last_error = NULL, reason = NULL, updated_at = $2 WHERE id = $3`,
        [JSON.stringify(extraction), now, id],
      );
      await this.#appendExtraction(client, id, { extraction, trigger: "live", event: 1 }, now);
    });
  }

  async decideReview(id: string, review: CallReview): Promise<boolean> {
    const now = this.#now();
    // A second review racing this one waits for its row lock, then finds the call no longer needs_review: 0 rows.
    const decided = review.approved
      ? await this.#pool.query(
          `UPDATE calls SET state = 'accepted', public_state = 'accepted', reviewed = $1, attempts = 0, next_attempt_at = $2, claimed_until = NULL,
           reason = NULL, updated_at = $2 WHERE id = $3 AND state = 'needs_review'`,
          [JSON.stringify(review), now, id],
        )
      : await this.#pool.query(
          `UPDATE calls SET state = 'skipped', public_state = 'skipped', reviewed = $1, reason = $2, updated_at = $3 WHERE id = $4 AND state = 'needs_review'`,
          [JSON.stringify(review), storableOrNull(review.reason), now, id],
        );
    return decided.rowCount === 1;
  }

  async recordReextraction(id: string, input: ReextractionInput): Promise<number | undefined> {
    const now = this.#now();
    return this.#transaction(async (client) => {
      // The call's row lock also orders concurrent re-extractions of one call: each takes the next seq.
      const updated = await client.query(
        input.hold
          ? `UPDATE calls SET extraction = $1, updated_at = $2, state = 'needs_review', public_state = 'needs_review', reviewed = NULL
             WHERE id = $3 AND state = 'extracted'`
          : "UPDATE calls SET extraction = $1, updated_at = $2 WHERE id = $3 AND state = 'extracted'",
        [JSON.stringify(input.extraction), now, id],
      );
      if (updated.rowCount !== 1) return undefined;
      const seq = await this.#appendExtraction(client, id, input, now);
      await this.#writeFates(client, [id], input.fates.map((fate) => ({ ...fate, call_id: id })), now);
      return seq;
    });
  }

  async #appendExtraction(
    client: pg.PoolClient,
    id: string,
    input: Pick<ReextractionInput, "extraction" | "event"> & { trigger: ExtractionRecord["trigger"] },
    now: number,
  ): Promise<number> {
    const { rows } = await client.query<{ seq: number }>(
      `INSERT INTO call_extractions (call_id, seq, profile_version, extraction, trigger, event, created_at)
       SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4, $5, $6 FROM call_extractions WHERE call_id = $1
       RETURNING seq`,
      [id, input.extraction.profile_version ?? null, storable(historyText(input.extraction)), input.trigger, input.event, now],
    );
    return rows[0]!.seq;
  }

  async listExtractions(callId: string, limit: number): Promise<ExtractionRecord[]> {
    const { rows } = await this.#pool.query<ExtractionRow>(
      "SELECT seq, profile_version, trigger, event, extraction, created_at FROM call_extractions WHERE call_id = $1 ORDER BY seq DESC LIMIT $2",
      [callId, limit],
    );
    return rows.map(toExtractionRecord);
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
    const { rows: calls } = await client.query<{ id: string; state: CallStage; public_state: CallState }>(
      "SELECT id, state, public_state FROM calls WHERE id = ANY($1) ORDER BY id FOR UPDATE",
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
      .map((call) => ({ id: call.id, was: call.public_state, state: summarizeCallState(call.state, stored.filter((fate) => fate.call_id === call.id)) }))
      .filter((call) => call.state !== call.was);
    if (changed.length === 0) return;
    await client.query("UPDATE calls SET public_state = v.state FROM unnest($1::text[], $2::text[]) AS v(id, state) WHERE calls.id = v.id", [
      changed.map((call) => call.id),
      changed.map((call) => call.state),
    ]);
  }

  async #transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    try {
      await client.query("BEGIN");
      const result = await work(client);
      await client.query("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async listFates(callId: string): Promise<FateRecord[]> {
    const { rows } = await this.#pool.query<FateRecord>(
      `SELECT destination, event, fate, reason_code, reason, delivery_id, version, updated_at FROM call_fates
       WHERE call_id = $1 ORDER BY event, destination`,
      [callId],
    );
    return rows;
  }

  async list(query: CallListQuery): Promise<CallSummary[]> {
    const { sql, params } = listCallsSql(
      { ...query, externalId: query.externalId === undefined ? undefined : storable(query.externalId) },
      (n) => `$${n}`,
    );
    return (await this.#pool.query<CallRow>(sql, params)).rows.map(toCallSummary);
  }

  async callerHistory(profile: string, customerE164: string, limit: number): Promise<{ recent: CallSummary[]; latest: CallRecord | undefined }> {
    const [recent, latest] = await Promise.all([
      this.#pool.query<CallRow>(
        `SELECT ${SUMMARY_COLUMNS} FROM calls WHERE profile = $1 AND customer_e164 = $2 ORDER BY created_at DESC, id DESC LIMIT $3`,
        [profile, customerE164, limit],
      ),
      this.#pool.query<CallRow>(
        `SELECT * FROM calls WHERE profile = $1 AND customer_e164 = $2 AND extraction IS NOT NULL ORDER BY created_at DESC, id DESC LIMIT 1`,
        [profile, customerE164],
      ),
    ]);
    return { recent: recent.rows.map(toCallSummary), latest: latest.rows[0] ? toCallRecord(latest.rows[0]) : undefined };
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

  async createBackfill(input: { filter: BackfillFilter; limit?: number; redeliver: boolean; request: Record<string, unknown> }): Promise<BackfillRecord> {
    const now = this.#now();
    const id = newBackfillId();
    const params: unknown[] = [id, now];
    const where = backfillFilterSql(input.filter, params, (n) => `$${n}`, POSTGRES_PROFILE_VERSION);
    const limit = input.limit === undefined ? "" : `LIMIT ${Math.trunc(input.limit)}`;
    return this.#transaction(async (client) => {
      await client.query(
        `INSERT INTO backfills (id, profile, state, request, redeliver, created_at, updated_at) VALUES ($1, $2, 'running', $3, $4, $5, $5)`,
        [id, input.filter.profile, JSON.stringify(input.request), input.redeliver, now],
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
      return toBackfillRecord(rows[0]!);
    });
  }

  async getBackfill(id: string): Promise<BackfillRecord | undefined> {
    const { rows } = await this.#pool.query<BackfillRow>("SELECT * FROM backfills WHERE id = $1", [id]);
    return rows[0] ? toBackfillRecord(rows[0]) : undefined;
  }

  async cancelBackfill(id: string): Promise<BackfillRecord | undefined> {
    const now = this.#now();
    await this.#pool.query("UPDATE backfills SET state = 'cancelled', finished_at = $1, updated_at = $1 WHERE id = $2 AND state = 'running'", [now, id]);
    return this.getBackfill(id);
  }

  async claimBackfillItems(limit: number, leaseMs: number): Promise<BackfillItem[]> {
    const now = this.#now();
    // As claimDue: items another instance is claiming right now are skipped, not waited for.
    const { rows } = await this.#pool.query<Parameters<typeof toBackfillItem>[0]>(
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
    await this.#transaction(async (client) => {
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
        ],
      );
    });
  }

  async listBackfillCandidates(filter: BackfillFilter, after: ListPosition | undefined, limit: number): Promise<CallRecord[]> {
    const params: unknown[] = [];
    let where = backfillFilterSql(filter, params, (n) => `$${n}`, POSTGRES_PROFILE_VERSION);
    if (after) {
      params.push(after.created_at, after.id);
      where += ` AND (created_at, id) < ($${params.length - 1}, $${params.length})`;
    }
    params.push(limit);
    const { rows } = await this.#pool.query<CallRow>(`SELECT * FROM calls WHERE ${where} ORDER BY created_at DESC, id DESC LIMIT $${params.length}`, params);
    return rows.map(toCallRecord);
  }

  async counts(): Promise<Record<CallState, number>> {
    const counts = emptyCallCounts();
    const { rows } = await this.#pool.query<{ public_state: CallState; n: number }>("SELECT public_state, COUNT(*) AS n FROM calls GROUP BY public_state");
    for (const row of rows) counts[row.public_state] = row.n;
    return counts;
  }

  /** Nothing to close: the pool is its opener's. */
  async close(): Promise<void> {}
}
