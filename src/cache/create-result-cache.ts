// Builds the tiers the settings ask for, fastest first, and puts a ResultCache in front of them.
import type { Settings } from "../settings.js";
import type { Logger } from "../logger.js";
import { MemoryStore } from "./memory-store.js";
import { RedisStore } from "./redis-store.js";
import { ResultCache } from "./result-cache.js";
import { SqliteStore } from "./sqlite-store.js";
import type { Clock } from "./store.js";

export interface CreateResultCacheOptions {
  /** A stored value that fails this is a miss (and is deleted), e.g. `(v) => schema.safeParse(v).success`. */
  validate?: (value: unknown) => boolean;
  clock?: Clock;
  /** Namespaces the Redis keys; tests use one per run. Default "debrief:cache:". */
  redisKeyPrefix?: string;
  /**
   * With Redis: how long other instances wait for the one computing a key before computing it themselves. Set it
   * near the worst-case compute time (LLM timeout × attempts). Default 30 s.
   */
  lockTtlMs?: number;
}

/**
 * Tiers: memory → redis (when configured) → sqlite. Redis is read before the local file, although a local read is
 * cheaper, because it is the copy every instance shares: a result re-computed on another instance wins over this
 * instance's older one. SQLite stays as the durable local fallback that answers while Redis is down or has evicted
 * the key, and a hit there is copied back into Redis for the other instances. With Redis, the instances also share a
 * lock so that one of them computes a key while the others wait for its result.
 */
export function createResultCache<T>(
  settings: Settings["cache"],
  logger: Logger,
  { validate, clock, redisKeyPrefix, lockTtlMs }: CreateResultCacheOptions = {},
): ResultCache<T> {
  const cacheLogger = logger.child({ module: "cache" });
  const memory = new MemoryStore({ maxEntries: settings.memoryEntries, maxBytes: settings.memoryBytes, clock });
  const sqlite = new SqliteStore({ dataDir: settings.dataDir, maxBytes: settings.sqliteBytes, clock });
  const common = { ttlMs: settings.ttlMs, logger: cacheLogger, validate, clock };
  if (!settings.redisUrl) return new ResultCache<T>({ ...common, tiers: [memory, sqlite] });

  const redis = new RedisStore({ url: settings.redisUrl, logger: cacheLogger, keyPrefix: redisKeyPrefix });
  return new ResultCache<T>({ ...common, tiers: [memory, redis, sqlite], coordination: { lock: redis, lockTtlMs } });
}
