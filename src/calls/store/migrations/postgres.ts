// The call store's PostgreSQL schema, step by step; `debrief_migrations` records the steps a database has run.
import type { PostgresMigrations } from "../../../db/postgres.js";
import { fillCallValuesPostgres } from "../values-sql.js";

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
    // issue 25: the audit log. Who (a key's name) did what to which id, when, and how it ended.
    `
CREATE TABLE audit_log (
  id      TEXT   PRIMARY KEY,
  at      BIGINT NOT NULL,
  actor   TEXT   NOT NULL,
  action  TEXT   NOT NULL,
  target  TEXT,
  outcome TEXT   NOT NULL,
  details TEXT   NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at, id);
`,
      // issue 27: insights (as SQLite's steps 8 and 9): each extraction's cost in a column, and the narrow table of values
    // insights count and the calls list filters by, filled for the calls already stored by the next step, in code.
    `
ALTER TABLE call_extractions ADD COLUMN cost_usd DOUBLE PRECISION;
UPDATE call_extractions SET cost_usd = (extraction::json #>> '{meta,cost_usd}')::double precision
  WHERE json_typeof(extraction::json #> '{meta,cost_usd}') = 'number';
CREATE INDEX call_extractions_by_time ON call_extractions (created_at);
CREATE TABLE call_values (
  call_id    TEXT             NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
  profile    TEXT             NOT NULL,
  created_at BIGINT           NOT NULL,
  variable   TEXT             NOT NULL,
  path       TEXT             NOT NULL,
  kind       TEXT             NOT NULL,
  value      TEXT,
  num        DOUBLE PRECISION,
  confidence DOUBLE PRECISION,
  corrected  BOOLEAN          NOT NULL DEFAULT false
);
CREATE INDEX call_values_by_call ON call_values (call_id);
CREATE INDEX call_values_by_path ON call_values (profile, path, created_at);
CREATE INDEX call_values_by_value ON call_values (profile, path, value);
`,
    fillCallValuesPostgres,
    // issue 27: insights over a year of calls in well under a second (as SQLite's step 10, which says why).
    `
DROP INDEX call_values_by_path;
DROP INDEX call_values_by_value;
CREATE INDEX call_values_by_path_time ON call_values (profile, path, created_at, kind, value, num);
CREATE INDEX call_values_by_value_time ON call_values (profile, path, kind, value, created_at, num);
CREATE INDEX call_values_by_confidence ON call_values (profile, confidence, created_at, corrected, variable, call_id);
DROP INDEX calls_by_profile;
CREATE INDEX calls_by_profile ON calls (profile, created_at, id, public_state);
CREATE INDEX calls_by_id_profile ON calls (id, profile);
DROP INDEX call_extractions_by_time;
CREATE INDEX call_extractions_by_time ON call_extractions (created_at, call_id, cost_usd);
`,
    // issue 26: what a backfill cost (as SQLite's step 11).
    `
ALTER TABLE backfills ADD COLUMN cost_usd DOUBLE PRECISION;
`,
  ],
};
