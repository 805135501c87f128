// The call store on SQLite (`calls.sqlite`): the embedded default, for one process and its own data dir.
import type Database from "better-sqlite3";
import { openDatabase, PreparedStatements } from "../../db/sqlite.js";
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
  // Calls can be listed and filtered by their public state and by destination, and looked up by caller:
  // - public_state, kept beside the stage in every transaction that changes the stage or a fate;
  // - call_fates, each destination's fate per event (enqueued, skipped and why, then each delivery's outcome);
  // - customer_e164, the customer's number in E.164, for caller memory;
  // - cursor_key, the key list cursors are signed with.
  // Existing calls: their expression failures (delivery_errors) become skipped fates, their state follows from them
  // (an extracted call's deliveries are projected into fates by the worker's fate sweep, which every delivery in the
  // upgraded outbox is marked for), and a number already in E.164 is taken as is.
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
  updated_at  INTEGER NOT NULL,
  PRIMARY KEY (call_id, destination, event)
);
CREATE INDEX call_fates_by_destination ON call_fates (destination, call_id);
INSERT INTO call_fates (call_id, destination, fate, reason_code, reason, updated_at)
  SELECT calls.id, json_extract(error.value, '$.destination'), 'skipped',
         CASE WHEN json_extract(error.value, '$.path') LIKE '%.when' THEN 'when_failed' ELSE 'transform_failed' END,
         json_extract(error.value, '$.message'), calls.updated_at
  FROM calls, json_each(calls.delivery_errors) AS error
  WHERE calls.state = 'extracted' AND json_valid(calls.delivery_errors)
  ON CONFLICT DO NOTHING;
UPDATE calls SET public_state = CASE
  WHEN state <> 'extracted' THEN state
  WHEN EXISTS (SELECT 1 FROM call_fates WHERE call_fates.call_id = calls.id) THEN 'delivery_failed'
  ELSE 'extracted' END;
UPDATE calls SET customer_e164 = customer_phone
  WHERE customer_phone GLOB '+[1-9]*' AND length(customer_phone) BETWEEN 8 AND 16 AND substr(customer_phone, 2) NOT GLOB '*[^0-9]*';
CREATE INDEX calls_by_time ON calls (created_at, id);
CREATE INDEX calls_by_state ON calls (public_state, created_at, id);
CREATE INDEX calls_by_profile ON calls (profile, created_at, id);
CREATE INDEX calls_by_source ON calls (source, created_at, id);
CREATE INDEX calls_by_external_id ON calls (external_id);
CREATE INDEX calls_by_caller ON calls (profile, customer_e164, created_at, id) WHERE customer_e164 IS NOT NULL;
CREATE TABLE cursor_key (key TEXT NOT NULL);
INSERT INTO cursor_key (key) VALUES (lower(hex(randomblob(32))));
`,
  // issue 15: review hold. A reviewer's decision on a call held for review (JSON: approved or skipped and why, the
  // corrected values). The queue itself (public_state 'needs_review') is read through calls_by_state.
  `
ALTER TABLE calls ADD COLUMN reviewed TEXT;
  `,
  // issue 14: extraction history. Every extraction a call gets is kept (seq 1, 2, 3…; the newest is `calls.extraction`,
  // the current one), with the profile version it ran under, what made it, and the delivery event it was routed as.
  // Existing calls' extraction becomes seq 1 (event 1, version unknown), without its turns: the call keeps those once.
  `
CREATE TABLE call_extractions (
  call_id         TEXT    NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
  seq             INTEGER NOT NULL,
  profile_version TEXT,
  extraction      TEXT    NOT NULL,
  trigger         TEXT    NOT NULL CHECK (trigger IN ('live', 'api', 'backfill')),
  event           INTEGER,
  created_at      INTEGER NOT NULL,
  PRIMARY KEY (call_id, seq)
);
INSERT INTO call_extractions (call_id, seq, profile_version, extraction, trigger, event, created_at)
  SELECT id, 1, NULL, json_remove(extraction, '$.turns'), 'live', 1, updated_at FROM calls WHERE extraction IS NOT NULL AND json_valid(extraction);
`,
  // issue 14: backfills. A backfill re-extracts a profile's past calls in the background, behind live ones: its calls
  // are its items, fixed when it starts, each claimed for a lease like a due call, so a restart redoes none that finished.
  `
CREATE TABLE backfills (
  id                TEXT    PRIMARY KEY,
  profile           TEXT    NOT NULL,
  state             TEXT    NOT NULL CHECK (state IN ('running', 'done', 'cancelled')),
  request           TEXT    NOT NULL,
  redeliver         INTEGER NOT NULL,
  total             INTEGER NOT NULL DEFAULT 0,
  done              INTEGER NOT NULL DEFAULT 0,
  changed           INTEGER NOT NULL DEFAULT 0,
  failed            INTEGER NOT NULL DEFAULT 0,
  prompt_tokens     INTEGER NOT NULL DEFAULT 0,
  completion_tokens INTEGER NOT NULL DEFAULT 0,
  created_at        INTEGER NOT NULL,
  updated_at        INTEGER NOT NULL,
  finished_at       INTEGER
);
CREATE TABLE backfill_items (
  backfill_id     TEXT    NOT NULL REFERENCES backfills (id) ON DELETE CASCADE,
  call_id         TEXT    NOT NULL,
  seq             INTEGER NOT NULL,
  state           TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  claimed_until   INTEGER,
  changed         INTEGER,
  error           TEXT,
  PRIMARY KEY (backfill_id, call_id)
);
CREATE INDEX backfill_items_due ON backfill_items (next_attempt_at, seq) WHERE state = 'pending';
`,
];

/** The profile version an extraction ran under, as SQLite reads it from the stored extraction. */
const SQLITE_PROFILE_VERSION = "json_extract(extraction, '$.profile_version')";

export class SqliteCallStore implements CallStore {
  readonly engine = "sqlite";
  readonly #db: Database.Database;
  /** The worker's bookkeeping (claims, outcomes): a second connection to the same file, with synchronous=NORMAL. */
  readonly #bookkeeping: Database.Database;
  readonly #now: () => number;
  readonly #statements = new PreparedStatements();

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
    return this.#statements.get(db, source);
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
      this.#writeFates(db, [id], fates.map((fate) => ({ ...fate, call_id: id })), now);
    })();
  }

  async markHeld(id: string, extraction: CallExtraction): Promise<void> {
    const now = this.#now();
    const db = this.#bookkeeping;
    db.transaction(() => {
      this.#sql(
        `UPDATE calls SET state = 'needs_review', public_state = 'needs_review', extraction = ?, attempts = attempts + 1, claimed_until = NULL,
         next_attempt_at = NULL, last_error = NULL, reason = NULL, updated_at = ? WHERE id = ?`,
        db,
      ).run(JSON.stringify(extraction), now, id);
      this.#appendExtraction(db, id, { extraction, trigger: "live", event: 1 }, now);
    })();
  }

  async decideReview(id: string, review: CallReview): Promise<boolean> {
    const now = this.#now();
    // On the FULL connection: a decision answered 200 survives a power cut, as an accepted call does.
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
      const updated = (
        input.hold
          ? this.#sql(
              `UPDATE calls SET extraction = ?, updated_at = ?, state = 'needs_review', public_state = 'needs_review', reviewed = NULL
               WHERE id = ? AND state = 'extracted'`,
              db,
            )
          : this.#sql("UPDATE calls SET extraction = ?, updated_at = ? WHERE id = ? AND state = 'extracted'", db)
      ).run(JSON.stringify(input.extraction), now, id);
      if (updated.changes !== 1) return undefined;
      const seq = this.#appendExtraction(db, id, input, now);
      this.#writeFates(db, [id], input.fates.map((fate) => ({ ...fate, call_id: id })), now);
      return seq;
    })();
  }

  #appendExtraction(db: Database.Database, id: string, input: Pick<ReextractionInput, "extraction" | "event"> & { trigger: ExtractionRecord["trigger"] }, now: number): number {
    const row = this.#sql(
      `INSERT INTO call_extractions (call_id, seq, profile_version, extraction, trigger, event, created_at)
       SELECT @id, COALESCE(MAX(seq), 0) + 1, @version, @extraction, @trigger, @event, @now FROM call_extractions WHERE call_id = @id
       RETURNING seq`,
      db,
    ).get({ id, version: input.extraction.profile_version ?? null, extraction: historyText(input.extraction), trigger: input.trigger, event: input.event, now });
    return (row as { seq: number }).seq;
  }

  async listExtractions(callId: string, limit: number): Promise<ExtractionRecord[]> {
    const rows = this.#sql(
      "SELECT seq, profile_version, trigger, event, extraction, created_at FROM call_extractions WHERE call_id = ? ORDER BY seq DESC LIMIT ?",
    ).all(callId, limit) as ExtractionRow[];
    return rows.map(toExtractionRecord);
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
      const call = this.#sql("SELECT state, public_state FROM calls WHERE id = ?", db).get(callId) as { state: CallStage; public_state: CallState } | undefined;
      if (!call) continue;
      const state = summarizeCallState(call.state, this.#fates(callId, db));
      if (state !== call.public_state) this.#sql("UPDATE calls SET public_state = ? WHERE id = ?", db).run(state, callId);
    }
  }

  #fates(callId: string, db: Database.Database = this.#db): FateRecord[] {
    return this.#sql(
      `SELECT destination, event, fate, reason_code, reason, delivery_id, version, updated_at FROM call_fates
       WHERE call_id = ? ORDER BY event, destination`,
      db,
    ).all(callId) as FateRecord[];
  }

  async listFates(callId: string): Promise<FateRecord[]> {
    return this.#fates(callId);
  }

  async list(query: CallListQuery): Promise<CallSummary[]> {
    const { sql, params } = listCallsSql(query, () => "?");
    return (this.#sql(sql).all(...params) as CallRow[]).map(toCallSummary);
  }

  async callerHistory(profile: string, customerE164: string, limit: number): Promise<{ recent: CallSummary[]; latest: CallRecord | undefined }> {
    const recent = this.#sql(
      `SELECT ${SUMMARY_COLUMNS} FROM calls WHERE profile = ? AND customer_e164 = ? ORDER BY created_at DESC, id DESC LIMIT ?`,
    ).all(profile, customerE164, limit) as CallRow[];
    const latest = this.#sql(
      `SELECT * FROM calls WHERE profile = ? AND customer_e164 = ? AND extraction IS NOT NULL ORDER BY created_at DESC, id DESC LIMIT 1`,
    ).get(profile, customerE164) as CallRow | undefined;
    return { recent: recent.map(toCallSummary), latest: latest ? toCallRecord(latest) : undefined };
  }

  async cursorKey(): Promise<Buffer> {
    return Buffer.from((this.#sql("SELECT key FROM cursor_key").get() as { key: string }).key, "hex");
  }

  async findFinished(before: number, limit: number): Promise<string[]> {
    return (
      this.#sql(
        `SELECT id FROM calls WHERE updated_at < ? AND ${FINISHED_CALL} ORDER BY updated_at LIMIT ?`,
      ).all(before, limit) as { id: string }[]
    ).map((row) => row.id);
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
      return toBackfillRecord(this.#sql("SELECT * FROM backfills WHERE id = ?").get(id) as BackfillRow);
    })();
  }

  async getBackfill(id: string): Promise<BackfillRecord | undefined> {
    const row = this.#sql("SELECT * FROM backfills WHERE id = ?").get(id) as BackfillRow | undefined;
    return row ? toBackfillRecord(row) : undefined;
  }

  async cancelBackfill(id: string): Promise<BackfillRecord | undefined> {
    const now = this.#now();
    this.#sql("UPDATE backfills SET state = 'cancelled', finished_at = ?, updated_at = ? WHERE id = ? AND state = 'running'").run(now, now, id);
    return this.getBackfill(id);
  }

  async claimBackfillItems(limit: number, leaseMs: number): Promise<BackfillItem[]> {
    const now = this.#now();
    return this.#sql(
      `UPDATE backfill_items SET claimed_until = @until WHERE rowid IN (
         SELECT i.rowid FROM backfill_items AS i JOIN backfills AS b ON b.id = i.backfill_id
         WHERE i.state = 'pending' AND b.state = 'running' AND i.next_attempt_at <= @now AND (i.claimed_until IS NULL OR i.claimed_until <= @now)
         ORDER BY i.next_attempt_at, i.seq LIMIT @limit)
       RETURNING backfill_id, call_id, attempts, (SELECT redeliver FROM backfills WHERE id = backfill_id) AS redeliver`,
      this.#bookkeeping,
    )
      .all({ now, until: now + leaseMs, limit })
      .map((row) => toBackfillItem(row as Parameters<typeof toBackfillItem>[0]));
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
         completion_tokens = completion_tokens + @completion, updated_at = @now,
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
        completion: done ? outcome.usage.completion_tokens : 0,
      });
    })();
  }

  async listBackfillCandidates(filter: BackfillFilter, after: ListPosition | undefined, limit: number): Promise<CallRecord[]> {
    const params: unknown[] = [];
    let where = backfillFilterSql(filter, params, () => "?", SQLITE_PROFILE_VERSION);
    if (after) {
      where += " AND (created_at, id) < (?, ?)";
      params.push(after.created_at, after.id);
    }
    return (this.#sql(`SELECT * FROM calls WHERE ${where} ORDER BY created_at DESC, id DESC LIMIT ?`).all(...params, limit) as CallRow[]).map(toCallRecord);
  }

  async counts(): Promise<Record<CallState, number>> {
    const counts = emptyCallCounts();
    for (const row of this.#sql("SELECT public_state, COUNT(*) AS n FROM calls GROUP BY public_state").all() as { public_state: CallState; n: number }[]) {
      counts[row.public_state] = row.n;
    }
    return counts;
  }

  async close(): Promise<void> {
    if (this.#bookkeeping.open) this.#bookkeeping.close();
    if (this.#db.open) this.#db.close();
  }
}
