// The outbox's SQLite schema; `user_version` records which migrations have run. Version 1 is the first release's.
import { DESTINATION_HEALTH_FROM_HISTORY } from "../port.js";

/**
 * deliveries: one row per (call, destination, event), holding the exact body bytes to send.
 *   pending → (claim: claimed_until = lease) → delivered | pending (retry at next_attempt_at) | failed
 *   failed → pending (replay: attempts reset to 0)
 *   `attempts` counts the current run (the retry budget), `total_attempts` every attempt (the history's length)
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
  // The call store keeps each delivery's fate (calls are listed by state and destination from it): `version` grows with
  // every status change, `fate_version` is the one the call store has confirmed. Every existing delivery starts
  // unconfirmed, so the workers' fate sweep projects the whole upgraded outbox into the call store once.
  // destination_health: each destination's failure streak, last error and last success, kept by recordAttempt.
  `
  ALTER TABLE deliveries ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
  ALTER TABLE deliveries ADD COLUMN fate_version INTEGER NOT NULL DEFAULT 0;
  CREATE INDEX deliveries_fate_unsynced ON deliveries (seq) WHERE fate_version < version;
  CREATE INDEX deliveries_settled ON deliveries (status, updated_at);
  CREATE TABLE destination_health (
    destination          TEXT    PRIMARY KEY,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    last_error           TEXT,
    last_status          INTEGER,
    last_error_at        INTEGER,
    last_delivered_at    INTEGER
  );
  ${DESTINATION_HEALTH_FROM_HISTORY}
  `,
  // issue 14: extraction history. Deliveries are per (call, destination, event): a re-extraction delivered again is a
  // new event with its own delivery and webhook-id. Every existing delivery is event 1. SQLite cannot drop the old
  // UNIQUE (call_id, destination), so both tables are rebuilt: attempts (the child) is renamed and dropped first, so
  // dropping the old deliveries cascades to nothing.
  `
  ALTER TABLE attempts RENAME TO attempts_before_events;
  ALTER TABLE deliveries RENAME TO deliveries_before_events;
  CREATE TABLE deliveries (
    seq             INTEGER PRIMARY KEY,
    id              TEXT    NOT NULL UNIQUE,
    call_id         TEXT    NOT NULL,
    destination     TEXT    NOT NULL,
    event           INTEGER NOT NULL DEFAULT 1,
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
    version         INTEGER NOT NULL DEFAULT 1,
    fate_version    INTEGER NOT NULL DEFAULT 0,
    UNIQUE (call_id, destination, event)
  );
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
  INSERT INTO deliveries (seq, id, call_id, destination, event, webhook_id, body, status, attempts, total_attempts, next_attempt_at,
    claimed_until, last_status, last_error, last_response, created_at, updated_at, delivered_at, version, fate_version)
  SELECT seq, id, call_id, destination, 1, webhook_id, body, status, attempts, total_attempts, next_attempt_at,
    claimed_until, last_status, last_error, last_response, created_at, updated_at, delivered_at, version, fate_version
  FROM deliveries_before_events;
  INSERT INTO attempts SELECT * FROM attempts_before_events;
  DROP TABLE attempts_before_events;
  DROP TABLE deliveries_before_events;
  CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
  CREATE INDEX deliveries_by_status ON deliveries (status, seq);
  CREATE INDEX deliveries_by_destination ON deliveries (destination, seq);
  CREATE INDEX deliveries_fate_unsynced ON deliveries (seq) WHERE fate_version < version;
  CREATE INDEX deliveries_settled ON deliveries (status, updated_at);
  `,
];
