// Copies a SQLite data dir's call store and outbox into a PostgreSQL database, in batches whose progress is kept in the
// target: a run cut short resumes where it stopped, and a second full run changes nothing.
import { createHash } from "node:crypto";
import { existsSync, realpathSync } from "node:fs";
import { join } from "node:path";
import type Database from "better-sqlite3";
import type pg from "pg";
import { CALLS_POSTGRES_MIGRATIONS } from "../calls/store/migrations/postgres.js";
import { CALLS_SQLITE_MIGRATIONS } from "../calls/store/migrations/sqlite.js";
import { CALL_JSON_FIELDS, CALL_TEXT_FIELDS } from "../calls/store/rows.js";
import { replaceValuesPostgres, storedValues, type StoredValuesSource } from "../calls/store/values-sql.js";
import { inTransaction, openPostgres, storable, storableJson } from "../db/postgres.js";
import { openDatabase } from "../db/sqlite.js";
import { OUTBOX_POSTGRES_MIGRATIONS } from "../delivery/outbox/migrations/postgres.js";
import { OUTBOX_MIGRATIONS } from "../delivery/outbox/migrations/sqlite.js";
import type { Logger } from "../logger.js";

/** A refusal or a source that cannot be read: the CLI prints the message alone. */
export class StoreCopyError extends Error {
  override name = "StoreCopyError";
}

/**
 * One table, copied in `key` order (which is also where a resumed run starts again). Text a platform, a model or a
 * reviewer wrote goes through storable()/storableJson(), exactly as the PostgreSQL adapters write it, so they read it back
 * as the SQLite adapters would have; SQLite's 0/1 become booleans; claims are dropped (the process holding them is gone,
 * as SQLite's own start-up assumes).
 */
interface TableCopy {
  file: "calls" | "outbox";
  table: string;
  key: readonly string[];
  text?: readonly string[];
  json?: readonly string[];
  booleans?: readonly string[];
  /** Set to NULL on the way: a claim of the stopped SQLite process. */
  cleared?: readonly string[];
  /** Writes what the target derives from a batch (rows as SQLite holds them), in the batch's transaction. */
  derive?: (client: pg.PoolClient, rows: readonly Record<string, unknown>[]) => Promise<void>;
}

/** Parents before children (call_fates, call_extractions and attempts have foreign keys). */
const TABLES: readonly TableCopy[] = [
  {
    file: "calls",
    table: "calls",
    key: ["id"],
    text: CALL_TEXT_FIELDS,
    json: [...CALL_JSON_FIELDS, "delivery_errors"],
    booleans: ["completed"],
    cleared: ["claimed_until"],
    // Each call's value rows (insights, the list's `where`) are written from its extraction, as the service writes them.
    derive: (client, rows) => replaceValuesPostgres(client, rows.map((row) => storedValues(row as unknown as StoredValuesSource))),
  },
  { file: "calls", table: "call_extractions", key: ["call_id", "seq"], json: ["extraction"] },
  { file: "calls", table: "call_fates", key: ["call_id", "destination", "event"], text: ["reason"] },
  { file: "calls", table: "backfills", key: ["id"], json: ["request"], booleans: ["redeliver"] },
  { file: "calls", table: "backfill_items", key: ["backfill_id", "call_id"], text: ["error"], booleans: ["changed"], cleared: ["claimed_until"] },
  { file: "calls", table: "cursor_key", key: ["key"] },
  { file: "outbox", table: "deliveries", key: ["seq"], text: ["last_error", "last_response"], cleared: ["claimed_until"] },
  { file: "outbox", table: "attempts", key: ["delivery_id", "attempt"], text: ["error", "response_snippet"] },
  { file: "outbox", table: "destination_health", key: ["destination"], text: ["last_error"] },
];

/** Tables whose rows mean "this database holds data" (the migrations' own cursor key does not count). */
const DATA_TABLES = TABLES.map((spec) => spec.table).filter((table) => table !== "cursor_key");

const PROGRESS_TABLE = `
CREATE TABLE IF NOT EXISTS debrief_store_copy (
  source     TEXT    NOT NULL,
  tbl        TEXT    NOT NULL,
  after_key  TEXT,
  copied     BIGINT  NOT NULL DEFAULT 0,
  done       BOOLEAN NOT NULL DEFAULT false,
  updated_at BIGINT  NOT NULL,
  PRIMARY KEY (source, tbl)
)`;

export interface StoreCopyOptions {
  /** The SQLite data dir (DEBRIEF_DATA_DIR): calls.sqlite and outbox.sqlite. */
  dataDir: string;
  /** The PostgreSQL database; its schema is created or upgraded first, as a starting instance would. */
  url: string;
  /** Copy into a database that already holds other data (its cursor key is kept; a clashing call stops the copy). */
  merge?: boolean;
  /** Rows per transaction. Default 500. */
  batchSize?: number;
  logger: Logger;
  /** Called after each batch is committed (a progress line; a test stops a run here). */
  onBatch?: (batch: CopiedBatch) => void;
}

export interface CopiedBatch {
  table: string;
  /** Rows read from SQLite in this batch, and how many of them the target did not hold yet. */
  read: number;
  inserted: number;
}

export interface TableReport {
  table: string;
  /** Rows this run inserted; 0 on a second full run. */
  inserted: number;
  /** Rows the source holds. */
  total: number;
}

export interface StoreCopyReport {
  source: string;
  resumed: boolean;
  tables: TableReport[];
}

/** Runs the copy to the end, or throws: StoreCopyError for a refusal, anything else for a failure (rerun to resume). */
export async function copyStores(options: StoreCopyOptions): Promise<StoreCopyReport> {
  const batchSize = options.batchSize ?? 500;
  const sources = openSources(options.dataDir);
  try {
    const database = await openPostgres({
      url: options.url,
      poolSize: 2,
      logger: options.logger,
      migrations: [CALLS_POSTGRES_MIGRATIONS, OUTBOX_POSTGRES_MIGRATIONS],
      applicationName: "debrief:store-copy",
    });
    try {
      const pool = database.pool;
      await pool.query(PROGRESS_TABLE);
      const source = sourceId(sources.calls, options.dataDir);
      const resumed = await checkTarget(pool, source, options.merge === true);
      const tables: TableReport[] = [];
      for (const spec of TABLES) {
        if (spec.table === "cursor_key" && options.merge) continue; // the target's instances already sign with theirs
        tables.push(await copyTable(pool, sources[spec.file], spec, { source, batchSize, merge: options.merge === true, onBatch: options.onBatch }));
      }
      return { source, resumed, tables };
    } finally {
      await database.close();
    }
  } finally {
    sources.calls.close();
    sources.outbox.close();
  }
}

function openSources(dataDir: string): Record<TableCopy["file"], Database.Database> {
  const files = { calls: join(dataDir, "calls.sqlite"), outbox: join(dataDir, "outbox.sqlite") };
  for (const file of Object.values(files)) {
    // openDatabase would create an empty file: a mistyped data dir must not copy "nothing" successfully.
    if (!existsSync(file)) throw new StoreCopyError(`${file} does not exist: point DEBRIEF_DATA_DIR at the data dir the SQLite service used`);
  }
  // Through the migrations, so a data dir written by an older release is upgraded first and read in today's shape.
  const calls = openDatabase(files.calls, { synchronous: "NORMAL", migrations: CALLS_SQLITE_MIGRATIONS });
  try {
    return { calls, outbox: openDatabase(files.outbox, { synchronous: "NORMAL", migrations: OUTBOX_MIGRATIONS }) };
  } catch (error) {
    calls.close();
    throw error;
  }
}

/** Names the data dir by its cursor key (random, made once per calls.sqlite): moving or renaming the dir keeps it. */
function sourceId(calls: Database.Database, dataDir: string): string {
  const keys = calls.prepare<[], { key: string }>("SELECT key FROM cursor_key ORDER BY key").all().map((row) => row.key);
  const identity = keys.length > 0 ? keys.join(",") : realpathSync(dataDir);
  return createHash("sha256").update(identity).digest("hex").slice(0, 16);
}

/** Whether this is a resumed run; refuses a target with other data unless merging. */
async function checkTarget(pool: pg.Pool, source: string, merge: boolean): Promise<boolean> {
  const { rows: runs } = await pool.query<{ source: string }>("SELECT DISTINCT source FROM debrief_store_copy");
  const resumed = runs.some((run) => run.source === source);
  if (resumed || merge) return resumed;
  const others = runs.filter((run) => run.source !== source).length;
  const counts = await Promise.all(
    DATA_TABLES.map(async (table) => {
      const { rows } = await pool.query<{ present: boolean }>(`SELECT EXISTS (SELECT 1 FROM ${table}) AS present`);
      return rows[0]!.present ? table : undefined;
    }),
  );
  const holding = counts.filter((table) => table !== undefined);
  if (holding.length > 0 || others > 0) {
    const what = holding.length > 0 ? `rows in ${holding.join(", ")}` : "a copy from another data dir";
    throw new StoreCopyError(
      `The target database already holds other data (${what}). Copy into an empty database, or pass --merge to add this data dir's calls to it.`,
    );
  }
  return false;
}

interface CopyContext {
  source: string;
  batchSize: number;
  merge: boolean;
  onBatch: ((batch: CopiedBatch) => void) | undefined;
}

async function copyTable(pool: pg.Pool, sqlite: Database.Database, spec: TableCopy, context: CopyContext): Promise<TableReport> {
  const columns = (sqlite.pragma(`table_info(${spec.table})`) as { name: string }[]).map((column) => column.name);
  // Merging: the target numbers its own deliveries (its seq is an identity another copy may already have used).
  const inserted = context.merge && spec.table === "deliveries" ? columns.filter((column) => column !== "seq") : columns;
  const total = (sqlite.prepare(`SELECT count(*) AS n FROM ${spec.table}`).get() as { n: number }).n;
  const { rows: progress } = await pool.query<{ after_key: string | null; done: boolean }>(
    "SELECT after_key, done FROM debrief_store_copy WHERE source = $1 AND tbl = $2",
    [context.source, spec.table],
  );
  if (progress[0]?.done) return { table: spec.table, inserted: 0, total };
  let after = progress[0]?.after_key ? (JSON.parse(progress[0].after_key) as unknown[]) : undefined;
  const keys = spec.key.join(", ");
  const select = `SELECT ${columns.join(", ")} FROM ${spec.table}`;
  const first = sqlite.prepare<[number], Record<string, unknown>>(`${select} ORDER BY ${keys} LIMIT ?`);
  const following = sqlite.prepare<unknown[], Record<string, unknown>>(
    `${select} WHERE (${keys}) > (${spec.key.map(() => "?").join(", ")}) ORDER BY ${keys} LIMIT ?`,
  );
  // The cursor key in one batch (LIMIT -1: all), since copying it replaces the target's.
  const limit = spec.table === "cursor_key" ? -1 : context.batchSize;
  const read = (from: unknown[] | undefined) => (from ? following.all(...from, limit) : first.all(limit));
  let count = 0;
  for (;;) {
    const rows = read(after);
    const last = rows.at(-1);
    const next = last ? spec.key.map((key) => last[key]) : after;
    const added = await inTransaction(pool, async (client) => {
      const added = rows.length > 0 ? await insertRows(client, spec, inserted, rows.map((row) => converted(row, spec)), context.merge) : 0;
      if (rows.length > 0) await spec.derive?.(client, rows);
      if (rows.length === 0) await finishTable(client, spec, context.merge);
      await client.query(
        `INSERT INTO debrief_store_copy (source, tbl, after_key, copied, done, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (source, tbl) DO UPDATE SET after_key = excluded.after_key, copied = debrief_store_copy.copied + excluded.copied,
           done = excluded.done, updated_at = excluded.updated_at`,
        [context.source, spec.table, next === undefined ? null : JSON.stringify(next), added, rows.length === 0, Date.now()],
      );
      return added;
    });
    if (rows.length === 0) return { table: spec.table, inserted: count, total };
    count += added;
    after = next;
    context.onBatch?.({ table: spec.table, read: rows.length, inserted: added });
  }
}

function converted(row: Record<string, unknown>, spec: TableCopy): Record<string, unknown> {
  const copy = { ...row };
  for (const column of spec.text ?? []) if (typeof copy[column] === "string") copy[column] = storable(copy[column]);
  for (const column of spec.json ?? []) if (typeof copy[column] === "string") copy[column] = storableJson(copy[column]);
  for (const column of spec.booleans ?? []) if (typeof copy[column] === "number") copy[column] = copy[column] !== 0;
  for (const column of spec.cleared ?? []) copy[column] = null;
  return copy;
}

/** ON CONFLICT DO NOTHING: a row a resumed run already copied (or, merging, the target already held) stays as it is. */
async function insertRows(client: pg.PoolClient, spec: TableCopy, columns: readonly string[], rows: Record<string, unknown>[], merge: boolean): Promise<number> {
  const values: unknown[] = [];
  const tuples = rows.map((row) => `(${columns.map((column) => `$${values.push(row[column])}`).join(", ")})`);
  // The key list has no unique key to conflict on, and the migrations made up a key of their own: the source's replaces it.
  if (spec.table === "cursor_key") await client.query("DELETE FROM cursor_key");
  const overriding = spec.table === "deliveries" && !merge ? "OVERRIDING SYSTEM VALUE" : "";
  const returning = spec.table === "calls" ? "RETURNING id" : "";
  const result = await client.query<{ id: string }>(
    `INSERT INTO ${spec.table} (${columns.join(", ")}) ${overriding} VALUES ${tuples.join(", ")} ON CONFLICT DO NOTHING ${returning}`,
    values,
  );
  if (spec.table === "calls" && result.rowCount !== rows.length) await refuseClashingCalls(client, rows, new Set(result.rows.map((row) => row.id)));
  return result.rowCount ?? 0;
}

/** A call skipped because the target holds the same id is already copied; one skipped for its (profile, external id) is a clash. */
async function refuseClashingCalls(client: pg.PoolClient, rows: Record<string, unknown>[], inserted: Set<string>): Promise<void> {
  const skipped = rows.filter((row) => !inserted.has(row.id as string));
  const { rows: present } = await client.query<{ id: string }>("SELECT id FROM calls WHERE id = ANY($1::text[])", [skipped.map((row) => row.id)]);
  const found = new Set(present.map((row) => row.id));
  const clashing = skipped.filter((row) => !found.has(row.id as string));
  if (clashing.length === 0) return;
  const named = clashing.slice(0, 5).map((row) => `${String(row.profile)}/${String(row.external_id)}`);
  throw new StoreCopyError(
    `The target already holds ${clashing.length} of these calls under other ids (profile/external id: ${named.join(", ")}${clashing.length > 5 ? ", …" : ""}); ` +
      "nothing of this batch was copied. Remove them from one side, then run again.",
  );
}

/** What a table needs once its last row is in. */
async function finishTable(client: pg.PoolClient, spec: TableCopy, merge: boolean): Promise<void> {
  if (spec.table === "deliveries" && !merge) {
    // Rows were inserted with their own seq: the identity must continue after the highest, or the next enqueue clashes.
    await client.query("SELECT setval(pg_get_serial_sequence('deliveries', 'seq'), GREATEST((SELECT max(seq) FROM deliveries), 1))");
  }
}

