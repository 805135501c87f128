// Turns a storm of identical warnings (Redis down: one per request) into one log line per interval with a count.
import type { Logger } from "../logger.js";

/** Milliseconds since the epoch; injectable for tests. */
type Clock = () => number;

export type ThrottledWarn = (topic: string, fields: Record<string, unknown>, message: string) => void;

/** Logs the first warning of each topic, then at most one per `intervalMs`, carrying how many were suppressed. */
export function throttleWarnings(logger: Logger, intervalMs = 30_000, clock: Clock = Date.now): ThrottledWarn {
  const topics = new Map<string, { loggedAt: number; suppressed: number }>();
  return (topic, fields, message) => {
    const now = clock();
    const seen = topics.get(topic);
    if (seen && now - seen.loggedAt < intervalMs) {
      seen.suppressed += 1;
      return;
    }
    logger.warn(seen?.suppressed ? { ...fields, suppressed: seen.suppressed } : fields, message);
    topics.set(topic, { loggedAt: now, suppressed: 0 });
  };
}
