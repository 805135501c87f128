// Insights' pure parts: buckets in a profile's calendar (time zones, clock changes, Monday weeks), the value rows a
// call's values become, and the calls list's `where` conditions checked against a profile's variables.
import { describe, expect, it } from "vitest";
import { bucketsOf, MAX_SERIES_FIGURES, profileInsights, whereConditions } from "../../src/calls/insights.js";
import { valueRowsOf } from "../../src/calls/store/value-rows.js";
import { DENTAL } from "../fixtures/insights.js";

const at = (iso: string) => Date.parse(iso);
const labels = (buckets: { label: string }[]) => buckets.map((bucket) => bucket.label);

describe("bucketsOf", () => {
  it("cuts UTC days, the first and last cut to the window", () => {
    const buckets = bucketsOf({ since: at("2026-12-01T10:00:00Z"), until: at("2026-12-03T05:00:00Z"), bucket: "day" });
    expect(buckets).toEqual([
      { label: "2026-12-01", start: at("2026-12-01T10:00:00Z"), end: at("2026-12-02T00:00:00Z") },
      { label: "2026-12-02", start: at("2026-12-02T00:00:00Z"), end: at("2026-12-03T00:00:00Z") },
      { label: "2026-12-03", start: at("2026-12-03T00:00:00Z"), end: at("2026-12-03T05:00:00Z") },
    ]);
  });

  it("follows the profile's days across a clock change (a 23-hour day in Paris)", () => {
    const buckets = bucketsOf({ since: at("2026-03-28T23:00:00Z"), until: at("2026-03-30T22:00:00Z"), bucket: "day" }, "Europe/Paris");
    expect(buckets).toEqual([
      { label: "2026-03-29", start: at("2026-03-28T23:00:00Z"), end: at("2026-03-29T22:00:00Z") },
      { label: "2026-03-30", start: at("2026-03-29T22:00:00Z"), end: at("2026-03-30T22:00:00Z") },
    ]);
  });

  it("names each local hour, and the hour a clock change repeats by its offset the second time", () => {
    // New York falls back at 2026-11-01 02:00 EDT → 01:00 EST.
    const buckets = bucketsOf({ since: at("2026-11-01T04:00:00Z"), until: at("2026-11-01T08:00:00Z"), bucket: "hour" }, "America/New_York");
    expect(labels(buckets)).toEqual(["2026-11-01T00:00", "2026-11-01T01:00", "2026-11-01T01:00-05:00", "2026-11-01T02:00"]);
    expect(buckets.every((bucket) => bucket.end - bucket.start === 3_600_000)).toBe(true);
  });

  it("starts hours on a half-hour zone's hour", () => {
    const buckets = bucketsOf({ since: at("2026-12-01T00:00:00Z"), until: at("2026-12-01T02:00:00Z"), bucket: "hour" }, "Asia/Kolkata");
    expect(buckets.map((bucket) => [bucket.label, new Date(bucket.start).toISOString()])).toEqual([
      ["2026-12-01T05:00", "2026-12-01T00:00:00.000Z"], // the local hour 05:00 started at 23:30Z: cut to the window
      ["2026-12-01T06:00", "2026-12-01T00:30:00.000Z"],
      ["2026-12-01T07:00", "2026-12-01T01:30:00.000Z"],
    ]);
  });

  it("starts weeks on Monday, named by the Monday's date", () => {
    // 2026-12-03 is a Thursday.
    const buckets = bucketsOf({ since: at("2026-12-03T12:00:00Z"), until: at("2026-12-15T00:00:00Z"), bucket: "week" });
    expect(labels(buckets)).toEqual(["2026-11-30", "2026-12-07", "2026-12-14"]);
    expect(buckets[0]!.start).toBe(at("2026-12-03T12:00:00Z"));
    expect(buckets[1]!.start).toBe(at("2026-12-07T00:00:00Z"));
  });

  it("covers a year of hours, every bucket consecutive", () => {
    const since = at("2026-01-01T00:00:00Z");
    const buckets = bucketsOf({ since, until: since + 366 * 86_400_000, bucket: "hour" }, "Europe/Paris");
    expect(buckets).toHaveLength(366 * 24);
    expect(new Set(labels(buckets)).size).toBe(buckets.length);
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]!.start).toBe(buckets[i - 1]!.end);
  });
});

describe("valueRowsOf", () => {
  it("writes a row per variable (nulls included) and per leaf, lists under one path, with confidence and corrections", () => {
    const rows = valueRowsOf(
      {
        extracted_variables: { booked: true, budget: null, items: [{ size: "m", quantity: 2 }, { size: null, quantity: 1 }], contact: { email: "a@b.co" } },
        meta: {},
        confidence: { booked: 0.9, "items[1].quantity": 0.4, "contact.email": 0.3 },
      },
      { approved: true, at: "2026-12-01T00:00:00Z", corrected: ["contact"], values: { contact: { email: "c@d.co" } }, reason: null },
    );
    expect(rows.map((row) => [row.path, row.kind, row.value, row.num, row.confidence, row.corrected])).toEqual([
      ["booked", "boolean", "true", null, 0.9, false],
      ["budget", "null", null, null, null, false],
      ["items", "list", null, null, null, false],
      ["items[]", "object", null, null, null, false],
      ["items[].size", "string", "m", null, null, false],
      ["items[].quantity", "number", "2", 2, null, false],
      ["items[]", "object", null, null, null, false],
      ["items[].size", "null", null, null, null, false],
      ["items[].quantity", "number", "1", 1, 0.4, false],
      ["contact", "object", null, null, null, true],
      ["contact.email", "string", "c@d.co", null, null, true],
    ]);
    expect(new Set(rows.map((row) => row.variable))).toEqual(new Set(["booked", "budget", "items", "contact"]));
  });

  it("stops walking a hostile value deeper than any variable can be", () => {
    let deep: unknown = "leaf";
    for (let i = 0; i < 10_000; i++) deep = [deep];
    const rows = valueRowsOf({ extracted_variables: { deep }, meta: {} }, null);
    expect(rows.length).toBeLessThan(20);
  });
});

describe("whereConditions", () => {
  const invalid = (message: string) => new Error(message);
  const where = (...raw: string[]) => whereConditions(raw, DENTAL.variables, invalid);

  it("reads variable:value, lists by their items, numbers as JSON writes them, and null", () => {
    expect(where("service_type:repair")).toEqual([{ path: "service_type", value: "repair" }]);
    expect(where("tags:urgent")).toEqual([{ path: "tags[]", value: "urgent" }]);
    expect(where("items[].size:m")).toEqual([{ path: "items[].size", value: "m" }]);
    expect(where("budget:1200.0")).toEqual([{ path: "budget", value: "1200" }]);
    expect(where("budget:null")).toEqual([{ path: "budget", value: null }]);
    expect(where("summary:a: b")).toEqual([{ path: "summary", value: "a: b" }]); // the first colon splits
    // One order whatever order they came in (a cursor's filters), duplicates once.
    expect(where("booked:true", "service_type:repair", "booked:true")).toEqual(where("service_type:repair", "booked:true"));
  });

  it("refuses a path the profile does not have, a condition without a colon, and a number that is not one", () => {
    expect(() => where("servce_type:repair")).toThrow(/"servce_type" is not a variable of this profile/);
    expect(() => where("repair")).toThrow(/is not variable:value/);
    expect(() => where("budget:lots")).toThrow(/"budget" is a number/);
  });
});

describe("the series' size", () => {
  const YEAR = { since: at("2025-12-07T00:00:00Z"), until: at("2026-12-07T00:00:00Z") };
  /** A store that must not be asked: the answer is refused before any query. */
  const untouched = { insightFigures: async () => expect.unreachable("no query for a refused window") };

  it("refuses a year of hours for a profile of hundreds of options before any query, naming the bucket", async () => {
    const options = Array.from({ length: 300 }, (_, i) => `option_${i}`);
    const profile = { ...DENTAL, variables: [...DENTAL.variables, { name: "reason", type: "enum" as const, options, description: "Why they called" }] };
    const refused = profileInsights(untouched, profile, { ...YEAR, bucket: "hour" });
    await expect(refused).rejects.toMatchObject({ code: "too_many_buckets", status: 400, details: [{ path: "bucket" }] });
    await expect(refused).rejects.toThrow(/ask for longer buckets or a shorter window/);
  });

  it("answers the same profile by day: 366 buckets stay under the bound", async () => {
    const options = Array.from({ length: 300 }, (_, i) => `option_${i}`);
    const profile = { ...DENTAL, variables: [...DENTAL.variables, { name: "reason", type: "enum" as const, options, description: "Why they called" }] };
    expect(365 * (6 + 300 + 2 + DENTAL.variables.length * 3)).toBeLessThan(MAX_SERIES_FIGURES);
    await expect(profileInsights(untouched, profile, { ...YEAR, bucket: "day" })).rejects.toThrow(/no query for a refused window/);
  });
});
