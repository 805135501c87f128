// Forgets what Debrief no longer needs: delivered deliveries and finished calls past the retention period.
// Call payloads and delivery bodies hold transcripts and phone numbers; keeping them forever is a liability.
import type { DeliveryOutbox } from "../delivery/index.js";
import type { CallStore } from "./store/port.js";

const BATCH = 500;

/**
 * Safe with several instances pruning the same database at once: a finished call never becomes unfinished (a replay
 * needs a failure), so whichever instance deletes a row first wins and the others delete nothing.
 *
 * Deletes deliveries delivered before `before`, then calls finished before it that no longer have a delivery left.
 * Failed deliveries, calls awaiting extraction or replay, and calls with a failed delivery are kept.
 */
export async function pruneFinished(store: CallStore, outbox: DeliveryOutbox, before: number): Promise<{ calls: number; deliveries: number }> {
  const deliveries = await outbox.pruneDelivered(before);
  // The audit log is kept as long as the calls it speaks of (issue 25), by the same setting.
  await store.pruneAudit(before);
  let calls = 0;
  for (;;) {
    const finished = await store.findFinished(before, BATCH);
    const referenced = await Promise.all(finished.map((id) => outbox.hasDeliveries(id)));
    const unreferenced = finished.filter((_id, index) => !referenced[index]);
    calls += await store.delete(unreferenced);
    // A batch whose calls all still have deliveries would come back forever: stop when a batch frees nothing.
    if (finished.length < BATCH || unreferenced.length === 0) break;
  }
  return { calls, deliveries };
}
