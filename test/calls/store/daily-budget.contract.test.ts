// The call store port's daily budget queries, the same on every adapter: a call waiting for its profile's budget is
// never claimed until it is resumed (by profile, or once its wait is over), back in the stage it waited in; a spent
// budget defers a profile's running backfills (releasing only the caller's own claims) until it is resumed.
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type { CallStore } from "../../../src/calls/index.js";
import { UNKNOWN_FACTS } from "../../fixtures/calls.js";
import { contractHarness, ENGINES } from "../../support/stores.js";

const LEASE_MS = 60_000;
const HOUR = 3_600_000;

describe.each(ENGINES)("daily budget waits in the CallStore on $name", (engine) => {
  const harness = contractHarness(engine);
  afterEach(() => harness.cleanup());
  afterAll(() => engine.dispose());

  let n = 0;
  async function accept(store: CallStore, profile: string): Promise<string> {
    n += 1;
    const { call } = await store.accept({ profile, source: "autocalls", call: UNKNOWN_FACTS, externalId: `${profile}-${n}`, payload: { n }, state: "accepted" });
    return call.id;
  }

  /** Claims what is due and parks each claimed call of `profile` until `until`, as the worker does. */
  async function park(store: CallStore, until: number): Promise<string[]> {
    const claimed = await store.claimDue(10, LEASE_MS);
    for (const call of claimed) await store.markWaitingForBudget(call.id, until);
    return claimed.map((call) => call.id);
  }

  it("never claims a waiting call, shows it as waiting_for_budget, and resumes it once its wait is over", async () => {
    const { store } = await harness.open();
    const id = await accept(store, "booking");
    const until = harness.clock.now() + HOUR;
    expect(await park(store, until)).toEqual([id]);
    expect(await store.get(id)).toMatchObject({ state: "waiting_for_budget", reason: "daily_budget_reached", attempts: 0, next_attempt_at: until });
    expect((await store.counts()).waiting_for_budget).toBe(1);
    expect((await store.list({ states: ["waiting_for_budget"], limit: 10 })).map((call) => call.id)).toEqual([id]);

    // Its next_attempt_at passing is not enough: only a resume makes it due.
    harness.clock.advance(2 * HOUR);
    expect(await store.claimDue(10, LEASE_MS)).toEqual([]);
    expect(await store.resumeWaitingForBudget({ dueBy: until - 1 })).toBe(0);
    expect(await store.resumeWaitingForBudget({ dueBy: harness.clock.now() })).toBe(1);
    expect(await store.get(id)).toMatchObject({ state: "accepted", reason: null, next_attempt_at: harness.clock.now() });
    expect((await store.claimDue(10, LEASE_MS)).map((call) => call.id)).toEqual([id]);
  });

  it("resumes only the profiles named, and a call that had failed an attempt goes back to extracting", async () => {
    const { store } = await harness.open();
    const booking = await accept(store, "booking");
    const support = await accept(store, "support");
    await store.claimDue(10, LEASE_MS);
    await store.markAttemptFailed(booking, { code: "llm_unavailable", message: "down" }, harness.clock.now());
    await park(store, harness.clock.now() + HOUR);
    await store.markWaitingForBudget(support, harness.clock.now() + HOUR);

    expect(await store.resumeWaitingForBudget({ profiles: ["booking"] })).toBe(1);
    expect(await store.get(booking)).toMatchObject({ state: "extracting", attempts: 1 });
    expect((await store.get(support))!.state).toBe("waiting_for_budget");
    expect(await store.resumeWaitingForBudget({ profiles: [] })).toBe(0);
    expect(await store.resumeWaitingForBudget({ profiles: ["support", "nobody"] })).toBe(1);
    expect((await store.claimDue(10, LEASE_MS)).map((call) => call.id).sort()).toEqual([booking, support].sort());
  });

  it("defers a profile's running backfills until a resume, releasing the caller's claims and no other", async () => {
    const { store } = await harness.open();
    const ids = [await accept(store, "booking"), await accept(store, "booking"), await accept(store, "booking"), await accept(store, "other")];
    await store.claimDue(10, LEASE_MS);
    for (const id of ids) await store.markExtracted(id, { extracted_variables: {}, meta: {} }, []);
    const booking = await store.createBackfill({ filter: { profile: "booking" }, redeliver: false, request: {} });
    const callOf = (items: { call_id: string }[]) => items.map((item) => item.call_id).sort();

    // Another worker holds one of its items; this one claims the other two, then finds the budget spent.
    const theirs = await store.claimBackfillItems(1, LEASE_MS);
    const mine = await store.claimBackfillItems(10, LEASE_MS);
    expect(callOf([...theirs, ...mine])).toEqual(ids.slice(0, 3).sort());
    expect(await store.deferBackfills("booking", harness.clock.now() + HOUR, mine)).toBe(3);

    // Deferred: none of booking's is claimed, another profile's backfill runs on.
    const other = await store.createBackfill({ filter: { profile: "other" }, redeliver: false, request: {} });
    expect(callOf(await store.claimBackfillItems(10, LEASE_MS))).toEqual([ids[3]]);
    expect(await store.resumeBackfills("other")).toBe(0);

    // Resumed: this worker's released items are due now; the other worker's claim stands until its lease runs out.
    expect(await store.resumeBackfills("booking")).toBe(3);
    expect(callOf(await store.claimBackfillItems(10, LEASE_MS))).toEqual(callOf(mine));
    harness.clock.advance(LEASE_MS + 1);
    // Every lease above ran out: theirs is free again (as are the ones claimed since).
    expect(callOf(await store.claimBackfillItems(10, LEASE_MS))).toEqual([...ids].sort());
    expect(other.total).toBe(1);
  });
});
