import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CallStore } from "../../src/calls/index.js";
import { pruneFinished } from "../../src/calls/retention.js";
import { DeliveryOutbox } from "../../src/delivery/index.js";
import { UNKNOWN_FACTS } from "../fixtures/calls.js";

const DAY = 86_400_000;

describe("retention", () => {
  it("forgets delivered deliveries and finished calls past the period, and keeps anything still owed", () => {
    let now = Date.UTC(2026, 0, 1);
    const dir = mkdtempSync(join(tmpdir(), "debrief-retention-"));
    const store = CallStore.open(join(dir, "calls.sqlite"), () => now);
    const outbox = DeliveryOutbox.open(join(dir, "outbox.sqlite"), () => now);
    const accept = (id: string, state: "accepted" | "skipped" = "accepted") => store.accept({ profile: "p", externalId: id, source: "autocalls", call: UNKNOWN_FACTS, payload: { transcript: "AI: hi" }, state }).call.id;

    const delivered = accept("delivered");
    const failedDelivery = accept("failed-delivery");
    const expressionFailed = accept("expression-failed");
    const skipped = accept("skipped", "skipped");
    const waiting = accept("waiting");
    for (const id of [delivered, failedDelivery, expressionFailed]) {
      store.claim(id, 1_000);
      store.markExtracted(id, { extracted_variables: {}, meta: {} }, id === expressionFailed ? [{ destination: "crm", path: "destinations.crm.transform", message: "x" }] : []);
    }
    const ok = outbox.enqueue({ callId: delivered, destination: "crm", payload: {} });
    outbox.recordAttempt(outbox.claim(ok.id, 1_000)!, { outcome: "delivered", status: 200, latencyMs: 5, error: null, responseSnippet: "ok" });
    const bad = outbox.enqueue({ callId: failedDelivery, destination: "crm", payload: {} });
    outbox.recordAttempt(outbox.claim(bad.id, 1_000)!, { outcome: "failed", status: 400, latencyMs: 5, error: "HTTP 400", responseSnippet: "no" });

    expect(pruneFinished(store, outbox, now - 30 * DAY)).toEqual({ calls: 0, deliveries: 0 });

    now += 31 * DAY;
    expect(pruneFinished(store, outbox, now - 30 * DAY)).toEqual({ calls: 2, deliveries: 1 });
    expect(store.get(delivered)).toBeUndefined();
    expect(store.get(skipped)).toBeUndefined();
    expect(store.get(failedDelivery)).toBeDefined(); // its dead letter can still be replayed
    expect(store.get(expressionFailed)).toBeDefined(); // the call itself can still be replayed
    expect(store.get(waiting)).toBeDefined(); // never extracted yet
    expect(outbox.get(bad.id)).toBeDefined();
    store.close();
    outbox.close();
  });
});
