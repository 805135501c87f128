// The call store port's contract: every adapter (SQLite, PostgreSQL) behaves the same, seen through the interface only.
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type { CallStore, FateInput } from "../../src/calls/index.js";
import { UNKNOWN_FACTS } from "../fixtures/calls.js";
import { contractHarness, ENGINES } from "../support/stores.js";

describe.each(ENGINES)("CallStore on $name", (engine) => {
  const harness = contractHarness(engine);
  async function open(): Promise<CallStore & { reopen(): Promise<CallStore> }> {
    const stores = await harness.open();
    return Object.assign(stores.store, { reopen: async () => (await stores.reopen()).store });
  }
  const call = (externalId?: string, state: "accepted" | "skipped" = "accepted") => ({
    profile: "booking",
    source: "autocalls" as const,
    call: UNKNOWN_FACTS,
    externalId,
    payload: { id: externalId, transcript: "AI: Hi.\nCustomer: Hello.", z: 1, a: 2 },
    state,
  });
  afterEach(() => harness.cleanup());
  afterAll(() => engine.dispose());
  const whenFailed = (destination: string, reason: string): FateInput =>
    ({ destination, event: 1, fate: "skipped", reason_code: "when_failed", reason, delivery_id: null, version: 0 });

  it("keeps where a call came from and what the platform said of it", async () => {
    const store = await open();
    const facts = {
      completed: true,
      started_at: "2026-01-01T12:00:00.114Z",
      ended_at: "2026-01-01T12:02:01.480Z",
      duration_s: 121.366,
      customer_phone: "+15555550142",
      agent_phone: "+15555550100",
      recording_url: null,
    };
    const { call: stored } = await store.accept({ ...call("v-1"), source: "vapi", call: facts, payload: { message: {} } });
    expect(await store.get(stored.id)).toMatchObject({ source: "vapi", external_id: "v-1", call: facts });
    const notCompleted = await store.accept({ ...call("v-2"), source: "vapi", call: { ...facts, completed: false } });
    expect((await store.get(notCompleted.call.id))!.call).toMatchObject({ completed: false });
  });

  it("stores an accepted call once per profile and external id, and answers a repeat with the stored call", async () => {
    const store = await open();
    const first = await store.accept(call("ext-1"));
    expect(first.created).toBe(true);
    expect(first.call).toMatchObject({
      id: expect.stringMatching(/^call_[0-9a-f]{32}$/),
      profile: "booking",
      external_id: "ext-1",
      state: "accepted",
      attempts: 0,
      next_attempt_at: harness.clock.now(),
      extraction: null,
      created_at: harness.clock.now(),
    });
    const again = await store.accept({ ...call("ext-1"), payload: { other: true } });
    expect(again).toEqual({ call: first.call, created: false });
    expect((await store.accept({ ...call("ext-1"), profile: "support" })).created).toBe(true);
    expect(await store.get(first.call.id)).toEqual(first.call);
    expect(JSON.stringify((await store.get(first.call.id))!.payload)).toBe(JSON.stringify(call("ext-1").payload)); // key order kept
    expect(await store.get("call_missing")).toBeUndefined();
  });

  it("gives a call without an external id its own id, so it is never a duplicate", async () => {
    const store = await open();
    const a = await store.accept(call(undefined));
    const b = await store.accept(call(undefined));
    expect([a.created, b.created]).toEqual([true, true]);
    expect(a.call.external_id).toBe(a.call.id);
  });

  it("treats the same call accepted by two instances at the same moment as one call", async () => {
    const store = await open();
    const other = await store.reopen();
    const results = await Promise.all([store, other, store, other].map((handle) => handle.accept(call("race"))));
    expect(results.filter((result) => result.created)).toHaveLength(1);
    expect(new Set(results.map((result) => result.call.id)).size).toBe(1);
  });

  it("accepts an external id holding a NUL byte, and knows it again", async () => {
    const store = await open();
    const first = await store.accept(call("a\u0000b"));
    const again = await store.accept(call("a\u0000b"));
    expect([first.created, again.created]).toEqual([true, false]);
    expect(again.call.id).toBe(first.call.id);
  });

  it("stores a skipped call with its reason and never hands it to a worker", async () => {
    const store = await open();
    const { call: skipped } = await store.accept({ ...call("s"), state: "skipped", reason: 'not_completed: call status is "busy"' });
    expect(skipped).toMatchObject({ state: "skipped", reason: 'not_completed: call status is "busy"', next_attempt_at: null });
    expect(await store.claimDue(10, 60_000)).toEqual([]);
    expect(await store.counts()).toMatchObject({ accepted: 0, extracting: 0, extracted: 0, extraction_failed: 0, skipped: 1 });
  });

  it("claims due calls oldest first, each once, until their lease runs out", async () => {
    const store = await open();
    const ids: string[] = [];
    for (const n of [1, 2, 3]) {
      ids.push((await store.accept(call(`c${n}`))).call.id);
      harness.clock.advance(1);
    }
    expect((await store.claimDue(2, 10_000)).map((c) => c.id)).toEqual(ids.slice(0, 2));
    expect((await store.claimDue(10, 10_000)).map((c) => c.id)).toEqual([ids[2]]);
    expect(await store.claimDue(10, 10_000)).toEqual([]);
    harness.clock.advance(10_000);
    harness.clock.advance(-1);
    expect(await store.claimDue(10, 10_000)).toEqual([]);
    harness.clock.advance(1);
    expect((await store.claimDue(10, 10_000)).map((c) => c.id)).toEqual(ids); // a worker that died: taken over
  });

  it("never hands the same call to two claimers at once", async () => {
    const store = await open();
    const other = await store.reopen();
    for (let n = 0; n < 30; n++) await store.accept(call(`c${n}`));
    const batches = await Promise.all([store, other, store, other].map((handle) => handle.claimDue(10, 60_000)));
    const ids = batches.flat().map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(30);
  });

  it("records an extraction, and frees the claim", async () => {
    const store = await open();
    const { call: accepted } = await store.accept(call("x"));
    await store.claimDue(1, 60_000);
    harness.clock.advance(10);
    const extraction = { extracted_variables: { budget: 4000 }, meta: { model: "m" } };
    await store.markExtracted(accepted.id, extraction, []);
    expect(await store.get(accepted.id)).toMatchObject({ state: "extracted", attempts: 1, extraction, next_attempt_at: null, updated_at: harness.clock.now() });
    expect(await store.claimDue(10, 60_000)).toEqual([]);
    expect(await store.replay(accepted.id)).toBe(false); // nothing failed
  });

  it("retries a failed attempt when it is due, and gives up when told to", async () => {
    const store = await open();
    const { call: accepted } = await store.accept(call("x"));
    await store.claimDue(1, 60_000);
    await store.markAttemptFailed(accepted.id, { code: "llm_unavailable", message: "LLM down \u0000" }, harness.clock.now() + 5_000);
    expect(await store.get(accepted.id)).toMatchObject({ state: "extracting", reason: "llm_unavailable", attempts: 1, next_attempt_at: harness.clock.now() + 5_000 });
    expect((await store.get(accepted.id))!.last_error).toMatch(/^LLM down .$/);
    expect(await store.claimDue(10, 60_000)).toEqual([]); // waiting holds no lease, but is not due
    harness.clock.advance(5_000);
    const other = await store.reopen();
    const [again] = await other.claimDue(10, 60_000);
    expect(again).toMatchObject({ id: accepted.id, attempts: 1 });
    await other.markAttemptFailed(accepted.id, { code: "extraction_failed", message: "bad" }, undefined);
    expect(await store.get(accepted.id)).toMatchObject({ state: "extraction_failed", attempts: 2, next_attempt_at: null });
    expect(await store.counts()).toMatchObject({ extraction_failed: 1 });
  });

  it("replays a failed extraction, or an extracted call whose deliveries could not all be enqueued, from scratch", async () => {
    const store = await open();
    const { call: failed } = await store.accept(call("f"));
    const { call: partial } = await store.accept(call("p"));
    await store.claimDue(10, 60_000);
    await store.markAttemptFailed(failed.id, { code: "x", message: "x" }, undefined);
    await store.markExtracted(partial.id, { extracted_variables: {}, meta: {} }, [whenFailed("crm", "boom")]);
    harness.clock.advance(50);
    expect(await store.replay(failed.id)).toBe(true);
    expect(await store.replay(partial.id)).toBe(true);
    expect(await store.replay(partial.id)).toBe(false); // already accepted again
    expect(await store.replay("call_missing")).toBe(false);
    expect(await store.get(failed.id)).toMatchObject({ state: "accepted", attempts: 0, next_attempt_at: harness.clock.now() });
    expect((await store.claimDue(10, 60_000)).map((c) => c.id).sort()).toEqual([failed.id, partial.id].sort());
  });

  it("finds finished calls last changed before a time, and deletes them", async () => {
    const store = await open();
    const { call: skipped } = await store.accept({ ...call("s"), state: "skipped", reason: "busy" });
    const { call: done } = await store.accept(call("d"));
    const { call: owed } = await store.accept(call("o"));
    const { call: pending } = await store.accept(call("w"));
    await store.claimDue(10, 60_000);
    await store.markExtracted(done.id, { extracted_variables: {}, meta: {} }, []);
    await store.markExtracted(owed.id, { extracted_variables: {}, meta: {} }, [whenFailed("crm", "x")]);
    expect(await store.findFinished(harness.clock.now(), 10)).toEqual([]);
    expect((await store.findFinished(harness.clock.now() + 1, 10)).sort()).toEqual([skipped.id, done.id].sort());
    expect(await store.findFinished(harness.clock.now() + 1, 1)).toHaveLength(1);
    expect(await store.delete([skipped.id, done.id, "call_missing"])).toBe(2);
    expect(await store.delete([])).toBe(0);
    expect(await store.get(done.id)).toBeUndefined();
    expect(await store.get(pending.id)).toBeDefined();
  });

  it(
    engine.shared
      ? "leaves a claim found at start-up to its lease: another live instance may hold it"
      : "frees a claim found at start-up: it was left by a process that died",
    async () => {
      const store = await open();
      const { call: accepted } = await store.accept(call("1"));
      expect(await store.claimDue(1, 600_000)).toHaveLength(1);
      const restarted = await store.reopen();
      expect(await restarted.releaseAbandonedClaims()).toBe(engine.shared ? 0 : 1);
      expect((await restarted.claimDue(10, 1_000)).map((c) => c.id)).toEqual(engine.shared ? [] : [accepted.id]);
    },
  );
});
