// Turns a storm of identical log lines (Redis or the database down: one per request or per poll) into one per interval with a count.
import type { Logger } from "../logger.js";

/** Milliseconds since the epoch; injectable for tests. */
type Clock = () => number;

export type ThrottledWarn = (topic: string, fields: Record<string, unknown>, message: string) => void;

export interface ThrottleOptions {
  level?: "warn" | "error";
  /** At most one line per topic per interval. Default 30 s. */
  intervalMs?: number;
  clock?: Clock;
}

/** How often a failure repeated through an outage (a worker's poll, the LISTEN connection) is logged again. */
export const OUTAGE_LOG_INTERVAL_MS = 10_000;

/**
 * Logs the first line of each topic at once, then at most one per `intervalMs`, carrying how many were suppressed
 * since the last one. Topics are the caller's: one per kind of failure, so a new kind is never hidden behind an old one.
 */
export function throttleLogs(logger: Logger, options: ThrottleOptions = {}): ThrottledWarn {
  const { level = "warn", intervalMs = 30_000, clock = Date.now } = options;
  const topics = new Map<string, { loggedAt: number; suppressed: number }>();
  return (topic, fields, message) => {
    const now = clock();
    const seen = topics.get(topic);
    if (seen && now - seen.loggedAt < intervalMs) {
      seen.suppressed += 1;
      return;
    }
    logger[level](seen?.suppressed ? { ...fields, suppressed: seen.suppressed } : fields, message);
    topics.set(topic, { loggedAt: now, suppressed: 0 });
  };
}

/** Logs the first warning of each topic, then at most one per `intervalMs`, carrying how many were suppressed. */
export function throttleWarnings(logger: Logger, intervalMs = 30_000, clock: Clock = Date.now): ThrottledWarn {
  return throttleLogs(logger, { intervalMs, clock });
}

/**
 * A short name for what kind of failure this is (its code, else its class), for a topic: the same outage gives the
 * same name on every poll, while the text of a message may carry ids that would make each one new.
 */
export function errorKind(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === "string" || typeof code === "number" ? String(code) : error.name;
  }
  return typeof error;
}
