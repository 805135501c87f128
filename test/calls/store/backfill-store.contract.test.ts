// The call store port's backfill queries (issue 14): every adapter picks the same calls, claims items with leases,
// counts each outcome once and finishes or cancels a backfill the same way.
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type { CallStore } from "../../../src/calls/index.js";
import { UNKNOWN_FACTS } from "../../fixtures/calls.js";
import { contractHarness, ENGINES } from "../../support/stores.js";

const LEASE_MS = 60_000;
const usage = { prompt_tokens: 100, completion_tokens: 20 };

describe.each(ENGINES)("backfills in the CallStore on $name", (engine) => {
  const harness = contractHarness(engine);
  afterEach(() => harness.cleanup());
  afterAll(() => engine.dispose());

  /** Calls of `profile`, one ms apart (oldest first): extracted under `version` unless it is null (left accepted). */
  async function seed(store: CallStore, profile: string, versions: (string | undefined | null)[]): Promise<string[]> {
    const ids: string[] = [];
    for (const [n, version] of versions.entries()) {
      const { call } = await store.accept({ profile, source: "autocalls", call: UNKNOWN_FACTS, externalId: `${profile}-${n}`, payload: { n }, state: "accepted" });
      if (version !== null) {
        await store.markExtracted(call.id, { extracted_variables: { n }, meta: {}, ...(version === undefined ? {} : { profile_version: version }) }, []);
      }
      ids.push(call.id);
      harness.clock.advance(1);
    }
    return ids;
  }

  const start = (store: CallStore, filter: Parameters<CallStore["createBackfill"]>[0]["filter"], limit?: number) =>
    store.createBackfill({ filter, limit, redeliver: false, request: { profile: filter.profile } });

  it("takes the profile's extracted calls in the period and states asked for, newest first, up to the limit", async () => {
    const { store } = await harness.open();
    const [old, , current, , newest] = await seed(store, "booking", ["v1", null, "v2", undefined, "v1"]);
    await seed(store, "other", ["v1"]);
    const since = (await store.get(old!))!.created_at + 1;

    const all = await start(store, { profile: "booking" });
    expect(all).toMatchObject({ profile: "booking", state: "running", total: 4, done: 0, changed: 0, failed: 0, redeliver: false, request: { profile: "booking" } });
    expect(all.id).toMatch(/^bf_[0-9a-f]{32}$/);
    // Only outdated calls: under another version, or none recorded.
    expect((await start(store, { profile: "booking", outdatedFrom: "v2" })).total).toBe(3);
    expect((await start(store, { profile: "booking", since })).total).toBe(3);
    expect((await start(store, { profile: "booking", states: ["delivering"] })).total).toBe(0);
    expect((await start(store, { profile: "booking", states: ["extracted"] })).total).toBe(4);

    const limited = await start(store, { profile: "booking" }, 2);
    expect(limited.total).toBe(2);
    await store.cancelBackfill(all.id);
    const claimed = await store.claimBackfillItems(10, LEASE_MS);
    expect(claimed.filter((item) => item.backfill_id === limited.id).map((item) => item.call_id)).toEqual([newest, expect.any(String)]);
    expect(claimed.some((item) => item.call_id === current)).toBe(true);
  });

  it("is done at once when no call matches", async () => {
    const { store } = await harness.open();
    const backfill = await start(store, { profile: "nobody" });
    expect(backfill).toMatchObject({ state: "done", total: 0, finished_at: harness.clock.now() });
    expect(await store.claimBackfillItems(10, LEASE_MS)).toEqual([]);
  });

  it("leases each item to one claimer, hands it over when the lease runs out, and counts each outcome once", async () => {
    const { store, reopen } = await harness.open();
    const ids = await seed(store, "booking", ["v1", "v1", "v1"]);
    const backfill = await store.createBackfill({ filter: { profile: "booking" }, redeliver: true, request: {} });
    const other = await reopen();

    const first = await store.claimBackfillItems(2, LEASE_MS);
    expect(first).toEqual([
      { backfill_id: backfill.id, call_id: ids[2], attempts: 0, redeliver: true },
      { backfill_id: backfill.id, call_id: ids[1], attempts: 0, redeliver: true },
    ]);
    expect((await other.store.claimBackfillItems(5, LEASE_MS)).map((item) => item.call_id)).toEqual([ids[0]]);
    expect(await store.claimBackfillItems(5, LEASE_MS)).toEqual([]);

    expect(await store.getBackfill(backfill.id)).toMatchObject({ cost_usd: null });
    await store.finishBackfillItem(first[0]!, { kind: "done", changed: true, usage, cost_usd: 0.000125 });
    await store.finishBackfillItem(first[0]!, { kind: "done", changed: true, usage, cost_usd: 0.000125 });
    await store.finishBackfillItem(first[1]!, { kind: "retry", error: "llm_unavailable", retryAt: harness.clock.now() + 5_000 });
    expect(await store.getBackfill(backfill.id)).toMatchObject({
      state: "running",
      done: 1,
      changed: 1,
      failed: 0,
      prompt_tokens: 100,
      completion_tokens: 20,
      cost_usd: 0.000125,
    });
    // The retried item is due again at its time; the other instance's lease runs out meanwhile.
    expect(await store.claimBackfillItems(5, LEASE_MS)).toEqual([]);
    harness.clock.advance(5_000);
    expect(await store.claimBackfillItems(5, LEASE_MS)).toEqual([{ backfill_id: backfill.id, call_id: ids[1], attempts: 1, redeliver: true }]);
    harness.clock.advance(LEASE_MS);
    const handedOver = await store.claimBackfillItems(5, LEASE_MS);
    expect(handedOver.map((item) => item.call_id).sort()).toEqual([ids[0], ids[1]].sort());

    await store.finishBackfillItem({ backfill_id: backfill.id, call_id: ids[1]! }, { kind: "failed", error: "not_found: the call was pruned" });
    // A model without a price adds nothing to what is known (null is not 0).
    await store.finishBackfillItem({ backfill_id: backfill.id, call_id: ids[0]! }, { kind: "done", changed: false, usage, cost_usd: null });
    expect(await other.store.getBackfill(backfill.id)).toMatchObject({
      state: "done",
      total: 3,
      done: 3,
      changed: 1,
      failed: 1,
      prompt_tokens: 200,
      completion_tokens: 40,
      cost_usd: 0.000125,
      finished_at: harness.clock.now(),
    });
    expect(await store.claimBackfillItems(5, LEASE_MS)).toEqual([]);
  });

  it("never starts a cancelled backfill's items, and keeps it cancelled when one in flight finishes", async () => {
    const { store } = await harness.open();
    await seed(store, "booking", ["v1", "v1"]);
    const backfill = await start(store, { profile: "booking" });
    const [inFlight] = await store.claimBackfillItems(1, LEASE_MS);
    expect(await store.cancelBackfill(backfill.id)).toMatchObject({ state: "cancelled", finished_at: harness.clock.now() });
    expect(await store.claimBackfillItems(5, LEASE_MS)).toEqual([]);
    await store.finishBackfillItem(inFlight!, { kind: "done", changed: true, usage, cost_usd: 0.0002 });
    expect(await store.getBackfill(backfill.id)).toMatchObject({ state: "cancelled", done: 1, changed: 1 });
    expect(await store.cancelBackfill("bf_nope")).toBeUndefined();
    expect(await store.getBackfill("bf_nope")).toBeUndefined();
  });

  it("lists a filter's calls whole, page after page", async () => {
    const { store } = await harness.open();
    const ids = await seed(store, "booking", ["v1", "v2", "v1", null, "v1"]);
    const filter = { profile: "booking", outdatedFrom: "v2" };
    const first = await store.listBackfillCandidates(filter, undefined, 2);
    expect(first.map((call) => call.id)).toEqual([ids[4], ids[2]]);
    expect(first[0]!.extraction).toMatchObject({ extracted_variables: { n: 4 }, profile_version: "v1" });
    const last = first.at(-1)!;
    const second = await store.listBackfillCandidates(filter, { created_at: last.created_at, id: last.id }, 2);
    expect(second.map((call) => call.id)).toEqual([ids[0]]);
  });

  it("picks and lists calls whose transcript holds NUL bytes and lone surrogates, and keeps a request holding them", async () => {
    const { store } = await harness.open();
    const text = "Dana\u0000 \ud800 \udfff \ue000 \\u0000";
    const { call } = await store.accept({ profile: "booking", source: "autocalls", call: UNKNOWN_FACTS, externalId: "nul", payload: { transcript: text }, state: "accepted" });
    const extraction = { extracted_variables: { name: text }, meta: {}, turns: [{ speaker: "customer" as const, text }], profile_version: "v1" };
    await store.markExtracted(call.id, extraction, []);
    // Reading the profile version out of the stored extraction must not trip over the rest of it.
    const filter = { profile: "booking", outdatedFrom: "v2" };
    const backfill = await store.createBackfill({ filter, redeliver: false, request: { profile: "booking", note: text } });
    expect(backfill).toMatchObject({ total: 1, request: { note: text } });
    expect((await store.getBackfill(backfill.id))!.request).toEqual({ profile: "booking", note: text });
    const [listed] = await store.listBackfillCandidates(filter, undefined, 10);
    expect(JSON.stringify(listed!.extraction)).toBe(JSON.stringify(extraction));
    expect(listed!.payload).toEqual({ transcript: text });
    expect((await store.createBackfill({ filter: { profile: "booking", outdatedFrom: "v1" }, redeliver: false, request: {} })).total).toBe(0);
  });

  it.skipIf(engine.shared)("frees items a dead process had claimed at start-up (one process per data dir)", async () => {
    const { store, reopen } = await harness.open();
    await seed(store, "booking", ["v1"]);
    await start(store, { profile: "booking" });
    expect(await store.claimBackfillItems(5, LEASE_MS)).toHaveLength(1);
    const restarted = await reopen();
    expect(await restarted.store.releaseAbandonedClaims()).toBe(1);
    expect(await restarted.store.claimBackfillItems(5, LEASE_MS)).toHaveLength(1);
  });
});
