// The call store port's contract: every adapter (SQLite, PostgreSQL) behaves the same, seen through the interface only.
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type { CallStore, FateInput } from "../../../src/calls/index.js";
import { UNKNOWN_FACTS } from "../../fixtures/calls.js";
import { contractHarness, ENGINES } from "../../support/stores.js";

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

  it("counts each profile's extracted calls by the profile version their current extraction ran under", async () => {
    const store = await open();
    const extract = async (externalId: string, profile: string, version: string | undefined) => {
      const { call: accepted } = await store.accept({ ...call(externalId), profile });
      await store.claimDue(10, 60_000);
      await store.markExtracted(accepted.id, { extracted_variables: {}, meta: {}, ...(version ? { profile_version: version } : {}) }, []);
    };
    await extract("a", "booking", "v1");
    await extract("b", "booking", "v1");
    await extract("c", "booking", "v2");
    await extract("d", "booking", undefined);
    await extract("e", "support", "s1");
    await store.accept(call("not-extracted"));
    expect(await store.profileVersionCounts("booking")).toEqual([
      { profile: "booking", version: "v1", calls: 2 },
      expect.objectContaining({ profile: "booking", calls: 1 }),
      expect.objectContaining({ profile: "booking", calls: 1 }),
    ]);
    const all = await store.profileVersionCounts();
    expect(all).toHaveLength(4);
    expect(all).toEqual(
      expect.arrayContaining([
        { profile: "booking", version: "v2", calls: 1 },
        { profile: "booking", version: null, calls: 1 },
        { profile: "support", version: "s1", calls: 1 },
      ]),
    );
    expect(await store.profileVersionCounts("nobody")).toEqual([]);
  });

  it("accepts an external id holding a NUL byte, and knows it again", async () => {
    const store = await open();
    const first = await store.accept(call("a\u0000b"));
    const again = await store.accept(call("a\u0000b"));
    expect([first.created, again.created]).toEqual([true, false]);
    expect(again.call.id).toBe(first.call.id);
  });

  describe("text PostgreSQL cannot hold as it is (NUL, lone surrogates), given back exactly as sent", () => {
    // What the escaping must survive too: its own escape character, and text that looks like an escape.
    const awkward = "a\u0000b \ue000 \ue0000000 \\u0000 \u{1F600} \uFFFD";
    // Lone surrogates too, inside JSON (neither engine keeps one in a plain text column).
    const awkwardJson = `${awkward} \ud800 \udc00x`;
    const turns = [{ speaker: "customer" as const, text: `My name is Dana\u0000. ${awkwardJson}` }];
    const extraction = { extracted_variables: { name: "Dana\u0000", note: awkwardJson }, meta: { model: "m" }, turns, profile_version: "aaaaaaaaaaaa" };
    const payload = { transcript: `AI: Hi.\nCustomer: My name is Dana\u0000.`, [`key\u0000${awkwardJson}`]: [awkwardJson, { nested: "\u0000" }], z: 1, a: 2 };

    it("keeps a payload, a transcript, an external id and a reason byte for byte, and finds the call by that id", async () => {
      const store = await open();
      const externalId = `ext\u0000${awkward}`;
      const reason = `not_completed: status "busy\u0000" ${awkward}`;
      const { call: stored } = await store.accept({ ...call(externalId, "skipped"), payload, reason });
      for (const read of [stored, (await store.get(stored.id))!]) {
        expect(read.external_id).toBe(externalId);
        expect(read.reason).toBe(reason);
        expect(JSON.stringify(read.payload)).toBe(JSON.stringify(payload));
      }
      expect((await store.accept({ ...call(externalId), payload: { other: true } })).call.id).toBe(stored.id);
      const listed = await store.list({ externalId, limit: 10 });
      expect(listed.map((c) => [c.id, c.external_id, c.reason])).toEqual([[stored.id, externalId, reason]]);
    });

    it("never takes an external id with NUL for the same id with U+FFFD in its place", async () => {
      const store = await open();
      const withNul = await store.accept(call("a\u0000b"));
      const withReplacement = await store.accept(call("a\uFFFDb"));
      expect([withNul.created, withReplacement.created]).toEqual([true, true]);
      expect((await store.get(withNul.call.id))!.external_id).toBe("a\u0000b");
      expect((await store.get(withReplacement.call.id))!.external_id).toBe("a\uFFFDb");
    });

    it("keeps an extraction, its history, an error, a fate's reason and a review byte for byte", async () => {
      const store = await open();
      const { call: accepted } = await store.accept({ ...call("x"), payload });
      await store.claimDue(1, 60_000);
      await store.markAttemptFailed(accepted.id, { code: "llm_unavailable", message: `LLM said \u0000 ${awkward}` }, harness.clock.now());
      expect((await store.get(accepted.id))!.last_error).toBe(`LLM said \u0000 ${awkward}`);
      await store.claimDue(1, 60_000);
      await store.markExtracted(accepted.id, extraction, [whenFailed("crm", `boom \u0000 ${awkward}`)]);
      const read = (await store.get(accepted.id))!;
      expect(JSON.stringify(read.extraction)).toBe(JSON.stringify(extraction));
      expect(read.extraction!.turns).toEqual(turns);
      const { turns: _turns, ...history } = extraction;
      expect((await store.listExtractions(accepted.id, 10)).map((entry) => JSON.stringify(entry.extraction))).toEqual([JSON.stringify(history)]);
      expect((await store.listFates(accepted.id)).map((fate) => fate.reason)).toEqual([`boom \u0000 ${awkward}`]);
      expect((await store.claimDue(10, 60_000)).map((c) => c.id)).toEqual([]);

      const { call: held } = await store.accept(call("held"));
      await store.claimDue(10, 60_000);
      await store.markHeld(held.id, extraction);
      const review = { approved: false, at: "2026-06-12T14:22:05.000Z", corrected: ["name"], values: { name: `Dana\u0000 ${awkwardJson}` }, reason: `wrong \u0000 ${awkward}` };
      expect(await store.decideReview(held.id, review)).toBe(true);
      expect(await store.get(held.id)).toMatchObject({ reviewed: review, reason: review.reason });
    });
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

  it("keeps every extraction of a call, newest first; a re-extraction becomes current with its delivery's fates", async () => {
    const store = await open();
    const { call: accepted } = await store.accept(call("h"));
    const turns = [{ speaker: "agent" as const, text: "Hi." }];
    await store.markExtracted(accepted.id, { extracted_variables: { plan: "pro" }, meta: { model: "m" }, turns, profile_version: "aaaaaaaaaaaa" }, []);
    harness.clock.advance(10);
    const reextracted = { extracted_variables: { plan: "basic" }, meta: { model: "m" }, turns, profile_version: "bbbbbbbbbbbb" };
    const pending: FateInput = { destination: "crm", event: 2, fate: "pending", reason_code: null, reason: null, delivery_id: "dlv_2", version: 0 };
    expect(await store.recordReextraction(accepted.id, { extraction: reextracted, trigger: "api", event: 2, fates: [pending] })).toBe(2);
    harness.clock.advance(10);
    expect(await store.recordReextraction(accepted.id, { extraction: { ...reextracted, profile_version: "cccccccccccc" }, trigger: "backfill", event: null, fates: [] })).toBe(3);

    expect(await store.get(accepted.id)).toMatchObject({ state: "delivering", extraction: { extracted_variables: { plan: "basic" }, profile_version: "cccccccccccc", turns } });
    const history = await store.listExtractions(accepted.id, 10);
    expect(history.map((entry) => [entry.seq, entry.profile_version, entry.trigger, entry.event, entry.extraction.extracted_variables])).toEqual([
      [3, "cccccccccccc", "backfill", null, { plan: "basic" }],
      [2, "bbbbbbbbbbbb", "api", 2, { plan: "basic" }],
      [1, "aaaaaaaaaaaa", "live", 1, { plan: "pro" }],
    ]);
    // The transcript is kept once, with the current extraction, not in every history entry.
    expect(history[2]!.extraction).toEqual({ extracted_variables: { plan: "pro" }, meta: { model: "m" }, profile_version: "aaaaaaaaaaaa" });
    expect(history[0]!.created_at).toBe(harness.clock.now());
    expect((await store.listExtractions(accepted.id, 1)).map((entry) => entry.seq)).toEqual([3]);
    expect((await store.listFates(accepted.id)).map((fate) => [fate.destination, fate.event, fate.fate])).toEqual([["crm", 2, "pending"]]);
  });

  it("stores no re-extraction for a call that is not extracted or does not exist", async () => {
    const store = await open();
    const { call: accepted } = await store.accept(call("n"));
    const input = { extraction: { extracted_variables: {}, meta: {} }, trigger: "api" as const, event: null, fates: [] };
    expect(await store.recordReextraction(accepted.id, input)).toBeUndefined();
    expect(await store.recordReextraction("call_missing", input)).toBeUndefined();
    expect(await store.listExtractions(accepted.id, 10)).toEqual([]);
    expect(await store.get(accepted.id)).toMatchObject({ state: "accepted", extraction: null });
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

  describe("review hold", () => {
    const extraction = { extracted_variables: { budget: 4000 }, meta: { model: "m" }, confidence: { budget: 0.2 }, review: { needed: true, fields: { budget: ["low_confidence" as const] } } };
    const approval = { approved: true, at: "2026-06-12T14:22:05.000Z", corrected: ["budget"], values: { budget: 5000 }, reason: null };
    const skip = { approved: false, at: "2026-06-12T14:22:05.000Z", corrected: [], values: {}, reason: "wrong number \u0000 dialled" };

    async function held(store: CallStore, externalId: string) {
      const { call: accepted } = await store.accept(call(externalId));
      await store.claimDue(10, 60_000);
      harness.clock.advance(10);
      await store.markHeld(accepted.id, extraction);
      return accepted.id;
    }

    it("keeps a held call's extraction in needs_review, out of the workers' and the pruner's reach, and lists it as the queue", async () => {
      const store = await open();
      const id = await held(store, "h");
      await store.accept(call("other"));
      expect(await store.get(id)).toMatchObject({ state: "needs_review", stage: "needs_review", attempts: 1, extraction, reviewed: null, next_attempt_at: null });
      expect((await store.claimDue(10, 60_000)).map((c) => c.id)).not.toContain(id);
      harness.clock.advance(120_000);
      expect((await store.claimDue(10, 60_000)).map((c) => c.id)).not.toContain(id); // no lease to run out
      expect(await store.findFinished(harness.clock.now() + 1, 10)).toEqual([]);
      expect(await store.replay(id)).toBe(false);
      expect((await store.list({ states: ["needs_review"], limit: 10 })).map((c) => c.id)).toEqual([id]);
      expect(await store.counts()).toMatchObject({ needs_review: 1 });
    });

    it("approves a held call: accepted again and due now, the decision kept with it", async () => {
      const store = await open();
      const id = await held(store, "a");
      harness.clock.advance(10);
      expect(await store.decideReview(id, approval)).toBe(true);
      expect(await store.get(id)).toMatchObject({ state: "accepted", stage: "accepted", attempts: 0, next_attempt_at: harness.clock.now(), extraction, reviewed: approval });
      expect((await store.claimDue(10, 60_000)).map((c) => c.id)).toEqual([id]);
      await store.markExtracted(id, extraction, []);
      expect(await store.get(id)).toMatchObject({ state: "extracted", reviewed: approval });
      expect(await store.decideReview(id, approval)).toBe(false); // no longer held
    });

    it("skips a held call with the reviewer's reason", async () => {
      const store = await open();
      const id = await held(store, "s");
      expect(await store.decideReview(id, skip)).toBe(true);
      const stored = await store.get(id);
      expect(stored).toMatchObject({ state: "skipped", stage: "skipped", extraction, reviewed: { ...skip, reason: expect.stringMatching(/^wrong number . dialled$/) } });
      expect(stored!.reason).toMatch(/^wrong number . dialled$/);
      expect(await store.claimDue(10, 60_000)).toEqual([]);
      expect(await store.findFinished(harness.clock.now() + 1, 10)).toEqual([id]);
    });

    it("lets one of two racing reviews decide, from two handles, and never a call that is not held", async () => {
      const store = await open();
      const other = await store.reopen();
      const id = await held(store, "r");
      const results = await Promise.all([store.decideReview(id, approval), other.decideReview(id, skip), store.decideReview(id, skip), other.decideReview(id, approval)]);
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = [approval, skip, skip, approval][results.indexOf(true)]!;
      expect((await store.get(id))!.reviewed!.approved).toBe(winner.approved);
      const { call: accepted } = await store.accept(call("never-held"));
      expect(await store.decideReview(accepted.id, approval)).toBe(false);
      expect(await store.decideReview("call_missing", approval)).toBe(false);
      expect(await store.get(accepted.id)).toMatchObject({ state: "accepted", reviewed: null });
    });
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

  describe("fates and the public state", () => {
    const extraction = { extracted_variables: { plan: "pro" }, meta: {} };
    const pending = (destination: string, deliveryId: string): FateInput => ({
      destination,
      event: 1,
      fate: "pending",
      reason_code: null,
      reason: null,
      delivery_id: deliveryId,
      version: 0,
    });
    const followed = (callId: string, destination: string, deliveryId: string, fate: "pending" | "delivered" | "failed", version: number) => ({
      call_id: callId,
      destination,
      event: 1,
      fate,
      reason_code: fate === "failed" ? ("dead_lettered" as const) : null,
      reason: fate === "failed" ? "HTTP 410: not retried" : null,
      delivery_id: deliveryId,
      version,
    });
    async function extracted(store: CallStore, externalId: string, fates: FateInput[]) {
      const { call: accepted } = await store.accept(call(externalId));
      await store.claimDue(10, 60_000);
      await store.markExtracted(accepted.id, extraction, fates);
      return accepted.id;
    }

    it("derives the state from the extraction stage, then from every destination's latest fate", async () => {
      const store = await open();
      const whenFalse: FateInput = { destination: "slack", event: 1, fate: "skipped", reason_code: "when_false", reason: null, delivery_id: null, version: 0 };
      const none = await extracted(store, "none", [whenFalse]);
      const id = await extracted(store, "x", [pending("crm", "dlv_crm"), pending("slack", "dlv_slack")]);
      expect((await store.get(none))!.state).toBe("extracted");
      expect(await store.get(id)).toMatchObject({ stage: "extracted", state: "delivering" });
      await store.recordFates([followed(id, "crm", "dlv_crm", "delivered", 2)]);
      expect((await store.get(id))!.state).toBe("delivering");
      await store.recordFates([followed(id, "slack", "dlv_slack", "delivered", 2)]);
      expect((await store.get(id))!.state).toBe("delivered");
      await store.recordFates([followed(id, "slack", "dlv_slack", "failed", 3)]);
      expect((await store.get(id))!.state).toBe("delivery_failed");
      await store.recordFates([followed(id, "slack", "dlv_slack", "pending", 4)]); // sent again
      expect((await store.get(id))!.state).toBe("delivering");
      expect(await store.counts()).toMatchObject({ extracted: 1, delivering: 1 });
      expect((await store.listFates(id)).map((f) => [f.destination, f.fate, f.version])).toEqual([
        ["crm", "delivered", 2],
        ["slack", "pending", 4],
      ]);
    });

    it("keeps the newest version of a delivery's fate whatever order writes arrive in, and never lets a skip replace it", async () => {
      const store = await open();
      const other = await store.reopen();
      const { call: accepted } = await store.accept(call("race"));
      await store.claimDue(10, 60_000);
      // The delivery worker records the outcome before the extraction's own write lands.
      await other.recordFates([followed(accepted.id, "crm", "dlv_1", "delivered", 2)]);
      expect((await store.get(accepted.id))!.state).toBe("accepted"); // not extracted yet: the stage decides
      await store.markExtracted(accepted.id, extraction, [pending("crm", "dlv_1")]);
      expect((await store.get(accepted.id))!.state).toBe("delivered");
      await store.recordFates([followed(accepted.id, "crm", "dlv_1", "pending", 1)]); // a stale push
      const skip: FateInput = { destination: "crm", event: 1, fate: "skipped", reason_code: "when_false", reason: null, delivery_id: null, version: 0 };
      await store.markExtracted(accepted.id, extraction, [skip]); // a replay whose `when` no longer holds
      expect((await store.listFates(accepted.id)).map((f) => [f.fate, f.delivery_id, f.version])).toEqual([["delivered", "dlv_1", 2]]);
      expect((await store.get(accepted.id))!.state).toBe("delivered");
    });

    it("lets a delivery replace an expression failure once a replay enqueues it, and then no longer replays the call", async () => {
      const store = await open();
      const id = await extracted(store, "fix", [whenFailed("crm", "boom")]);
      expect((await store.get(id))!.state).toBe("delivery_failed");
      expect(await store.replay(id)).toBe(true);
      expect((await store.get(id))!.state).toBe("accepted");
      await store.claimDue(10, 60_000);
      await store.markExtracted(id, extraction, [pending("crm", "dlv_fixed")]);
      expect((await store.get(id))!.state).toBe("delivering");
      expect(await store.replay(id)).toBe(false);
    });

    it("ignores fates of calls it does not have, and writes several calls' fates in one go", async () => {
      const store = await open();
      const a = await extracted(store, "a", [pending("crm", "dlv_a")]);
      const b = await extracted(store, "b", [pending("crm", "dlv_b")]);
      await store.recordFates([
        followed(a, "crm", "dlv_a", "delivered", 2),
        followed("call_gone", "crm", "dlv_gone", "delivered", 2),
        followed(b, "crm", "dlv_b", "failed", 2),
      ]);
      expect([(await store.get(a))!.state, (await store.get(b))!.state]).toEqual(["delivered", "delivery_failed"]);
      expect(await store.listFates("call_gone")).toEqual([]);
      // A list page's fates in one query, by call: what `GET /v1/calls` shows beside each call.
      const byCall = await store.listFatesOf([a, b, "call_gone"]);
      expect([...byCall.keys()].sort()).toEqual([a, b].sort());
      expect(byCall.get(a)!.map((f) => [f.destination, f.fate])).toEqual([["crm", "delivered"]]);
      expect(byCall.get(b)!.map((f) => [f.destination, f.fate])).toEqual([["crm", "failed"]]);
      expect((await store.listFatesOf([])).size).toBe(0);
      await store.recordFates([]);
      expect(await store.delete([a])).toBe(1);
      expect(await store.listFates(a)).toEqual([]);
    });
  });

  describe("listing", () => {
    async function seed() {
      const store = await open();
      const ids: Record<string, string> = {};
      const add = async (name: string, input: Partial<Parameters<CallStore["accept"]>[0]> = {}) => {
        ids[name] = (await store.accept({ ...call(name), ...input })).call.id;
        harness.clock.advance(1_000);
      };
      await add("vapi-1", { source: "vapi", profile: "support" });
      await add("auto-1");
      await add("skip-1", { state: "skipped", reason: "not_completed" });
      await add("auto-2");
      await add("auto-3", { customerE164: "+15551234567" });
      await store.claimDue(10, 60_000);
      await store.markExtracted(ids["auto-1"]!, { extracted_variables: {}, meta: {} }, [
        { destination: "crm", event: 1, fate: "pending", reason_code: null, reason: null, delivery_id: "dlv_1", version: 0 },
      ]);
      await store.markExtracted(ids["auto-2"]!, { extracted_variables: {}, meta: {} }, [whenFailed("slack", "boom")]);
      await store.markAttemptFailed(ids["vapi-1"]!, { code: "llm_unavailable", message: "down" }, harness.clock.now() + 60_000);
      await store.markAttemptFailed(ids["auto-3"]!, { code: "llm_unavailable", message: "down" }, undefined);
      return { store, ids };
    }
    const names = (ids: Record<string, string>, calls: { id: string }[]) => calls.map((c) => Object.keys(ids).find((name) => ids[name] === c.id));

    it("lists newest first, each filter alone and together", async () => {
      const { store, ids } = await seed();
      const list = async (query: Partial<Parameters<CallStore["list"]>[0]>) => names(ids, await store.list({ limit: 50, ...query }));
      const start = harness.clock.now() - 5_000;
      expect(await list({})).toEqual(["auto-3", "auto-2", "skip-1", "auto-1", "vapi-1"]);
      expect(await list({ profile: "support" })).toEqual(["vapi-1"]);
      expect(await list({ source: "autocalls" })).toEqual(["auto-3", "auto-2", "skip-1", "auto-1"]);
      expect(await list({ states: ["delivering"] })).toEqual(["auto-1"]);
      expect(await list({ states: ["delivery_failed", "extraction_failed"] })).toEqual(["auto-3", "auto-2"]);
      expect(await list({ states: ["extracting", "skipped"] })).toEqual(["skip-1", "vapi-1"]);
      expect(await list({ states: ["delivered"] })).toEqual([]);
      expect(await list({ externalId: "auto-2" })).toEqual(["auto-2"]);
      expect(await list({ since: start + 1_000, until: start + 3_000 })).toEqual(["skip-1", "auto-1"]);
      expect(await list({ destination: "slack" })).toEqual(["auto-2"]);
      expect(await list({ destination: "crm", states: ["delivering"], profile: "booking", source: "autocalls" })).toEqual(["auto-1"]);
      expect(await list({ limit: 2 })).toEqual(["auto-3", "auto-2"]);
      const [summary] = await store.list({ limit: 1 });
      expect(summary).toMatchObject({ external_id: "auto-3", customer_phone_e164: "+15551234567", state: "extraction_failed", stage: "extraction_failed" });
      expect(summary).not.toHaveProperty("payload");
    });

    it("continues after a position, ties on the same millisecond broken by id, and new calls never shift a page", async () => {
      const store = await open();
      for (let n = 0; n < 4; n++) await store.accept(call(`same-ms-${n}`)); // one millisecond for all
      const first = await store.list({ limit: 2 });
      harness.clock.advance(1);
      await store.accept(call("newer")); // arrives between two pages
      const rest = await store.list({ limit: 10, after: { created_at: first[1]!.created_at, id: first[1]!.id } });
      const all = [...first, ...rest].map((c) => c.external_id);
      expect(all).toHaveLength(4);
      expect(new Set(all).size).toBe(4);
      expect(all).not.toContain("newer");
      expect([...first, ...rest].map((c) => c.id)).toEqual([...first, ...rest].map((c) => c.id).sort().reverse());
    });

    it("finds a caller's calls newest first, and the newest one extracted", async () => {
      const store = await open();
      const phone = "+15551234567";
      const older = (await store.accept({ ...call("c1"), customerE164: phone })).call.id;
      harness.clock.advance(1);
      await store.accept({ ...call("other"), customerE164: "+15550000000" });
      await store.accept({ ...call("c2"), profile: "support", customerE164: phone });
      harness.clock.advance(1);
      await store.claimDue(10, 60_000);
      await store.markExtracted(older, { extracted_variables: { name: "Dana" }, meta: {} }, []);
      const newest = (await store.accept({ ...call("c3"), customerE164: phone })).call.id;
      const history = await store.callerHistory("booking", phone, 10);
      expect(history.recent.map((c) => c.id)).toEqual([newest, older]);
      expect(history.latest).toMatchObject({ id: older, extraction: { extracted_variables: { name: "Dana" } } });
      expect((await store.callerHistory("booking", phone, 1)).recent.map((c) => c.id)).toEqual([newest]);
      expect(await store.callerHistory("booking", "+15559999999", 10)).toEqual({ recent: [], latest: undefined });
    });

    it("signs cursors with one key per database, the same for every handle on it", async () => {
      const store = await open();
      const key = await store.cursorKey();
      expect(key.length).toBe(32);
      expect((await (await store.reopen()).cursorKey()).equals(key)).toBe(true);
      const elsewhere = await open();
      expect((await elsewhere.cursorKey()).equals(key)).toBe(false);
    });
  });
});
