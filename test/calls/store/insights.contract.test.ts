// Insights (issue 27) on both engines: a fixture of calls with known values (nulls, low confidence, a re-extraction of
// which only the latest counts, a reviewer's correction counted as the corrected value), aggregated through the store's
// value rows; and the calls list's `where` filter served from the same rows.
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type { CallStore } from "../../../src/calls/index.js";
import { profileInsights } from "../../../src/calls/insights.js";
import type { CallExtraction } from "../../../src/calls/store/port.js";
import { UNKNOWN_FACTS } from "../../fixtures/calls.js";
import { DENTAL } from "../../fixtures/insights.js";
import { contractHarness, ENGINES } from "../../support/stores.js";

const DAY = 86_400_000;


const extraction = (values: Record<string, unknown>, extra: Partial<CallExtraction> = {}): CallExtraction => ({
  extracted_variables: values,
  meta: { model: "gpt-4o-mini", ...(extra.meta ?? {}) },
  ...extra,
});

describe.each(ENGINES)("insights on $name", (engine) => {
  const harness = contractHarness(engine);
  afterEach(() => harness.cleanup());
  afterAll(() => engine.dispose());

  /** The fixture: four calls in the window's two days, one the day after it. Returns the store, the window and the calls' ids. */
  async function seeded(): Promise<{ store: CallStore; since: number; ids: Record<string, string> }> {
    const { store } = await harness.open();
    const clock = harness.clock;
    const since = Math.floor(clock.now() / DAY) * DAY + DAY; // a UTC midnight
    clock.advance(since - clock.now() + 3_600_000); // day 0, 01:00
    const accept = async (name: string) =>
      (await store.accept({ profile: "dental", source: "autocalls", call: UNKNOWN_FACTS, externalId: name, payload: { name }, state: "accepted" })).call.id;
    const ids: Record<string, string> = {};
    // c1: low confidence on service_type; every kind of value.
    ids.c1 = await accept("c1");
    await store.markExtracted(
      ids.c1,
      extraction(
        { service_type: "repair", booked: true, budget: 1200, items: [{ product: "Brush", size: "m", quantity: 2 }], tags: ["urgent"] },
        { confidence: { service_type: 0.3, booked: 0.9 }, meta: { cost_usd: 0.01 } },
      ),
      [],
    );
    // c2: first "cleaning", re-extracted the next day as "install": only the latest extraction counts.
    ids.c2 = await accept("c2");
    await store.markExtracted(ids.c2, extraction({ service_type: "cleaning", booked: false, budget: null, items: [], tags: [] }, { meta: { cost_usd: 0.005 } }), []);
    clock.advance(DAY); // day 1, 01:00
    const seq = await store.recordReextraction(ids.c2, {
      extraction: extraction({ service_type: "install", booked: false, budget: null, items: [], tags: [] }, { meta: { cost_usd: 0.02 } }),
      trigger: "backfill",
      event: null,
      fates: [],
    });
    expect(seq).toBe(2);
    // c3: held with a low-confidence budget of 100; the reviewer corrects service_type and budget (an unpriced model).
    ids.c3 = await accept("c3");
    await store.markHeld(
      ids.c3,
      extraction(
        { service_type: "repair", booked: true, budget: 100, items: [{ product: "Floss", size: "s", quantity: 1 }, { product: "Paste", size: "m", quantity: 3 }], tags: ["urgent", "new"] },
        { confidence: { budget: 0.2 }, meta: { model: "unknown-model" } },
      ),
    );
    expect(
      await store.decideReview(ids.c3, { approved: true, at: new Date(clock.now()).toISOString(), corrected: ["service_type", "budget"], values: { service_type: "cleaning", budget: 300 }, reason: null }),
    ).toBe(true);
    // c4: accepted, never extracted.
    ids.c4 = await accept("c4");
    // c5: the day after the window.
    clock.advance(DAY);
    ids.c5 = await accept("c5");
    await store.markExtracted(ids.c5, extraction({ service_type: "repair", booked: true }), []);
    return { store, since, ids };
  }

  it("counts every option, null and low-confidence rates, spreads and a daily series over the latest values, corrections included", async () => {
    const { store, since } = await seeded();
    const insights = await profileInsights(store, DENTAL, { since, until: since + 2 * DAY, bucket: "day" });
    expect(insights).toMatchObject({ profile: "dental", timezone: "UTC", calls: 4, extracted: 3, low_confidence_below: 0.5 });
    const { variables } = insights;
    expect(variables.service_type).toEqual({ type: "enum", null_rate: 0, low_confidence_rate: 0.3333, counts: { cleaning: 1, repair: 1, install: 1 } });
    expect(variables.booked).toEqual({ type: "boolean", null_rate: 0, low_confidence_rate: 0, counts: { true: 2, false: 1 } });
    // c3's corrected budget (300) counts, not the model's 100, and its low confidence no longer does.
    expect(variables.budget).toEqual({
      type: "number",
      null_rate: 0.3333,
      low_confidence_rate: 0,
      numbers: {
        count: 2,
        min: 300,
        max: 1200,
        mean: 750,
        p50: 300,
        p90: 1200,
        histogram: expect.arrayContaining([{ from: 300, to: 390, count: 1 }, { from: 1110, to: 1200, count: 1 }]),
      },
    });
    expect((variables.budget!.numbers as { histogram: unknown[] }).histogram).toHaveLength(10);
    expect(variables.items!.paths).toEqual({
      "items[].product": { type: "string", values: 3, nulls: 0 },
      "items[].size": { type: "enum", values: 3, nulls: 0, counts: { s: 1, m: 2 } },
      "items[].quantity": {
        type: "integer",
        values: 3,
        nulls: 0,
        numbers: expect.objectContaining({ count: 3, min: 1, max: 3, mean: 2, p50: 2, p90: 3 }),
      },
    });
    expect(variables.tags).toEqual({ type: "list", null_rate: 0, low_confidence_rate: 0, counts: { urgent: 2, new: 1 } });
    // The defaults every profile has: no rows here, so zeros rather than an error.
    expect(variables.status).toEqual({ type: "boolean", null_rate: 0, low_confidence_rate: 0, counts: { true: 0, false: 0 } });

    const day = (offset: number) => new Date(since + offset * DAY).toISOString().slice(0, 10);
    expect(insights.series).toEqual([
      {
        bucket: day(0),
        start: new Date(since).toISOString(),
        calls: 2,
        delivered: 0,
        skipped: 0,
        needs_review: 0,
        failed: 0,
        cost_usd: 0.015,
        variables: { status: { true: 0, false: 0 }, service_type: { cleaning: 0, repair: 1, install: 1 }, booked: { true: 1, false: 1 } },
      },
      {
        bucket: day(1),
        start: new Date(since + DAY).toISOString(),
        calls: 2,
        delivered: 0,
        skipped: 0,
        needs_review: 0,
        failed: 0,
        // c2's re-extraction ran this day (0.02); c3's model has no price.
        cost_usd: 0.02,
        variables: { status: { true: 0, false: 0 }, service_type: { cleaning: 1, repair: 0, install: 0 }, booked: { true: 1, false: 0 } },
      },
    ]);
  });

  it("answers zeros for a window with no calls", async () => {
    const { store, since } = await seeded();
    const insights = await profileInsights(store, DENTAL, { since: since - 10 * DAY, until: since - 3 * DAY, bucket: "week" });
    expect(insights).toMatchObject({ calls: 0, extracted: 0 });
    expect(insights.variables.budget).toEqual({ type: "number", null_rate: 0, low_confidence_rate: 0, numbers: null });
    expect(insights.series.every((bucket) => bucket.calls === 0 && bucket.cost_usd === 0)).toBe(true);
  });

  it("filters the calls list by value: corrected values, list items, options and nulls", async () => {
    const { store, ids } = await seeded();
    const where = async (...conditions: { path: string; value: string | null }[]) =>
      (await store.list({ profile: "dental", where: conditions, limit: 50 })).map((call) => call.external_id).sort();
    expect(await where({ path: "service_type", value: "cleaning" })).toEqual(["c3"]); // c2 said cleaning first, then install
    expect(await where({ path: "service_type", value: "repair" })).toEqual(["c1", "c5"]);
    expect(await where({ path: "items[].size", value: "m" })).toEqual(["c1", "c3"]);
    expect(await where({ path: "tags[]", value: "urgent" }, { path: "booked", value: "true" })).toEqual(["c1", "c3"]);
    expect(await where({ path: "budget", value: null })).toEqual(["c2"]);
    expect(await where({ path: "budget", value: "300" })).toEqual(["c3"]);
    expect(await where({ path: "service_type", value: "install" }, { path: "booked", value: "true" })).toEqual([]);
    // Deleting a call deletes its values.
    await store.delete([ids.c3!]);
    expect(await where({ path: "items[].size", value: "m" })).toEqual(["c1"]);
  });

  it("keeps value text as it came (NUL, quotes, emoji) and matches it exactly", async () => {
    const { store } = await harness.open();
    const awkward = `it's "odd" \u0000 ☎️ \\u0000`;
    const { call } = await store.accept({ profile: "dental", source: "autocalls", call: UNKNOWN_FACTS, externalId: "x", payload: {}, state: "accepted" });
    await store.markExtracted(call.id, extraction({ service_type: awkward, items: [{ product: awkward }] }), []);
    const profile = { ...DENTAL, variables: [{ name: "service_type", type: "enum" as const, description: "x", options: [awkward] }] };
    const insights = await profileInsights(store, profile, { since: harness.clock.now() - DAY, until: harness.clock.now() + 1, bucket: "day" });
    expect(insights.variables.service_type!.counts).toEqual({ [awkward]: 1 });
    expect((await store.list({ profile: "dental", where: [{ path: "items[].product", value: awkward }], limit: 5 })).map((c) => c.id)).toEqual([call.id]);
  });

  it("sums what a profile's extractions cost since an instant", async () => {
    const { store, since } = await seeded();
    expect(await store.spentSince("dental", since)).toBeCloseTo(0.035, 9);
    expect(await store.spentSince("dental", since + DAY)).toBeCloseTo(0.02, 9);
    expect(await store.spentSince("other", since)).toBe(0);
  });
});
