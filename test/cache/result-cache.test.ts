import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MemoryStore } from "../../src/cache/memory-store.js";
import { ResultCache } from "../../src/cache/result-cache.js";
import { SQLITE_CACHE_FILE, SqliteStore } from "../../src/cache/sqlite-store.js";
import type { Store } from "../../src/cache/store.js";
import { silentLogger } from "../../src/logger.js";
import { until } from "../support/poll.js";
import { fakeClock, makeTempDir } from "./fixtures.js";

interface Extraction {
  budget: number | null;
  status: string;
}

const HOUR = 3_600_000;
const isExtraction = (value: unknown): value is Extraction =>
  typeof value === "object" && value !== null && "budget" in value && "status" in value;

/** A compute that counts its runs and answers after a short delay, like an LLM call. */
function countingCompute(value: Extraction = { budget: 5000, status: "completed" }, delayMs = 20) {
  const compute = async () => {
    compute.runs += 1;
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    return value;
  };
  compute.runs = 0;
  return compute;
}

describe("ResultCache", () => {
  let temp: ReturnType<typeof makeTempDir>;
  const closers: Array<() => Promise<void>> = [];
  const memory = () => new MemoryStore({ maxEntries: 100, maxBytes: 1_000_000 });
  const sqlite = (clock?: () => number) => new SqliteStore({ dataDir: temp.dir, maxBytes: 1_000_000, clock });
  const cacheOver = (tiers: Store[], options: { clock?: () => number } = {}) => {
    const cache = new ResultCache<Extraction>({ tiers, ttlMs: HOUR, logger: silentLogger, validate: isExtraction, ...options });
    closers.push(() => cache.close());
    return cache;
  };

  beforeEach(() => {
    temp = makeTempDir();
  });
  afterEach(async () => {
    await Promise.all(closers.splice(0).map((close) => close()));
    temp.cleanup();
  });

  it("computes on a miss and answers the repeat from the cache", async () => {
    const cache = cacheOver([memory(), sqlite()]);
    const compute = countingCompute();
    expect(await cache.getOrCompute("call-1", compute, { read: true })).toEqual({ value: { budget: 5000, status: "completed" }, cached: false });
    expect(await cache.getOrCompute("call-1", compute, { read: true })).toEqual({ value: { budget: 5000, status: "completed" }, cached: true });
    expect(compute.runs).toBe(1);
  });

  it("recomputes when asked not to read, and stores the fresh result for the next caller", async () => {
    const cache = cacheOver([memory(), sqlite()]);
    await cache.getOrCompute("call-1", countingCompute({ budget: 1, status: "completed" }), { read: true });
    const fresh = countingCompute({ budget: 2, status: "completed" });
    expect(await cache.getOrCompute("call-1", fresh, { read: false })).toEqual({ value: { budget: 2, status: "completed" }, cached: false });
    expect(fresh.runs).toBe(1);
    expect(await cache.get("call-1")).toEqual({ budget: 2, status: "completed" });
  });

  it("does not cache a failure: the next call computes again", async () => {
    const cache = cacheOver([memory(), sqlite()]);
    await expect(
      cache.getOrCompute("call-1", async () => Promise.reject(new Error("LLM timed out")), { read: true }),
    ).rejects.toThrow("LLM timed out");
    expect(await cache.get("call-1")).toBeUndefined();
    const compute = countingCompute();
    expect((await cache.getOrCompute("call-1", compute, { read: true })).cached).toBe(false);
    expect(compute.runs).toBe(1);
  });

  it("runs one compute for ten concurrent identical requests, and only its caller reports a fresh result", async () => {
    const cache = cacheOver([memory(), sqlite()]);
    const compute = countingCompute();
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => cache.getOrCompute("call-1", compute, { read: true })));
    expect(compute.runs).toBe(1);
    expect(outcomes.every((outcome) => outcome.value.budget === 5000)).toBe(true);
    expect(outcomes.filter((outcome) => !outcome.cached)).toHaveLength(1);
  });

  it("hands one failure to every concurrent caller that waited for it", async () => {
    const cache = cacheOver([memory()]);
    let runs = 0;
    const failing = async (): Promise<Extraction> => {
      runs += 1;
      await new Promise((resolve) => setTimeout(resolve, 20));
      throw new Error("rate limited");
    };
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => cache.getOrCompute("call-1", failing, { read: true })));
    expect(runs).toBe(1);
    expect(results.every((result) => result.status === "rejected")).toBe(true);
  });

  /** A compute that runs until its signal aborts, and records that it was aborted. */
  function abortableCompute() {
    const compute = (signal: AbortSignal) =>
      new Promise<Extraction>((_resolve, reject) => {
        const abort = () => {
          compute.aborted = true;
          reject(signal.reason);
        };
        if (signal.aborted) abort();
        else signal.addEventListener("abort", abort);
      });
    compute.aborted = false;
    return compute;
  }

  it("abandons a computation once every caller waiting for it has given up", async () => {
    const cache = cacheOver([memory()]);
    const compute = abortableCompute();
    const [first, second] = [new AbortController(), new AbortController()];
    const a = cache.getOrCompute("call-1", compute, { read: true, signal: first.signal });
    const b = cache.getOrCompute("call-1", compute, { read: true, signal: second.signal });
    first.abort(new Error("first left"));
    await expect(a).rejects.toThrow("first left");
    expect(compute.aborted).toBe(false);
    second.abort(new Error("second left"));
    await expect(b).rejects.toThrow("second left");
    await until(async () => compute.aborted, (aborted) => aborted, 2_000);
    expect(compute.aborted).toBe(true);
  });

  it("keeps computing for a caller that cannot give up (no signal), even when the others leave", async () => {
    const cache = cacheOver([memory()]);
    let finish: (value: Extraction) => void = () => undefined;
    let aborted = false;
    const compute = (signal: AbortSignal) =>
      new Promise<Extraction>((resolve) => {
        finish = resolve;
        signal.addEventListener("abort", () => (aborted = true));
      });
    const leaving = new AbortController();
    const a = cache.getOrCompute("call-1", compute, { read: true, signal: leaving.signal });
    const b = cache.getOrCompute("call-1", compute, { read: true });
    leaving.abort(new Error("left"));
    await expect(a).rejects.toThrow("left");
    finish({ budget: 1, status: "completed" });
    expect(await b).toEqual({ value: { budget: 1, status: "completed" }, cached: true });
    expect(aborted).toBe(false);
  });

  it("lets a caller arriving after another left join the computation still running", async () => {
    const cache = cacheOver([memory()]);
    let finish: (value: Extraction) => void = () => undefined;
    let runs = 0;
    const compute = () => {
      runs += 1;
      return new Promise<Extraction>((resolve) => (finish = resolve));
    };
    const a = cache.getOrCompute("call-1", compute, { read: true });
    const leaving = new AbortController();
    const b = cache.getOrCompute("call-1", compute, { read: true, signal: leaving.signal });
    leaving.abort(new Error("left"));
    await expect(b).rejects.toThrow("left");
    const c = cache.getOrCompute("call-1", compute, { read: true });
    finish({ budget: 2, status: "completed" });
    expect((await a).value).toEqual({ budget: 2, status: "completed" });
    expect(await c).toEqual({ value: { budget: 2, status: "completed" }, cached: true });
    expect(runs).toBe(1);
  });

  it("keeps different keys apart", async () => {
    const cache = cacheOver([memory()]);
    const [a, b] = await Promise.all([
      cache.getOrCompute("call-a", countingCompute({ budget: 1, status: "completed" }), { read: true }),
      cache.getOrCompute("call-b", countingCompute({ budget: 2, status: "completed" }), { read: true }),
    ]);
    expect([a.value.budget, b.value.budget, a.cached, b.cached]).toEqual([1, 2, false, false]);
  });

  it("treats a corrupted SQLite row as a miss, recomputes, and replaces it", async () => {
    const store = sqlite();
    const cache = cacheOver([memory(), store]);
    const db = new Database(path.join(temp.dir, SQLITE_CACHE_FILE));
    db.prepare("INSERT INTO cache_entries (key, size, expires_at, used_at, value) VALUES (?, ?, ?, ?, ?)").run(
      "call-1", 20, Date.now() + HOUR, Date.now(), '{"expiresAt": 1, "val',
    );
    db.close();

    const compute = countingCompute();
    expect(await cache.getOrCompute("call-1", compute, { read: true })).toEqual({ value: { budget: 5000, status: "completed" }, cached: false });
    expect(compute.runs).toBe(1);
    expect(JSON.parse((await store.get("call-1")) ?? "null")).toMatchObject({ value: { budget: 5000, status: "completed" } });
  });

  it("treats a stored value that fails validation as a miss and deletes it", async () => {
    const store = sqlite();
    const cache = cacheOver([store]);
    await store.set("call-1", JSON.stringify({ expiresAt: Date.now() + HOUR, value: { unexpected: "shape" } }), HOUR);
    expect(await cache.get("call-1")).toBeUndefined();
    expect(await store.get("call-1")).toBeUndefined();
  });

  it("copies a hit from a slower tier into the faster ones", async () => {
    const durable = sqlite();
    await cacheOver([durable]).set("call-1", { budget: 5000, status: "completed" });
    const fast = memory();
    const cache = cacheOver([fast, durable]);
    expect(await fast.get("call-1")).toBeUndefined();
    expect(await cache.get("call-1")).toEqual({ budget: 5000, status: "completed" });
    expect(await fast.get("call-1")).toBeDefined();
  });

  it("lets a copied entry expire when the original does, not a full ttl later", async () => {
    const clock = fakeClock();
    const durable = sqlite(clock.now);
    await cacheOver([durable], { clock: clock.now }).set("call-1", { budget: 5000, status: "completed" });
    clock.advance(HOUR - 1_000);
    const fast = new MemoryStore({ maxEntries: 10, maxBytes: 100_000, clock: clock.now });
    const cache = cacheOver([fast, durable], { clock: clock.now });
    expect(await cache.get("call-1")).toBeDefined();
    clock.advance(1_001);
    expect(await fast.get("call-1")).toBeUndefined();
    expect(await cache.get("call-1")).toBeUndefined();
  });

  it("stops answering from the cache once the ttl has passed", async () => {
    const clock = fakeClock();
    const cache = cacheOver([memory(), sqlite(clock.now)], { clock: clock.now });
    const compute = countingCompute();
    await cache.getOrCompute("call-1", compute, { read: true });
    clock.advance(HOUR);
    expect((await cache.getOrCompute("call-1", compute, { read: true })).cached).toBe(false);
    expect(compute.runs).toBe(2);
  });

  it("keeps answering from the other tiers when one of them fails", async () => {
    const broken = sqlite();
    await broken.close(); // every call on it now throws, like a disk that went away
    const cache = cacheOver([memory(), broken]);
    const compute = countingCompute();
    expect((await cache.getOrCompute("call-1", compute, { read: true })).cached).toBe(false);
    expect((await cache.getOrCompute("call-1", compute, { read: true })).cached).toBe(true);
    expect(compute.runs).toBe(1);
  });

  it("still answers, uncached, when every tier fails", async () => {
    const broken = sqlite();
    await broken.close();
    const cache = cacheOver([broken]);
    const compute = countingCompute();
    expect((await cache.getOrCompute("call-1", compute, { read: true })).value.budget).toBe(5000);
    expect((await cache.getOrCompute("call-1", compute, { read: true })).cached).toBe(false);
  });
});
