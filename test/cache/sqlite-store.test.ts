import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SQLITE_CACHE_FILE, SqliteStore } from "../../src/cache/sqlite-store.js";
import { fakeClock, makeTempDir } from "./fixtures.js";

const MINUTE = 60_000;

describe("SqliteStore", () => {
  let temp: ReturnType<typeof makeTempDir>;
  const opened: SqliteStore[] = [];
  const open = (options: Partial<ConstructorParameters<typeof SqliteStore>[0]> = {}) => {
    const store = new SqliteStore({ dataDir: temp.dir, maxBytes: 1_000_000, ...options });
    opened.push(store);
    return store;
  };
  /** A second, independent connection: what is on disk, not what the store believes. */
  const rowsOnDisk = () => {
    const db = new Database(path.join(temp.dir, SQLITE_CACHE_FILE), { readonly: true });
    try {
      return db.prepare("SELECT key FROM cache_entries ORDER BY key").pluck().all() as string[];
    } finally {
      db.close();
    }
  };

  beforeEach(() => {
    temp = makeTempDir();
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((store) => store.close()));
    temp.cleanup();
  });

  it("returns what was set, and nothing once deleted", async () => {
    const store = open();
    await store.set("k", '{"budget":5000}', MINUTE);
    expect(await store.get("k")).toBe('{"budget":5000}');
    await store.set("k", '{"budget":6000}', MINUTE);
    expect(await store.get("k")).toBe('{"budget":6000}');
    await store.delete("k");
    expect(await store.get("k")).toBeUndefined();
  });

  it("treats an expired row as a miss and removes it from the file", async () => {
    const clock = fakeClock();
    const store = open({ clock: clock.now });
    await store.set("short", "v", 1_000);
    await store.set("long", "v", 10 * MINUTE);
    clock.advance(999);
    expect(await store.get("short")).toBe("v");
    clock.advance(1);
    expect(await store.get("short")).toBeUndefined();
    expect(rowsOnDisk()).toEqual(["long"]);
  });

  it("keeps entries across a restart on the same file", async () => {
    const first = open();
    await first.set("k", "survives", MINUTE);
    await first.close();
    const second = open();
    expect(await second.get("k")).toBe("survives");
  });

  it("creates the data dir when it does not exist yet", async () => {
    const store = open({ dataDir: path.join(temp.dir, "nested", "data") });
    await store.set("k", "v", MINUTE);
    expect(await store.get("k")).toBe("v");
  });

  it("runs the file in WAL mode", () => {
    open();
    const db = new Database(path.join(temp.dir, SQLITE_CACHE_FILE), { readonly: true });
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    db.close();
  });

  it("evicts the least recently used rows once the byte bound is exceeded", async () => {
    const clock = fakeClock();
    // Each row is 1 key byte + 99 value bytes = 100 bytes; ten fit exactly.
    const store = open({ maxBytes: 1_000, clock: clock.now });
    const value = "x".repeat(99);
    for (const key of "abcdefghij") {
      await store.set(key, value, 60 * MINUTE);
      clock.advance(2 * MINUTE);
    }
    expect(await store.get("a")).toBe(value); // a is now the most recently used
    await store.set("k", value, 60 * MINUTE);

    // 1,100 bytes is over the bound; eviction goes down to 900, dropping the two least recently used.
    expect(rowsOnDisk()).toEqual(["a", "d", "e", "f", "g", "h", "i", "j", "k"]);
  });

  it("drops expired rows before evicting live ones", async () => {
    const clock = fakeClock();
    const store = open({ maxBytes: 1_000, clock: clock.now });
    const value = "x".repeat(99);
    await store.set("expiring", value.slice(0, 92), MINUTE); // 8 + 92 = 100 bytes
    for (const key of "abcdefghi") await store.set(key, value, 60 * MINUTE);
    clock.advance(2 * MINUTE);
    await store.set("j", value, 60 * MINUTE);
    expect(rowsOnDisk()).toEqual([..."abcdefghij"]);
  });

  it("remembers how full it is across a restart", async () => {
    const value = "x".repeat(99);
    const first = open({ maxBytes: 1_000 });
    for (const key of "abcdefghij") await first.set(key, value, MINUTE);
    await first.close();
    const second = open({ maxBytes: 1_000 });
    await second.set("k", value, MINUTE);
    expect(rowsOnDisk()).toHaveLength(9);
  });

  it("does not store an entry larger than the whole byte bound", async () => {
    const store = open({ maxBytes: 100 });
    await store.set("huge", "x".repeat(1_000), MINUTE);
    expect(await store.get("huge")).toBeUndefined();
    expect(rowsOnDisk()).toEqual([]);
  });

  it("rejects once closed, so the cache in front can fall back to other tiers", async () => {
    const store = open();
    await store.close();
    await expect(store.get("k")).rejects.toThrow();
  });
});
