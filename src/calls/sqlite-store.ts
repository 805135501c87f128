// The call store on SQLite (`calls.sqlite`): the embedded default, for one process and its own data dir.
import type Database from "better-sqlite3";
import { openDatabase } from "../db/sqlite.js";
import { emptyCallCounts, newCallId, toCallRecord, type AcceptCallInput, type CallRecord, type CallRow, type CallState, type CallStore } from "./store.js";

/** Append-only: each entry runs once (see openDatabase). Version 1 is the schema of the first release. */
export const CALLS_SQLITE_MIGRATIONS: readonly string[] = [
  `
CREATE TABLE IF NOT EXISTS calls (
  id TEXT PRIMARY KEY,
  profile TEXT NOT NULL,
  external_id TEXT NOT NULL,
  state TEXT NOT NULL,
  reason TEXT,
  payload TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER,
  claimed_until INTEGER,
  last_error TEXT,
  extraction TEXT,
  delivery_errors TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (profile, external_id)
);
CREATE INDEX IF NOT EXISTS calls_due ON calls (next_attempt_at) WHERE state IN ('accepted', 'extracting');
`,
  // The platform and its facts of the call, in columns so calls can be listed by source and show duration and phones.
  // Calls stored before this came in Autocalls' shape: 'autocalls', facts unknown (NULL).
  `
ALTER TABLE calls ADD COLUMN source TEXT NOT NULL DEFAULT 'autocalls';
ALTER TABLE calls ADD COLUMN completed INTEGER;
ALTER TABLE calls ADD COLUMN started_at TEXT;
ALTER TABLE calls ADD COLUMN ended_at TEXT;
ALTER TABLE calls ADD COLUMN duration_s REAL;
ALTER TABLE calls ADD COLUMN customer_phone TEXT;
ALTER TABLE calls ADD COLUMN agent_phone TEXT;
ALTER TABLE calls ADD COLUMN recording_url TEXT;
CREATE INDEX IF NOT EXISTS calls_source ON calls (source, external_id);
`,
];

export class SqliteCallStore implements CallStore {
  readonly engine = "sqlite";
  readonly #db: Database.Database;
  /** The worker's bookkeeping (claims, outcomes): a second connection to the same file, with synchronous=NORMAL. */
  readonly #bookkeeping: Database.Database;
  readonly #now: () => number;
  readonly #statements = new Map<Database.Database, Map<string, Database.Statement>>();

  private constructor(db: Database.Database, bookkeeping: Database.Database, now: () => number) {
    this.#db = db;
    this.#bookkeeping = bookkeeping;
    this.#now = now;
  }

  /**
   * Accepting a call commits with `synchronous=FULL`: a call answered 202 survives a power cut, not only a crash.
   * The worker's own steps commit with NORMAL (no fsync on the event loop for each): a power cut may undo the last of
   * them, which only makes a call due again; its deliveries are enqueued idempotently, so none is sent twice.
   */
  static open(file: string, now: () => number = Date.now): SqliteCallStore {
    const db = openDatabase(file, { synchronous: "FULL", migrations: CALLS_SQLITE_MIGRATIONS });
    const bookkeeping = openDatabase(file, { synchronous: "NORMAL", migrations: CALLS_SQLITE_MIGRATIONS });
    return new SqliteCallStore(db, bookkeeping, now);
  }

  /** Prepared once per distinct SQL text and connection; `db` is the FULL one unless told. */
  #sql(source: string, db: Database.Database = this.#db): Database.Statement {
    let prepared = this.#statements.get(db);
    if (!prepared) this.#statements.set(db, (prepared = new Map()));
    let statement = prepared.get(source);
    if (!statement) prepared.set(source, (statement = db.prepare(source)));
    return statement;
  }

  async accept(input: AcceptCallInput): Promise<{ call: CallRecord; created: boolean }> {
    const now = this.#now();
    const id = newCallId();
    const { call } = input;
    const result = this.#sql(
      `INSERT INTO calls (id, profile, external_id, source, completed, started_at, ended_at, duration_s, customer_phone, agent_phone,
       recording_url, state, reason, payload, next_attempt_at, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (profile, external_id) DO NOTHING`,
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
      input.state,
      input.reason ?? null,
      JSON.stringify(input.payload),
      input.state === "accepted" ? now : null,
      now,
      now,
    );
    const row = this.#sql("SELECT * FROM calls WHERE profile = ? AND external_id = ?").get(input.profile, input.externalId ?? id) as CallRow;
    return { call: toCallRecord(row), created: result.changes === 1 };
  }

  async get(id: string): Promise<CallRecord | undefined> {
    const row = this.#sql("SELECT * FROM calls WHERE id = ?").get(id) as CallRow | undefined;
    return row ? toCallRecord(row) : undefined;
  }

  async claimDue(limit: number, leaseMs: number): Promise<CallRecord[]> {
    const now = this.#now();
    const rows = this.#sql(
      `UPDATE calls SET claimed_until = @until, updated_at = @now WHERE id IN (
         SELECT id FROM calls WHERE state IN ('accepted', 'extracting') AND next_attempt_at <= @now
         AND (claimed_until IS NULL OR claimed_until <= @now) ORDER BY next_attempt_at LIMIT @limit)
       RETURNING *`,
      this.#bookkeeping,
    ).all({ now, until: now + leaseMs, limit }) as CallRow[];
    return rows.map(toCallRecord).sort((a, b) => a.next_attempt_at! - b.next_attempt_at!);
  }

  async releaseAbandonedClaims(): Promise<number> {
    return this.#sql("UPDATE calls SET claimed_until = NULL WHERE claimed_until IS NOT NULL", this.#bookkeeping).run().changes;
  }

  async markExtracted(id: string, extraction: CallRecord["extraction"], deliveryErrors: CallRecord["delivery_errors"]): Promise<void> {
    this.#sql(
      `UPDATE calls SET state = 'extracted', extraction = ?, delivery_errors = ?, attempts = attempts + 1, claimed_until = NULL,
       next_attempt_at = NULL, last_error = NULL, reason = NULL, updated_at = ? WHERE id = ?`,
      this.#bookkeeping,
    ).run(JSON.stringify(extraction), JSON.stringify(deliveryErrors), this.#now(), id);
  }

  async markAttemptFailed(id: string, error: { code: string; message: string }, nextAttemptAt: number | undefined): Promise<void> {
    this.#sql(
      `UPDATE calls SET state = ?, reason = ?, last_error = ?, attempts = attempts + 1, claimed_until = NULL,
       next_attempt_at = ?, updated_at = ? WHERE id = ?`,
      this.#bookkeeping,
    ).run(nextAttemptAt === undefined ? "extraction_failed" : "extracting", error.code, error.message, nextAttemptAt ?? null, this.#now(), id);
  }

  async replay(id: string): Promise<boolean> {
    const now = this.#now();
    return (
      this.#sql(
        `UPDATE calls SET state = 'accepted', attempts = 0, next_attempt_at = ?, claimed_until = NULL, updated_at = ?
         WHERE id = ? AND (state = 'extraction_failed' OR (state = 'extracted' AND delivery_errors NOT IN ('[]', '')))`,
      ).run(now, now, id).changes === 1
    );
  }

  async findFinished(before: number, limit: number): Promise<string[]> {
    return (
      this.#sql(
        `SELECT id FROM calls WHERE updated_at < ? AND (state = 'skipped' OR (state = 'extracted' AND delivery_errors IN ('[]', '')))
         ORDER BY updated_at LIMIT ?`,
      ).all(before, limit) as { id: string }[]
    ).map((row) => row.id);
  }

  async delete(ids: readonly string[]): Promise<number> {
    const remove = this.#sql("DELETE FROM calls WHERE id = ?");
    return this.#db.transaction(() => ids.reduce((n, id) => n + remove.run(id).changes, 0))();
  }

  async counts(): Promise<Record<CallState, number>> {
    const counts = emptyCallCounts();
    for (const row of this.#sql("SELECT state, COUNT(*) AS n FROM calls GROUP BY state").all() as { state: CallState; n: number }[]) {
      counts[row.state] = row.n;
    }
    return counts;
  }

  async close(): Promise<void> {
    if (this.#bookkeeping.open) this.#bookkeeping.close();
    if (this.#db.open) this.#db.close();
  }
}
