import fs from "node:fs";
import path from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Settings } from "../../src/settings.js";
import { createResultCache, type ResultCache } from "../../src/cache/index.js";
import { silentLogger } from "../../src/logger.js";
import { DOWN_REDIS_URL, REDIS_URL, deleteRedisKeys, makeTempDir, uniqueRedisPrefix, watchUnhandledRejections } from "./fixtures.js";

interface Extraction {
  budget: number;
}

const prefix = uniqueRedisPrefix();
const settingsFor = (dataDir: string, redisUrl?: string): Settings["cache"] => ({
  enabled: true,
  dataDir,
  ttlMs: 3_600_000,
  memoryEntries: 100,
  memoryBytes: 1_000_000,
  sqliteBytes: 10_000_000,
  redisUrl,
});
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("createResultCache", () => {
  const temps: Array<ReturnType<typeof makeTempDir>> = [];
  const caches: Array<ResultCache<Extraction>> = [];
  /** Each instance gets its own data dir, as separate machines would. */
  const instance = (redisUrl?: string) => {
    const temp = makeTempDir();
    temps.push(temp);
    const cache = createResultCache<Extraction>(settingsFor(temp.dir, redisUrl), silentLogger, { redisKeyPrefix: prefix });
    caches.push(cache);
    return { cache, dataDir: temp.dir };
  };

  let key: string;
  beforeEach(() => {
    key = `call-${Math.random().toString(36).slice(2)}`;
  });
  afterEach(async () => {
    await Promise.all(caches.splice(0).map((cache) => cache.close()));
    for (const temp of temps.splice(0)) temp.cleanup();
  });
  afterAll(async () => {
    await deleteRedisKeys(prefix);
  });

  it("uses memory then SQLite when no Redis is configured, with the file in the data dir", async () => {
    const { cache, dataDir } = instance();
    expect(cache.tierNames).toEqual(["memory", "sqlite"]);
    await cache.set(key, { budget: 1 });
    expect(fs.existsSync(path.join(dataDir, "cache.sqlite"))).toBe(true);
  });

  it("puts Redis between memory and SQLite when it is configured", () => {
    expect(instance(REDIS_URL).cache.tierNames).toEqual(["memory", "redis", "sqlite"]);
  });

  it("answers from another instance's result through Redis", async () => {
    const a = instance(REDIS_URL).cache;
    const b = instance(REDIS_URL).cache;
    await a.getOrCompute(key, async () => ({ budget: 7 }), { read: true });
    const outcome = await b.getOrCompute(key, async () => ({ budget: -1 }), { read: true });
    expect(outcome).toEqual({ value: { budget: 7 }, cached: true });
  });

  it("computes once in total when two instances get the same request at the same time", async () => {
    const a = instance(REDIS_URL).cache;
    const b = instance(REDIS_URL).cache;
    let runs = 0;
    const compute = async () => {
      runs += 1;
      await sleep(150);
      return { budget: 5000 };
    };
    const outcomes = await Promise.all([
      a.getOrCompute(key, compute, { read: true }),
      b.getOrCompute(key, compute, { read: true }),
    ]);
    expect(runs).toBe(1);
    expect(outcomes.map((outcome) => outcome.value)).toEqual([{ budget: 5000 }, { budget: 5000 }]);
    expect(outcomes.filter((outcome) => !outcome.cached)).toHaveLength(1);
  });

  it("takes over when the instance holding the lock fails, instead of waiting out the lock", async () => {
    const a = instance(REDIS_URL).cache;
    const b = instance(REDIS_URL).cache;
    let computing!: () => void;
    const aHoldsTheLock = new Promise<void>((resolve) => (computing = resolve));
    const failing = async (): Promise<Extraction> => {
      computing(); // compute runs only once the lock is taken
      await sleep(100);
      throw new Error("LLM unavailable");
    };
    const first = a.getOrCompute(key, failing, { read: true });
    await aHoldsTheLock;
    const started = performance.now();
    const second = b.getOrCompute(key, async () => ({ budget: 42 }), { read: true });
    await expect(first).rejects.toThrow("LLM unavailable");
    expect(await second).toEqual({ value: { budget: 42 }, cached: false });
    // The lock's TTL (30 s by default) is what b would wait out otherwise: a tenth of it tells the two apart on any machine.
    expect(performance.now() - started).toBeLessThan(3_000);
  });

  it("keeps serving from memory and SQLite while Redis is down", async () => {
    const rejections = watchUnhandledRejections();
    try {
      const { cache } = instance(DOWN_REDIS_URL);
      let runs = 0;
      const compute = async () => ({ budget: ++runs });
      const started = performance.now();
      expect(await cache.getOrCompute(key, compute, { read: true })).toEqual({ value: { budget: 1 }, cached: false });
      expect(await cache.getOrCompute(key, compute, { read: true })).toEqual({ value: { budget: 1 }, cached: true });
      expect(performance.now() - started).toBeLessThan(1_000);
      expect(rejections.seen).toEqual([]);
    } finally {
      rejections.stop();
    }
  });

  it("keeps results on disk across a restart while Redis is down", async () => {
    const first = instance(DOWN_REDIS_URL);
    await first.cache.set(key, { budget: 9 });
    await first.cache.close();
    const restarted = createResultCache<Extraction>(settingsFor(first.dataDir, DOWN_REDIS_URL), silentLogger);
    caches.push(restarted);
    expect(await restarted.get(key)).toEqual({ budget: 9 });
  });
});
