// Insights on the SQLite call store, read on a worker thread: better-sqlite3 answers synchronously, and a year of
// 100,000 calls takes about 0.4 s of queries (bench section 12) that would otherwise stop the HTTP event loop. Each
// thread keeps one read-only connection per file. The store's file is in WAL mode (db/sqlite.ts), so this reader never
// blocks the service's writers, nor they it; the figures are read in one transaction, from one snapshot.
import Database from "better-sqlite3";
import { statSync } from "node:fs";
import { insightFigures, SQLITE_INSIGHTS, type InsightFigures, type InsightsQuery } from "../calls/store/insights-sql.js";

/** Prepared statements kept per connection; the insights SQL varies only with how many paths a profile has. */
const MAX_STATEMENTS = 64;

interface Reader {
  db: Database.Database;
  /** The file's inode when opened: a file replaced under the same name (a restore) is opened again. */
  inode: number;
  statements: Map<string, Database.Statement>;
}

const readers = new Map<string, Reader>();

function readerOf(file: string): Reader {
  const inode = statSync(file).ino;
  const cached = readers.get(file);
  if (cached?.inode === inode) return cached;
  cached?.db.close();
  readers.delete(file);
  const reader: Reader = { db: new Database(file, { readonly: true, fileMustExist: true }), inode, statements: new Map() };
  readers.set(file, reader);
  return reader;
}

/** The same figures `SqliteCallStore.insightFigures` reads in-process; plain data (Maps and objects) to send back. */
export async function sqliteInsights(file: string, query: InsightsQuery): Promise<InsightFigures> {
  const { db, statements } = readerOf(file);
  const prepared = (sql: string): Database.Statement => {
    let statement = statements.get(sql);
    if (!statement) {
      if (statements.size >= MAX_STATEMENTS) statements.clear();
      statements.set(sql, (statement = db.prepare(sql)));
    }
    return statement;
  };
  db.exec("BEGIN");
  try {
    return await insightFigures(async (sql, params) => prepared(sql).all(...params) as Record<string, unknown>[], SQLITE_INSIGHTS, query);
  } finally {
    if (db.inTransaction) db.exec("ROLLBACK");
  }
}
