// The call store's SQLite schema, step by step; `user_version` records how many steps a file has run.
import type { SqliteMigration } from "../../../db/sqlite.js";
import { fillCallValuesSqlite } from "../values-sql.js";

/** Append-only: each entry runs once (see openDatabase). Version 1 is the schema of the first release. */
export const CALLS_SQLITE_MIGRATIONS: readonly SqliteMigration[] = [
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
  // issue 25: the audit log. Who (a key's name) did what to which id, when, and how it ended.
  `
CREATE TABLE audit_log (
  id      TEXT    PRIMARY KEY,
  at      INTEGER NOT NULL,
  actor   TEXT    NOT NULL,
  action  TEXT    NOT NULL,
  target  TEXT,
  outcome TEXT    NOT NULL,
  details TEXT    NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at, id);
`,
  // issue 27: insights. Each extraction's cost in a column (what a day cost, without reading the extractions' JSON),
  // and the narrow table of values (valueRowsOf) that insights count and the calls list filters by, filled for the calls
  // already stored by the next step, in code, the way the service writes it.
  `
ALTER TABLE call_extractions ADD COLUMN cost_usd REAL;
UPDATE call_extractions SET cost_usd = json_extract(extraction, '$.meta.cost_usd')
  WHERE json_valid(extraction) AND json_type(extraction, '$.meta.cost_usd') IN ('integer', 'real');
CREATE INDEX call_extractions_by_time ON call_extractions (created_at);
CREATE TABLE call_values (
  call_id    TEXT    NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
  profile    TEXT    NOT NULL,
  created_at INTEGER NOT NULL,
  variable   TEXT    NOT NULL,
  path       TEXT    NOT NULL,
  kind       TEXT    NOT NULL,
  value      TEXT,
  num        REAL,
  confidence REAL,
  corrected  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX call_values_by_call ON call_values (call_id);
CREATE INDEX call_values_by_path ON call_values (profile, path, created_at);
CREATE INDEX call_values_by_value ON call_values (profile, path, value);
`,
  fillCallValuesSqlite,
  // issue 27: insights over a year of calls in well under a second. Every query insights run reads indexes only:
  // the values' (profile, path, created_at) range carries kind, value and num; (profile, path, kind, value, created_at)
  // gives the counts in order (SQLite then counts without sorting) and each bucket's count of a value as one range
  // (the older (profile, path, value) index is dropped: no query reads it, and the planner preferred it for counts,
  // then looked every row up); low confidence is read from its own range; a call's state per bucket from the
  // profile's calls index; what the extractions of a day cost from the extractions' time index and the calls' (id, profile).
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
  // issue 26: what a backfill cost, summed as its items finish (null until one had a known price).
  `
ALTER TABLE backfills ADD COLUMN cost_usd REAL;
`,
];
