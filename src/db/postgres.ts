// Opens Debrief's PostgreSQL database: one connection pool for every store, and versioned migrations applied at
// start-up under an advisory lock, so instances starting together never race and each migration runs once.
import pg from "pg";
import type { Logger } from "../logger.js";
import { DatabaseSetupError } from "./errors.js";

/** One component's schema (the call store, the outbox): its steps run once each, in order. Append; never edit one. */
export interface PostgresMigrations {
  component: string;
  /** SQL, or code for what SQL cannot say; either runs in the one transaction that applies every missing step. */
  steps: readonly (string | ((client: pg.PoolClient) => Promise<void>))[];
}

export interface PostgresOptions {
  url: string;
  /** Connections this instance may hold at once. Default 10. */
  poolSize?: number;
  migrations: readonly PostgresMigrations[];
  logger: Logger;
  /** Shown in pg_stat_activity. Default "debrief". */
  applicationName?: string;
}

/** Any bigint key works as long as every Debrief uses the same one: it is "debrief:migrations" hashed. */
const MIGRATION_LOCK = 7_151_210_413_772_645_119n;

const INT8_OID = 20;

/**
 * Times (ms since the epoch), sequence numbers and counts are BIGINTs; they stay far below 2^53, so they are read as
 * numbers rather than pg's default strings. Per pool, not pg's global parser, so nothing else in the process changes.
 */
export const PG_TYPES = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === INT8_OID && format !== "binary" ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/** Connection settings shared by the pool and the dedicated LISTEN connection. */
export function connectionConfig(url: string, applicationName: string): pg.ClientConfig {
  return { connectionString: url, application_name: applicationName, types: PG_TYPES, connectionTimeoutMillis: 5_000 };
}

export interface Postgres {
  pool: pg.Pool;
  url: string;
  close(): Promise<void>;
}

/** Connects, applies what migrations are missing, and returns the pool. Throws DatabaseSetupError with a clear message. */
export async function openPostgres(options: PostgresOptions): Promise<Postgres> {
  const pool = new pg.Pool({ ...connectionConfig(options.url, options.applicationName ?? "debrief"), max: options.poolSize ?? 10 });
  // An idle connection that the server drops (restart, failover) errors here; the pool replaces it on the next query.
  pool.on("error", (error) => options.logger.warn({ err: error }, "an idle PostgreSQL connection failed; it will be replaced"));
  // A checked-out client (a transaction, the migration lock) has no pool listener: the server going away would emit an
  // "error" nobody handles, and Node would stop the process. The query in flight fails on its own (the request gets a
  // 503); the client is dropped by the pool when released, being no longer queryable.
  pool.on("connect", (client) => {
    client.on("error", (error) => options.logger.warn({ err: error }, "a PostgreSQL connection in use failed; its work fails and is retried"));
  });
  try {
    await migrate(pool, options.migrations, options.logger);
  } catch (error) {
    await pool.end().catch(() => undefined);
    if (error instanceof DatabaseSetupError) throw error;
    throw new DatabaseSetupError(`Cannot use the PostgreSQL database at ${redactUrl(options.url)}: ${(error as Error).message}`, { cause: error });
  }
  let closing: Promise<void> | undefined;
  return { pool, url: options.url, close: () => (closing ??= pool.end()) };
}

/**
 * Text PostgreSQL cannot store, stored without loss and given back as it was sent. A text column refuses NUL (22021),
 * and a lone UTF-16 surrogate has no UTF-8 form (the driver would send U+FFFD). Inside JSON kept as text, the escapes
 * `\u0000` and a lone surrogate's `\udXXX` are stored fine, but the first query that reads the document as `json`
 * fails on them (22P05, 22P02): backfill filters do.
 *
 * The escaping: each such character, and U+E000 (ESCAPE) itself, is stored as ESCAPE followed by its UTF-16 code unit
 * in four lowercase hex digits (NUL → ESCAPE "0000", U+D800 → ESCAPE "d800", ESCAPE → ESCAPE "e000"); in JSON text, the
 * escapes `\u0000` and `\udXXX` become the same sequences. Every ESCAPE in stored text thus starts one such sequence,
 * so restoring is exact, whatever the text held (a legitimate U+E000, "e000", a literal backslash-u). ESCAPE is the
 * first Private Use character: valid UTF-8 that PostgreSQL stores, and rare in real text, so stored text stays readable.
 * Text written before this escaping existed had NUL replaced by U+FFFD and reads back as it was stored (had it held
 * U+E000 followed by four hex digits, which nothing Debrief writes does, that would now read as an escape).
 */
const ESCAPE = "\uE000";
/** NUL, ESCAPE, and (the `u` flag keeps surrogate pairs whole) lone surrogates. */
const UNSTORABLE_TEXT = /[\u0000\uE000\uD800-\uDFFF]/gu;
/**
 * In JSON text: the escapes `\u0000` and `\udXXX`, after an even run of backslashes (an escaped backslash, as in
 * `\\u0000`, is text, not an escape), and the characters above.
 */
const UNSTORABLE_JSON = /(?<!\\)((?:\\\\)*)\\u(0000|d[89a-f][0-9a-f]{2})|[\u0000\uE000\uD800-\uDFFF]/giu;
/** Whether JSON text may need storableJson's work: most never does, and a long transcript has an escape on every line. */
const MAYBE_UNSTORABLE_JSON = /\\u(0000|d[89a-f])|[\u0000\uE000\uD800-\uDFFF]/iu;
const ESCAPED = /\uE000([0-9a-f]{4})/g;

const escapeUnit = (character: string): string => ESCAPE + character.charCodeAt(0).toString(16).padStart(4, "0");

/** Text as PostgreSQL can store it (see ESCAPE); `restored` gives it back. */
export function storable(text: string): string {
  return text.replace(UNSTORABLE_TEXT, escapeUnit);
}

export function storableOrNull(text: string | null): string | null {
  return text === null ? null : storable(text);
}

/** JSON text (as JSON.stringify writes it) as PostgreSQL can store and query it; `restoredJson` gives it back. */
export function storableJson(json: string): string {
  if (!MAYBE_UNSTORABLE_JSON.test(json)) return json;
  return json.replace(UNSTORABLE_JSON, (match: string, backslashes: string | undefined, unit: string | undefined) =>
    unit === undefined ? escapeUnit(match) : backslashes + ESCAPE + unit.toLowerCase(),
  );
}

/** Undoes `storable`. */
export function restored(text: string): string {
  return text.includes(ESCAPE) ? text.replace(ESCAPED, (_, unit: string) => String.fromCharCode(Number.parseInt(unit, 16))) : text;
}

/** Undoes `storableJson`, to the text JSON.stringify wrote: NUL and lone surrogates as their JSON escapes, ESCAPE as itself. */
export function restoredJson(json: string): string {
  return json.includes(ESCAPE) ? json.replace(ESCAPED, (_, unit: string) => (unit === "e000" ? ESCAPE : `\\u${unit}`)) : json;
}

/** `row` with `restored` applied to its `text` fields and `restoredJson` to its `json` ones (null stays null). */
export function restoredRow<Row extends object>(row: Row, fields: { text?: readonly (keyof Row)[]; json?: readonly (keyof Row)[] }): Row {
  const copy: Row = { ...row };
  for (const key of fields.text ?? []) {
    const value = copy[key];
    if (typeof value === "string") copy[key] = restored(value) as Row[keyof Row];
  }
  for (const key of fields.json ?? []) {
    const value = copy[key];
    if (typeof value === "string") copy[key] = restoredJson(value) as Row[keyof Row];
  }
  return copy;
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(an unparsable URL)";
  }
}

/**
 * Applies each component's missing steps in one transaction, holding a session-level advisory lock: a second instance
 * starting at the same moment waits here, then finds everything applied. `debrief_migrations` keeps one row per
 * applied step, so a step can never be recorded twice.
 */
/** Runs `work` in one transaction on a client of `pool`: committed when it returns, rolled back when it throws. */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const result = await work(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

export async function migrate(pool: pg.Pool, components: readonly PostgresMigrations[], logger: Logger): Promise<number> {
  const client = await pool.connect();
  let applied = 0;
  try {
    await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK.toString()]);
    try {
      await client.query("BEGIN");
      await client.query(
        `CREATE TABLE IF NOT EXISTS debrief_migrations (
           component  TEXT        NOT NULL,
           version    INTEGER     NOT NULL,
           applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),
           PRIMARY KEY (component, version)
         )`,
      );
      for (const { component, steps } of components) {
        const { rows } = await client.query<{ version: number | null }>(
          "SELECT max(version) AS version FROM debrief_migrations WHERE component = $1",
          [component],
        );
        const version = rows[0]?.version ?? 0;
        if (version > steps.length) {
          throw new DatabaseSetupError(
            `The PostgreSQL database's ${component} schema is version ${version}, newer than this Debrief knows (${steps.length}): ` +
              "it was migrated by a newer release. Run that release, or restore a backup taken before the upgrade.",
          );
        }
        for (let index = version; index < steps.length; index++) {
          const step = steps[index]!;
          if (typeof step === "string") await client.query(step);
          else await step(client);
          await client.query("INSERT INTO debrief_migrations (component, version) VALUES ($1, $2)", [component, index + 1]);
          applied++;
        }
      }
      await client.query("COMMIT");
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK.toString()]).catch(() => undefined);
    }
    if (applied > 0) logger.info({ applied, components: components.map((c) => c.component) }, "applied PostgreSQL migrations");
    return applied;
  } finally {
    client.release();
  }
}
