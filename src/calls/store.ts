// The durable record of every accepted call (SQLite): idempotent on (profile, call id), with the extraction state machine.
import type Database from "better-sqlite3";
import { randomUUID } from "node:crypto";
import { openDatabase } from "../sqlite.js";

/**
 * accepted → (extraction fails, retries left) extracting → … → extracted
 *                                    ↘ (out of attempts, or a failure retrying cannot fix) extraction_failed → (replay) accepted
 * skipped: the call was stored but not extracted (its status was not a completed one); `reason` says why.
 */
export const CALL_STATES = ["accepted", "extracting", "extracted", "extraction_failed", "skipped"] as const;
export type CallState = (typeof CALL_STATES)[number];

export interface CallRecord {
  id: string;
  profile: string;
  external_id: string;
  state: CallState;
  reason: string | null;
  payload: unknown;
  attempts: number;
  next_attempt_at: number | null;
  last_error: string | null;
  extraction: { extracted_variables: Record<string, unknown>; meta: Record<string, unknown> } | null;
  delivery_errors: { destination: string; path: string; message: string }[];
  created_at: number;
  updated_at: number;
}

interface Row {
  id: string;
  profile: string;
  external_id: string;
  state: CallState;
  reason: string | null;
  payload: string;
  attempts: number;
  next_attempt_at: number | null;
  last_error: string | null;
  extraction: string | null;
  delivery_errors: string | null;
  created_at: number;
  updated_at: number;
}

/** Append-only: each entry runs once (see openDatabase). */
const MIGRATIONS: readonly string[] = [
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
];

function toRecord(row: Row): CallRecord {
  return {
    id: row.id,
    profile: row.profile,
    external_id: row.external_id,
    state: row.state,
    reason: row.reason,
    payload: JSON.parse(row.payload),
    attempts: row.attempts,
    next_attempt_at: row.next_attempt_at,
    last_error: row.last_error,
    extraction: row.extraction ? JSON.parse(row.extraction) : null,
    delivery_errors: row.delivery_errors ? JSON.parse(row.delivery_errors) : [],
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export class CallStore {
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
  static open(file: string, now: () => number = Date.now): CallStore {
    const db = openDatabase(file, { synchronous: "FULL", migrations: MIGRATIONS });
    const bookkeeping = openDatabase(file, { synchronous: "NORMAL", migrations: MIGRATIONS });
    return new CallStore(db, bookkeeping, now);
  }

  /** Prepared once per distinct SQL text and connection; `db` is the FULL one unless told. */
  #sql(source: string, db: Database.Database = this.#db): Database.Statement {
    let prepared = this.#statements.get(db);
    if (!prepared) this.#statements.set(db, (prepared = new Map()));
    let statement = prepared.get(source);
    if (!statement) prepared.set(source, (statement = db.prepare(source)));
    return statement;
  }

  /** Stores a call unless (profile, external id) is known; either way returns the stored call. */
  accept(input: { profile: string; externalId?: string; payload: unknown; state: "accepted" | "skipped"; reason?: string }): { call: CallRecord; created: boolean } {
    const now = this.#now();
    const id = `call_${randomUUID().replaceAll("-", "")}`;
    const result = this.#sql(
      `INSERT INTO calls (id, profile, external_id, state, reason, payload, next_attempt_at, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (profile, external_id) DO NOTHING`,
    ).run(id, input.profile, input.externalId ?? id, input.state, input.reason ?? null, JSON.stringify(input.payload), input.state === "accepted" ? now : null, now, now);
    const row = this.#sql("SELECT * FROM calls WHERE profile = ? AND external_id = ?").get(input.profile, input.externalId ?? id) as Row;
    return { call: toRecord(row), created: result.changes === 1 };
  }

  get(id: string): CallRecord | undefined {
    const row = this.#sql("SELECT * FROM calls WHERE id = ?").get(id) as Row | undefined;
    return row ? toRecord(row) : undefined;
  }

  /** Due calls whose lease (if any) has run out: a worker killed mid-extraction leaves its calls to be picked up again. */
  findDue(limit: number): string[] {
    const now = this.#now();
    return (
      this.#sql(
        `SELECT id FROM calls WHERE state IN ('accepted', 'extracting') AND next_attempt_at <= ?
         AND (claimed_until IS NULL OR claimed_until <= ?) ORDER BY next_attempt_at LIMIT ?`,
      ).all(now, now, limit) as { id: string }[]
    ).map((row) => row.id);
  }

  /**
   * Frees every claim. Each data dir belongs to one process, so claims found at start-up were left by a process that
   * died mid-extraction: its calls are due again at once rather than when the lease would have run out.
   */
  releaseClaims(): number {
    return this.#sql("UPDATE calls SET claimed_until = NULL WHERE claimed_until IS NOT NULL", this.#bookkeeping).run().changes;
  }

  /** Takes a due call for `leaseMs`; undefined if another worker has it or it is no longer due. */
  claim(id: string, leaseMs: number): CallRecord | undefined {
    const now = this.#now();
    const claimed = this.#sql(
      `UPDATE calls SET claimed_until = ?, updated_at = ? WHERE id = ? AND state IN ('accepted', 'extracting')
       AND next_attempt_at <= ? AND (claimed_until IS NULL OR claimed_until <= ?)`,
      this.#bookkeeping,
    ).run(now + leaseMs, now, id, now, now);
    return claimed.changes === 1 ? this.get(id) : undefined;
  }

  markExtracted(id: string, extraction: CallRecord["extraction"], deliveryErrors: CallRecord["delivery_errors"]): void {
    this.#sql(
      `UPDATE calls SET state = 'extracted', extraction = ?, delivery_errors = ?, attempts = attempts + 1, claimed_until = NULL,
       next_attempt_at = NULL, last_error = NULL, reason = NULL, updated_at = ? WHERE id = ?`,
      this.#bookkeeping,
    ).run(JSON.stringify(extraction), JSON.stringify(deliveryErrors), this.#now(), id);
  }

  /** Records a failed attempt: retried at `nextAttemptAt`, or marked extraction_failed when that is undefined. */
  markAttemptFailed(id: string, error: { code: string; message: string }, nextAttemptAt: number | undefined): void {
    this.#sql(
      `UPDATE calls SET state = ?, reason = ?, last_error = ?, attempts = attempts + 1, claimed_until = NULL,
       next_attempt_at = ?, updated_at = ? WHERE id = ?`,
      this.#bookkeeping,
    ).run(nextAttemptAt === undefined ? "extraction_failed" : "extracting", error.code, error.message, nextAttemptAt ?? null, this.#now(), id);
  }

  /**
   * Runs a call again now, attempts starting over: after extraction_failed, or after a destination's expression failed
   * on it (its other deliveries are not sent twice: enqueueing is idempotent per destination). False otherwise.
   */
  replay(id: string): boolean {
    const now = this.#now();
    return (
      this.#sql(
        `UPDATE calls SET state = 'accepted', attempts = 0, next_attempt_at = ?, claimed_until = NULL, updated_at = ?
         WHERE id = ? AND (state = 'extraction_failed' OR (state = 'extracted' AND delivery_errors NOT IN ('[]', '')))`,
      ).run(now, now, id).changes === 1
    );
  }

  /** Finished calls (extracted with every delivery enqueued, or skipped) last changed before `before`. */
  findFinished(before: number, limit: number): string[] {
    return (
      this.#sql(
        `SELECT id FROM calls WHERE updated_at < ? AND (state = 'skipped' OR (state = 'extracted' AND delivery_errors IN ('[]', '')))
         ORDER BY updated_at LIMIT ?`,
      ).all(before, limit) as { id: string }[]
    ).map((row) => row.id);
  }

  delete(ids: readonly string[]): number {
    const remove = this.#sql("DELETE FROM calls WHERE id = ?");
    return this.#db.transaction(() => ids.reduce((n, id) => n + remove.run(id).changes, 0))();
  }

  counts(): Record<CallState, number> {
    const counts = Object.fromEntries(CALL_STATES.map((state) => [state, 0])) as Record<CallState, number>;
    for (const row of this.#sql("SELECT state, COUNT(*) AS n FROM calls GROUP BY state").all() as { state: CallState; n: number }[]) {
      counts[row.state] = row.n;
    }
    return counts;
  }

  close(): void {
    this.#bookkeeping.close();
    this.#db.close();
  }
}
