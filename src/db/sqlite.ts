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
  migrations: readonly string[];
}

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
    for (let index = version; index < options.migrations.length; index++) db.exec(options.migrations[index]!);
    db.pragma(`user_version = ${options.migrations.length}`);
  })();
  return db;
}

/** Statements prepared once per distinct SQL text and connection: a store's hot queries are compiled once. */
export class PreparedStatements {
  readonly #byConnection = new Map<Database.Database, Map<string, Database.Statement>>();

  get(db: Database.Database, source: string): Database.Statement {
    let prepared = this.#byConnection.get(db);
    if (!prepared) this.#byConnection.set(db, (prepared = new Map()));
    let statement = prepared.get(source);
    if (!statement) prepared.set(source, (statement = db.prepare(source)));
    return statement;
  }
}
