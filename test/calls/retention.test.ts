// Retention on every engine: what is past the period and finished goes; anything still owed stays.
import { afterAll, describe, expect, it } from "vitest";
import { syncFates } from "../../src/calls/index.js";
import { pruneFinished } from "../../src/calls/retention.js";
import type { ClaimRequest } from "../../src/delivery/index.js";
import { UNKNOWN_FACTS } from "../fixtures/calls.js";
import { ENGINES } from "../support/stores.js";

const DAY = 86_400_000;
const ANY: ClaimRequest = { limit: 10, destinations: new Map(), other: { room: 10, leaseMs: 1_000 } };

describe.each(ENGINES)("retention on $name", (engine) => {
  afterAll(() => engine.dispose());

  it("forgets delivered deliveries and finished calls past the period, and keeps anything still owed", async () => {
    let now = Date.UTC(2026, 0, 1);
    const { store, outbox, close, reopen } = await engine.create(() => now);
    const accept = async (id: string, state: "accepted" | "skipped" = "accepted") =>
      (await store.accept({ profile: "p", externalId: id, source: "autocalls", call: UNKNOWN_FACTS, payload: { transcript: "AI: hi" }, state })).call.id;

    const delivered = await accept("delivered");
    const failedDelivery = await accept("failed-delivery");
    const expressionFailed = await accept("expression-failed");
    const skipped = await accept("skipped", "skipped");
    const waiting = await accept("waiting");
    const claimed = await store.claimDue(10, 1_000);
    for (const id of [delivered, failedDelivery, expressionFailed]) {
      expect(claimed.map((call) => call.id)).toContain(id);
      const transformFailed = { destination: "crm", event: 1, fate: "skipped", reason_code: "transform_failed", reason: "x", delivery_id: null, version: 0 } as const;
      await store.markExtracted(id, { extracted_variables: {}, meta: {} }, id === expressionFailed ? [transformFailed] : []);
    }
    await store.markAttemptFailed(waiting, { code: "llm_unavailable", message: "down" }, now + DAY);
    const ok = await outbox.enqueue({ callId: delivered, destination: "crm", payload: {} });
    const [okClaim] = await outbox.claimDue(ANY);
    await outbox.recordAttempt(okClaim!, { outcome: "delivered", status: 200, latencyMs: 5, error: null, responseSnippet: "ok" });
    const bad = await outbox.enqueue({ callId: failedDelivery, destination: "crm", payload: {} });
    const [badClaim] = await outbox.claimDue(ANY);
    await outbox.recordAttempt(badClaim!, { outcome: "failed", status: 400, latencyMs: 5, error: "HTTP 400", responseSnippet: "no" });

    expect(await pruneFinished(store, outbox, now - 30 * DAY)).toEqual({ calls: 0, deliveries: 0 });

    now += 31 * DAY;
    // A delivered delivery whose fate its call has not recorded yet stays until it has.
    expect(await pruneFinished(store, outbox, now - 30 * DAY)).toEqual({ calls: 1, deliveries: 0 });
    expect(await store.get(skipped)).toBeUndefined();
    expect(await syncFates(store, outbox)).toBe(2);
    // Two instances pruning at the same moment delete each row once between them.
    const other = await reopen();
    const [first, second] = await Promise.all([pruneFinished(store, outbox, now - 30 * DAY), pruneFinished(other.store, other.outbox, now - 30 * DAY)]);
    expect({ calls: first.calls + second.calls, deliveries: first.deliveries + second.deliveries }).toEqual({ calls: 1, deliveries: 1 });
    expect(await store.get(delivered)).toBeUndefined();
    expect(await store.get(failedDelivery)).toBeDefined(); // its dead letter can still be replayed
    expect(await store.get(expressionFailed)).toBeDefined(); // the call itself can still be replayed
    expect(await store.get(waiting)).toBeDefined(); // never extracted yet
    expect(await outbox.get(bad.id)).toBeDefined();
    expect(await outbox.get(ok.id)).toBeUndefined();
    await other.close();
    await close();
  });
});
