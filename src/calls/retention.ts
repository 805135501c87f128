// Forgets what Debrief no longer needs: delivered deliveries and finished calls past the retention period.
// Call payloads and delivery bodies hold transcripts and phone numbers; keeping them forever is a liability.
import type { DeliveryOutbox } from "../delivery/index.js";
import type { CallStore } from "./store.js";

const BATCH = 500;

/**
 * Deletes deliveries delivered before `before`, then calls finished before it that no longer have a delivery left.
 * Failed deliveries, calls awaiting extraction or replay, and calls with a failed delivery are kept.
 */
export function pruneFinished(store: CallStore, outbox: DeliveryOutbox, before: number): { calls: number; deliveries: number } {
  const deliveries = outbox.pruneDelivered(before);
  let calls = 0;
  for (;;) {
    const finished = store.findFinished(before, BATCH);
    const unreferenced = finished.filter((id) => !outbox.hasDeliveries(id));
    calls += store.delete(unreferenced);
    // A batch whose calls all still have deliveries would come back forever: stop when a batch frees nothing.
    if (finished.length < BATCH || unreferenced.length === 0) break;
  }
  return { calls, deliveries };
}
