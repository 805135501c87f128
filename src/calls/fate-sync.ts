// Keeps the call store's copy of each delivery's fate (what calls are listed and filtered by) in step with the outbox,
// which stays the truth. The two are separate stores (separate files on SQLite), so no transaction spans both: every
// status change in the outbox bumps the delivery's version in the same write, and the version stays "unconfirmed"
// until the call store has recorded it. Whoever changed a delivery pushes it at once; a crash in between leaves it
// unconfirmed, and the workers' periodic sweep pushes it then. Pushing twice is harmless: a fate never goes back to
// an older version.
import type { DeliveryOutbox } from "../delivery/index.js";
import { fateOfDelivery, type CallFateInput } from "./fates.js";
import type { CallStore } from "./store/port.js";

const BATCH = 500;

/**
 * Pushes the unconfirmed fates of `ids` (or, without ids, of the whole outbox, batch after batch) into the call store
 * and confirms them. Returns how many were pushed.
 */
export async function syncFates(store: CallStore, outbox: DeliveryOutbox, options: { ids?: readonly string[] } = {}): Promise<number> {
  if (options.ids?.length === 0) return 0;
  let pushed = 0;
  for (;;) {
    const rows = await outbox.unsyncedFates({ ids: options.ids, limit: BATCH });
    if (rows.length === 0) return pushed;
    await store.recordFates(
      rows.map((row): CallFateInput => ({
        call_id: row.call_id,
        destination: row.destination,
        event: row.event,
        // A pending fate is stored without why: the call view reads the retry's error live from the outbox.
        ...fateOfDelivery({ status: row.status, last_error: row.status === "failed" ? row.last_error : null }),
        delivery_id: row.id,
        version: row.version,
      })),
    );
    await outbox.markFatesSynced(rows.map(({ id, version }) => ({ id, version })));
    pushed += rows.length;
    if (options.ids !== undefined || rows.length < BATCH) return pushed;
  }
}
