// Routes one enriched payload to the destinations it matches: `when` decides, `transform` renders, the outbox stores.
import type { CompiledDestination } from "./compile-destinations.js";
import { DeliveryExpressionError } from "./errors.js";
import type { DeliveryOutbox } from "./outbox.js";
import type { Delivery } from "./types.js";

export interface EnqueueReport {
  enqueued: Delivery[];
  /** Destinations whose `when` was not true for this call. */
  skipped: string[];
  /** Destinations whose `when` or `transform` failed on this payload; nothing was enqueued for them. */
  errors: { destination: string; path: string; message: string }[];
}

/**
 * Renders at enqueue time and stores the exact body, so every retry sends identical bytes (signatures
 * stay reproducible, and `$now()` in a transform does not drift between attempts). Idempotent per call.
 */
export async function enqueueCallDeliveries(input: {
  outbox: DeliveryOutbox;
  destinations: Iterable<CompiledDestination>;
  callId: string;
  payload: unknown;
}): Promise<EnqueueReport> {
  const report: EnqueueReport = { enqueued: [], skipped: [], errors: [] };
  for (const destination of input.destinations) {
    try {
      if (!(await destination.matches(input.payload))) {
        report.skipped.push(destination.name);
        continue;
      }
      const body = await destination.render(input.payload);
      report.enqueued.push(await input.outbox.enqueue({ callId: input.callId, destination: destination.name, payload: body }));
    } catch (error) {
      // An expression that fails on this payload is this destination's problem, reported on the call. Anything else
      // (the outbox could not write) propagates: the caller must not record the call as handed over.
      if (!(error instanceof DeliveryExpressionError)) throw error;
      report.errors.push({ destination: destination.name, path: error.path, message: error.message });
    }
  }
  return report;
}
