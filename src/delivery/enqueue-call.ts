// Routes one enriched payload to the destinations it matches: `when` decides, `transform` renders, the outbox stores.
import type { CompiledDestination } from "./compile-destinations.js";
import type { DeliveryOutbox } from "./outbox/port.js";
import { renderBodies, type DestinationExpressions, type RenderedBody } from "./render-bodies.js";
import type { Delivery } from "./types.js";

export interface EnqueueReport {
  enqueued: Delivery[];
  /** Destinations whose `when` was not true for this call. */
  skipped: string[];
  /** Why, per skipped destination: the expression and the values it read. */
  whenFalse?: Record<string, string>;
  /** Destinations whose `when` or `transform` failed on this payload; nothing was enqueued for them. */
  errors: { destination: string; path: string; message: string }[];
}

/** Renders the bodies; the offload pool's, on a worker thread, in the service. */
export type BodyRenderer = (payload: unknown, destinations: readonly DestinationExpressions[]) => Promise<RenderedBody[]>;

/**
 * Renders at enqueue time and stores the exact body, so every retry sends identical bytes (signatures
 * stay reproducible, and `$now()` in a transform does not drift between attempts). Idempotent per call and event.
 * An expression that fails on this payload is its destination's problem, reported on the call; the outbox failing
 * to write propagates, so the caller never records the call as handed over.
 */
export async function enqueueCallDeliveries(input: {
  outbox: DeliveryOutbox;
  destinations: Iterable<CompiledDestination>;
  callId: string;
  /** Which routing of the call (1: its first extraction); one delivery per destination and event. */
  event?: number;
  payload: unknown;
  render?: BodyRenderer;
}): Promise<EnqueueReport> {
  const whenFalse: Record<string, string> = {};
  const report: EnqueueReport = { enqueued: [], skipped: [], whenFalse, errors: [] };
  const render = input.render ?? renderBodies;
  const rendered = await render(input.payload, [...input.destinations].map((destination) => destination.expressions));
  for (const outcome of rendered) {
    if (outcome.kind === "skipped") {
      report.skipped.push(outcome.destination);
      whenFalse[outcome.destination] = outcome.reason;
    }
    else if (outcome.kind === "error") report.errors.push({ destination: outcome.destination, path: outcome.path, message: outcome.message });
    else report.enqueued.push(await input.outbox.enqueue({ callId: input.callId, destination: outcome.destination, event: input.event, body: outcome.body }));
  }
  return report;
}
