// The local durable tier: one SQLite file in the data dir, bounded in bytes, evicting the least recently used rows.
import path from "node:path";
import type Database from "better-sqlite3";
import { openDatabase } from "../db/sqlite.js";
import type { Clock, Store } from "./store.js";

export interface SqliteStoreOptions {
  /** Created if missing; the file is `<dataDir>/cache.sqlite`. One process owns it: the byte total is kept in memory. */
  dataDir: string;
  /** Bound on key + value bytes (the file also holds indexes and free pages, so it runs somewhat larger). */
  maxBytes: number;
  clock?: Clock;
}

export const SQLITE_CACHE_FILE = "cache.sqlite";

// Refreshing used_at on every hit would turn each read into a write; minute precision is plenty to tell old from recent.
const TOUCH_AFTER_MS = 60_000;
// Evicting down to 90% rather than to the limit means one eviction pays for many later writes.
const EVICT_DOWN_TO = 0.9;
// Expired rows are misses already; sweeping them now and then just gives the space back.
const PURGE_EVERY_MS = 10 * 60_000;

// value is the last column so that reading key, size or times never touches its overflow pages.
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS cache_entries (
    key        TEXT PRIMARY KEY NOT NULL,
    size       INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER NOT NULL,
    value      TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS cache_entries_by_use ON cache_entries (used_at);
  CREATE INDEX IF NOT EXISTS cache_entries_by_expiry ON cache_entries (expires_at);
`;

interface EntryRow {
  value: string;
  expiresAt: number;
  usedAt: number;
}

export class SqliteStore implements Store {
  readonly name = "sqlite";
  readonly #db: Database.Database;
  readonly #maxBytes: number;
  readonly #clock: Clock;
  readonly #select: Database.Statement<[string], EntryRow>;
  readonly #touch: Database.Statement<[number, string]>;
  readonly #sizeOf: Database.Statement<[string], number>;
  readonly #upsert: Database.Statement<[string, number, number, number, string]>;
  readonly #remove: Database.Statement<[string], number>;
  readonly #removeExpired: Database.Statement<[number], number>;
  readonly #leastRecentlyUsed: Database.Statement<[], { key: string; size: number }>;
  readonly #sumSizes: Database.Statement<[], number>;
  readonly #write: (key: string, value: string, size: number, ttlMs: number) => void;
  #totalBytes: number;
  #purgedAt: number;

  constructor({ dataDir, maxBytes, clock = Date.now }: SqliteStoreOptions) {
    // A cache can lose its last writes on power loss; it cannot afford an fsync per write.
    this.#db = openDatabase(path.join(dataDir, SQLITE_CACHE_FILE), { synchronous: "NORMAL", busyTimeoutMs: 1_000, migrations: [SCHEMA] });
    this.#maxBytes = maxBytes;
    this.#clock = clock;

    this.#select = this.#db.prepare(
      "SELECT value, expires_at AS expiresAt, used_at AS usedAt FROM cache_entries WHERE key = ?",
    );
    this.#touch = this.#db.prepare("UPDATE cache_entries SET used_at = ? WHERE key = ?");
    this.#sizeOf = this.#db.prepare<[string], number>("SELECT size FROM cache_entries WHERE key = ?").pluck();
    this.#upsert = this.#db.prepare(
      `INSERT INTO cache_entries (key, size, expires_at, used_at, value) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET
         size = excluded.size, expires_at = excluded.expires_at, used_at = excluded.used_at, value = excluded.value`,
    );
    this.#remove = this.#db.prepare<[string], number>("DELETE FROM cache_entries WHERE key = ? RETURNING size").pluck();
    this.#removeExpired = this.#db
      .prepare<[number], number>("DELETE FROM cache_entries WHERE expires_at <= ? RETURNING size")
      .pluck();
    this.#leastRecentlyUsed = this.#db.prepare("SELECT key, size FROM cache_entries ORDER BY used_at");
    this.#sumSizes = this.#db.prepare<[], number>("SELECT COALESCE(SUM(size), 0) FROM cache_entries").pluck();

    this.#write = this.#db.transaction((key: string, value: string, size: number, ttlMs: number) => {
      const now = this.#clock();
      const previous = this.#sizeOf.get(key) ?? 0;
      this.#upsert.run(key, size, now + Math.ceil(ttlMs), now, value);
      this.#totalBytes += size - previous;
      if (now - this.#purgedAt >= PURGE_EVERY_MS || this.#totalBytes > this.#maxBytes) this.#purgeExpired(now);
      if (this.#totalBytes > this.#maxBytes) this.#evictLeastRecentlyUsed(key);
    });

    this.#purgedAt = -Infinity;
    this.#totalBytes = this.#sumSizes.get() ?? 0;
    this.#purgeExpired(this.#clock());
  }

  async get(key: string): Promise<string | undefined> {
    const row = this.#select.get(key);
    if (!row) return undefined;
    const now = this.#clock();
    if (row.expiresAt <= now) {
      this.#deleteKey(key);
      return undefined;
    }
    if (now - row.usedAt >= TOUCH_AFTER_MS) this.#touch.run(now, key);
    return row.value;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    const size = Buffer.byteLength(key) + Buffer.byteLength(value);
    // Storing nothing must also drop an older copy, or the key would keep answering with a value we chose not to keep.
    if (ttlMs <= 0 || size > this.#maxBytes) {
      this.#deleteKey(key);
      return;
    }
    try {
      this.#write(key, value, size, ttlMs);
    } catch (error) {
      // The transaction rolled back, but the running total may have moved: recount before rethrowing.
      this.#recount();
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    this.#deleteKey(key);
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }

  #deleteKey(key: string): void {
    this.#totalBytes -= this.#remove.get(key) ?? 0;
  }

  #purgeExpired(now: number): void {
    for (const size of this.#removeExpired.all(now)) this.#totalBytes -= size;
    this.#purgedAt = now;
  }

  /** Deletes least recently used rows (never `keep`, the row just written) until the total is back under the low-water mark. */
  #evictLeastRecentlyUsed(keep: string): void {
    const target = Math.floor(this.#maxBytes * EVICT_DOWN_TO);
    const victims: string[] = [];
    let remaining = this.#totalBytes;
    // The iterator reads the index lazily and stops as soon as enough is freed; it must be closed before deleting.
    for (const row of this.#leastRecentlyUsed.iterate()) {
      if (remaining <= target) break;
      if (row.key === keep) continue;
      victims.push(row.key);
      remaining -= row.size;
    }
    for (const key of victims) this.#deleteKey(key);
  }

  #recount(): void {
    try {
      this.#totalBytes = this.#sumSizes.get() ?? 0;
    } catch {
      // The database is unusable; the next successful open recounts from scratch.
    }
  }
}
