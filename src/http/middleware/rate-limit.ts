// Requests per API key (or per client IP without auth) per window, with the IETF RateLimit headers and Retry-After.
// The store is in memory: one instance counts alone. Several instances behind a balancer would need a shared store.
import type { RequestHandler } from "express";
import { MemoryStore, ipKeyGenerator, rateLimit } from "express-rate-limit";
import type { Logger } from "../../logger.js";
import type { ClientFacts } from "../locals.js";
import { RateLimitedError, describeError } from "../errors.js";

export interface RateLimiter {
  middleware: RequestHandler;
  /** Stops the store's cleanup timer. */
  close(): void;
}

function describeWindow(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${ms / 1000}s`;
}

export function createRateLimiter(options: { limit: number; windowMs: number; logger: Logger }): RateLimiter {
  const store = new MemoryStore();
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
    logger: {
      error: (error, message) => options.logger.error({ err: describeError(error) }, message ?? "rate limiter error"),
      warn: (error, message) => options.logger.warn({ err: describeError(error) }, message ?? "rate limiter warning"),
    },
  });
  return { middleware, close: () => store.shutdown() };
}
