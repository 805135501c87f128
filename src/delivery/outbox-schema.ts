// The outbox's SQLite schema; `user_version` records which migrations have run. Version 1 is the first release's.

/**
 * deliveries: one row per (call, destination), holding the exact body bytes to send.
 *   pending → (claim: claimed_until = lease) → delivered | pending (retry at next_attempt_at) | failed
 *   failed → pending (replay: attempts reset to 0)
 * attempts: one row per try, inserted at claim time with finished_at NULL; a row still NULL when the
 * delivery is claimed again means the process died mid-attempt, and it is closed as "interrupted".
 */
export const OUTBOX_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE deliveries (
    seq             INTEGER PRIMARY KEY,
    id              TEXT    NOT NULL UNIQUE,
    call_id         TEXT    NOT NULL,
    destination     TEXT    NOT NULL,
    webhook_id      TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    total_attempts  INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    claimed_until   INTEGER,
    last_status     INTEGER,
    last_error      TEXT,
    last_response   TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    delivered_at    INTEGER,
    UNIQUE (call_id, destination)
  );
  CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
  CREATE INDEX deliveries_by_status ON deliveries (status, seq);
  CREATE INDEX deliveries_by_destination ON deliveries (destination, seq);
  CREATE TABLE attempts (
    delivery_id      TEXT    NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    attempt          INTEGER NOT NULL,
    started_at       INTEGER NOT NULL,
    finished_at      INTEGER,
    status           INTEGER,
    latency_ms       INTEGER,
    outcome          TEXT CHECK (outcome IN ('delivered', 'retry', 'failed', 'interrupted')),
    error            TEXT,
    response_snippet TEXT,
    PRIMARY KEY (delivery_id, attempt)
  );
  `,
];
