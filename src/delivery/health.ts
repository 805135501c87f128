// Each destination's health for GET /v1/destinations and the consecutive-failures gauge: what is waiting, what got
// through and what was dead-lettered in the last day, and how long its current failure streak is. Nothing is ever
// switched off automatically: a failing destination keeps being retried, and this is what tells someone.
import type { CompiledDestination } from "./compile-destinations.js";
import type { DeliveryOutbox } from "./outbox/port.js";
import type { DestinationHealth } from "./types.js";

export const HEALTH_WINDOW_MS = 24 * 60 * 60_000;

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

function hostOf(url: string): string | null {
  try {
    return new URL(url).host;
  } catch {
    return null;
  }
}

const EMPTY = { pending: 0, delivered: 0, failed: 0, consecutive_failures: 0, last_error: null, last_error_at: null, last_delivered_at: null };

/**
 * The `GET /v1/destinations` body: every configured destination (in the file's order), then any other (removed from
 * the file) that still has deliveries pending or settled in the window.
 */
export async function destinationsHealth(outbox: DeliveryOutbox, destinations: ReadonlyMap<string, CompiledDestination>) {
  const since = outbox.now() - HEALTH_WINDOW_MS;
  const known = new Map((await outbox.destinationHealth(since)).map((row) => [row.destination, row]));
  const removed = [...known.values()].filter((row) => !destinations.has(row.destination) && row.pending + row.delivered + row.failed > 0);
  const names = [...destinations.keys(), ...removed.map((row) => row.destination)];
  return {
    since: iso(since)!,
    destinations: names.map((name) => {
      const health: Omit<DestinationHealth, "destination"> = known.get(name) ?? EMPTY;
      const configured = destinations.get(name);
      return {
        name,
        configured: configured !== undefined,
        // The host only: a URL's path or query may be a secret (Slack's hooks are).
        host: configured ? hostOf(configured.url) : null,
        pending: health.pending,
        delivered_24h: health.delivered,
        failed_24h: health.failed,
        consecutive_failures: health.consecutive_failures,
        last_error: health.last_error,
        last_error_at: iso(health.last_error_at),
        last_delivered_at: iso(health.last_delivered_at),
      };
    }),
  };
}

/**
 * The gauge's value for each configured destination (0 until it fails). A destination removed from the file is left
 * out: its leftover deliveries fail by design, and an alert on them would never clear.
 */
export async function consecutiveFailuresByDestination(outbox: DeliveryOutbox, destinations: Iterable<string>): Promise<Map<string, number>> {
  const streaks = await outbox.consecutiveFailures();
  return new Map([...destinations].map((name): [string, number] => [name, streaks.get(name) ?? 0]));
}
