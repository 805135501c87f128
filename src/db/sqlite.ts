// Opens Debrief's SQLite files the one way they all need: WAL, a busy timeout, and schema migrations by user_version.
import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSetupError } from "./errors.js";

export interface OpenOptions {
  /** FULL fsyncs every commit (survives power loss: what was accepted stays accepted); NORMAL survives crashes only. */
  synchronous: "FULL" | "NORMAL";
  busyTimeoutMs?: number;
  /** Each entry runs once, in order, tracked in `user_version`. Append; never edit a shipped migration. */
  migrations: readonly SqliteMigration[];
}

/**
 * A step: SQL, or code for what SQL cannot say (filling a table from stored JSON the way the service writes it). Either
 * runs inside the one transaction that applies every missing step.
 */
export type SqliteMigration = string | ((db: Database.Database) => void);

export function openDatabase(file: string, options: OpenOptions): Database.Database {
  if (file !== ":memory:") mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma(`synchronous = ${options.synchronous}`);
  db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5_000}`);
  db.pragma("foreign_keys = ON");
  const version = db.pragma("user_version", { simple: true }) as number;
  if (version > options.migrations.length) {
    db.close();
    throw new DatabaseSetupError(
      `${file} was written by a newer Debrief (schema ${version}, this one knows ${options.migrations.length}); refusing to open it`,
    );
  }
  db.transaction(() => {
    for (let index = version; index < options.migrations.length; index++) {
      const step = options.migrations[index]!;
      if (typeof step === "string") db.exec(step);
      else step(db);
    }
    db.pragma(`user_version = ${options.migrations.length}`);
  })();
  return db;
}

/** A prepared statement whose rows are `Row`: what its SQL selects, said once where the SQL is written. */
export type Statement<Row = unknown> = Database.Statement<unknown[], Row>;

/**
 * A store's two connections to its file, and their prepared statements.
 * `durable` commits with synchronous=FULL: what the service answers for (a call accepted with 202, a delivery enqueued)
 * survives a power cut, not only a crash. `bookkeeping` is the workers' (claims, outcomes), with NORMAL: no fsync on
 * the event loop for each; a power cut may undo the last of them, which only makes that work due again.
 */
export class SqliteConnections {
  readonly durable: Database.Database;
  readonly bookkeeping: Database.Database;
  readonly #statements = new Map<Database.Database, Map<string, Statement>>();

  private constructor(durable: Database.Database, bookkeeping: Database.Database) {
    this.durable = durable;
    this.bookkeeping = bookkeeping;
  }

  /** Opens (creating and migrating if needed) `file` twice; the second open finds the migrations applied. */
  static open(file: string, migrations: readonly SqliteMigration[]): SqliteConnections {
    const durable = openDatabase(file, { synchronous: "FULL", migrations });
    try {
      return new SqliteConnections(durable, openDatabase(file, { synchronous: "NORMAL", migrations }));
    } catch (error) {
      durable.close();
      throw error;
    }
  }

  /**
   * Prepared once per distinct SQL text and connection (the durable one unless told): hot queries are compiled once.
   * `Row` types what `get` and `all` return, so a caller names its row shape instead of casting each result.
   */
  sql<Row = unknown>(source: string, db: Database.Database = this.durable): Statement<Row> {
    let prepared = this.#statements.get(db);
    if (!prepared) this.#statements.set(db, (prepared = new Map()));
    let statement = prepared.get(source);
    if (!statement) prepared.set(source, (statement = db.prepare<unknown[], unknown>(source)));
    return statement as Statement<Row>;
  }

  close(): void {
    if (this.bookkeeping.open) this.bookkeeping.close();
    if (this.durable.open) this.durable.close();
  }
}
