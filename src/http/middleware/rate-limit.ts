// Requests per API key (or per client IP without auth) per window, with the IETF RateLimit headers and Retry-After.
// Counters live in memory (one instance counts alone) or, with DEBRIEF_REDIS_URL, in Redis: N instances, one limit.
import type { RequestHandler } from "express";
import { MemoryStore, ipKeyGenerator, rateLimit, type Store } from "express-rate-limit";
import { Redis } from "ioredis";
import { RedisStore } from "rate-limit-redis";
import { throttleWarnings } from "../../lib/throttled-warning.js";
import type { Logger } from "../../logger.js";
import type { ClientFacts } from "../locals.js";
import { RateLimitedError, describeError } from "../errors.js";

export interface RateLimiter {
  middleware: RequestHandler;
  /** Stops the memory store's cleanup timer, or closes the Redis connection. */
  close(): Promise<void>;
}

export const RATE_LIMIT_KEY_PREFIX = "debrief:ratelimit:";

/**
 * rate-limit-redis loads its Lua scripts once; a load that failed while Redis was down would stay failed, and every
 * later request would pass unlimited even with Redis back. After any failure the scripts are loaded afresh.
 */
class ReloadingRedisStore extends RedisStore {
  override async increment(key: string) {
    try {
      return await super.increment(key);
    } catch (error) {
      const increment = this.loadIncrementScript();
      const get = this.loadGetScript();
      // Awaited by the next request; until then a rejection here is expected, not unhandled.
      increment.catch(() => undefined);
      get.catch(() => undefined);
      this.incrementScriptSha = increment;
      this.getScriptSha = get;
      throw error;
    }
  }
}

/**
 * Redis down: commands fail at once (no offline queue) and the limiter lets the request through (`passOnStoreError`),
 * as the cache serves from its local tiers; a throttled warning says so.
 */
function redisStore(url: string, logger: Logger): { store: Store; close(): Promise<void> } {
  const warn = throttleWarnings(logger);
  const client = new Redis(url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 500, connectTimeout: 1_000 });
  client.on("error", (error: Error) => warn("redis-error", { error: error.message }, "rate-limit Redis unreachable; requests pass unlimited until it is back"));
  // The first requests wait for the first connection attempt (at most ~1 s) rather than all pass unlimited.
  const firstAttempt = Promise.race([client.connect().catch(() => undefined), new Promise<void>((resolve) => setTimeout(resolve, 1_100).unref())]);
  const store = new ReloadingRedisStore({
    prefix: RATE_LIMIT_KEY_PREFIX,
    sendCommand: async (command: string, ...args: string[]) => {
      await firstAttempt;
      return (await client.call(command, ...args)) as never;
    },
  });
  return {
    store,
    close: async () => {
      if (client.status === "ready") await client.quit().catch(() => client.disconnect());
      else client.disconnect();
    },
  };
}

function describeWindow(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${ms / 1000}s`;
}

export function createRateLimiter(options: { limit: number; windowMs: number; logger: Logger; redisUrl?: string | undefined }): RateLimiter {
  const memory = options.redisUrl ? undefined : new MemoryStore();
  const shared = options.redisUrl ? redisStore(options.redisUrl, options.logger) : undefined;
  const store = memory ?? shared!.store;
  const warnThrottled = throttleWarnings(options.logger);
  const window = describeWindow(options.windowMs);
  const middleware = rateLimit({
    windowMs: options.windowMs,
    limit: options.limit,
    store,
    standardHeaders: "draft-8",
    legacyHeaders: false,
    identifier: `${options.limit}-per-${window}`,
    // Authentication runs first and notes a hash of the key: the raw key is never a store key.
    keyGenerator: (req, res) => {
      const client: ClientFacts | undefined = res.locals.client;
      return client?.rateKey ?? `ip:${ipKeyGenerator(req.ip ?? "unknown")}`;
    },
    // The limiter has set Retry-After and RateLimit already; the body is rendered like every other error.
    handler: (_req, res, next) => {
      const retryAfter = res.getHeader("Retry-After");
      const hint = retryAfter === undefined ? "" : `; retry after ${String(retryAfter)}s`;
      next(new RateLimitedError(`Too many requests: the limit is ${options.limit} per ${window}${hint}`));
    },
    passOnStoreError: true,
    logger: {
      // With Redis down this fires on every request: one line per interval, with a count.
      error: (error, message) => warnThrottled(message ?? "rate limiter error", { err: describeError(error) }, message ?? "rate limiter error"),
      warn: (error, message) => options.logger.warn({ err: describeError(error) }, message ?? "rate limiter warning"),
    },
  });
  return {
    middleware,
    close: async () => {
      memory?.shutdown();
      await shared?.close();
    },
  };
}
