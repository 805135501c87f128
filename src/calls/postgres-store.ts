// The call store on PostgreSQL, shared by every instance: a unique constraint makes a platform's retry a duplicate on
// whichever instance it lands, and claims use FOR UPDATE SKIP LOCKED, so instances never take the same call.
import type pg from "pg";
import type { PostgresMigrations } from "../db/postgres.js";
import { emptyCallCounts, newCallId, toCallRecord, type AcceptCallInput, type CallRecord, type CallRow, type CallState, type CallStore } from "./store.js";

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
  ],
};

/** PostgreSQL text cannot hold NUL; a platform's call id, or an error message quoting a model, might. */
const storable = (text: string): string => text.replaceAll("\u0000", "\uFFFD");

export class PostgresCallStore implements CallStore {
  readonly engine = "postgres";
  readonly #pool: pg.Pool;
  readonly #now: () => number;

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
       recording_url, state, reason, payload, next_attempt_at, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16)
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

  async markExtracted(id: string, extraction: CallRecord["extraction"], deliveryErrors: CallRecord["delivery_errors"]): Promise<void> {
    await this.#pool.query(
      `UPDATE calls SET state = 'extracted', extraction = $1, delivery_errors = $2, attempts = attempts + 1, claimed_until = NULL,
       next_attempt_at = NULL, last_error = NULL, reason = NULL, updated_at = $3 WHERE id = $4`,
      [JSON.stringify(extraction), JSON.stringify(deliveryErrors), this.#now(), id],
    );
  }

  async markAttemptFailed(id: string, error: { code: string; message: string }, nextAttemptAt: number | undefined): Promise<void> {
    await this.#pool.query(
      `UPDATE calls SET state = $1, reason = $2, last_error = $3, attempts = attempts + 1, claimed_until = NULL,
       next_attempt_at = $4, updated_at = $5 WHERE id = $6`,
      [nextAttemptAt === undefined ? "extraction_failed" : "extracting", error.code, storable(error.message), nextAttemptAt ?? null, this.#now(), id],
    );
  }

  async replay(id: string): Promise<boolean> {
    const now = this.#now();
    const result = await this.#pool.query(
      `UPDATE calls SET state = 'accepted', attempts = 0, next_attempt_at = $1, claimed_until = NULL, updated_at = $1
       WHERE id = $2 AND (state = 'extraction_failed' OR (state = 'extracted' AND delivery_errors NOT IN ('[]', '')))`,
      [now, id],
    );
    return result.rowCount === 1;
  }

  async findFinished(before: number, limit: number): Promise<string[]> {
    const { rows } = await this.#pool.query<{ id: string }>(
      `SELECT id FROM calls WHERE updated_at < $1 AND (state = 'skipped' OR (state = 'extracted' AND delivery_errors IN ('[]', '')))
       ORDER BY updated_at LIMIT $2`,
      [before, limit],
    );
    return rows.map((row) => row.id);
  }

  async delete(ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    return (await this.#pool.query("DELETE FROM calls WHERE id = ANY($1)", [ids])).rowCount ?? 0;
  }

  async counts(): Promise<Record<CallState, number>> {
    const counts = emptyCallCounts();
    const { rows } = await this.#pool.query<{ state: CallState; n: number }>("SELECT state, COUNT(*) AS n FROM calls GROUP BY state");
    for (const row of rows) counts[row.state] = row.n;
    return counts;
  }

  /** Nothing to close: the pool is its opener's. */
  async close(): Promise<void> {}
}
