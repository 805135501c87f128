// The outbox's PostgreSQL schema, step by step; `debrief_migrations` records the steps a database has run.
import type { PostgresMigrations } from "../../../db/postgres.js";
import { DESTINATION_HEALTH_FROM_HISTORY } from "../port.js";

/** Append-only; version 1 mirrors the SQLite schema of migrations/sqlite.ts (times in ms since the epoch). */
export const OUTBOX_POSTGRES_MIGRATIONS: PostgresMigrations = {
  component: "outbox",
  steps: [
    `
CREATE TABLE deliveries (
  seq             BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id              TEXT    NOT NULL UNIQUE,
  call_id         TEXT    NOT NULL,
  destination     TEXT    NOT NULL,
  webhook_id      TEXT    NOT NULL,
  body            TEXT    NOT NULL,
  status          TEXT    NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  total_attempts  INTEGER NOT NULL DEFAULT 0,
  next_attempt_at BIGINT,
  claimed_until   BIGINT,
  last_status     INTEGER,
  last_error      TEXT,
  last_response   TEXT,
  created_at      BIGINT  NOT NULL,
  updated_at      BIGINT  NOT NULL,
  delivered_at    BIGINT,
  UNIQUE (call_id, destination)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, seq) WHERE status = 'pending';
CREATE INDEX deliveries_by_status ON deliveries (status, seq);
CREATE INDEX deliveries_by_destination ON deliveries (destination, seq);
CREATE INDEX deliveries_delivered ON deliveries (delivered_at) WHERE status = 'delivered';
CREATE TABLE attempts (
  delivery_id      TEXT    NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
  attempt          INTEGER NOT NULL,
  started_at       BIGINT  NOT NULL,
  finished_at      BIGINT,
  status           INTEGER,
  latency_ms       INTEGER,
  outcome          TEXT CHECK (outcome IN ('delivered', 'retry', 'failed', 'interrupted')),
  error            TEXT,
  response_snippet TEXT,
  PRIMARY KEY (delivery_id, attempt)
);
`,
    // Fate versions and destination health (as SQLite's step 2, which says why).
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
  last_error_at        BIGINT,
  last_delivered_at    BIGINT
);
${DESTINATION_HEALTH_FROM_HISTORY}
`,
    // issue 14: extraction history. Deliveries are per (call, destination, event) (as SQLite's step 3, which says why).
    `
ALTER TABLE deliveries ADD COLUMN event INTEGER NOT NULL DEFAULT 1;
ALTER TABLE deliveries DROP CONSTRAINT deliveries_call_id_destination_key;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_call_id_destination_event_key UNIQUE (call_id, destination, event);
`,
  ],
};
