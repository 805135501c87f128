// Caller memory's pure parts: phone numbers in E.164, and the flat map of strings a pre-call webhook injects.
import { describe, expect, it } from "vitest";
import { dynamicVariables, flatString } from "../../../src/calls/api/caller-memory.js";
import type { Profile } from "../../../src/configuration/index.js";
import { customerE164, isPhoneRegion, toE164 } from "../../../src/lib/phone.js";
import type { CallRecord, CallSummary } from "../../../src/calls/store/port.js";

describe("toE164", () => {
  it.each([
    ["+15551234567", undefined, "+15551234567"],
    ["+1 (555) 123-4567", undefined, "+15551234567"],
    ["tel:+15551234567", undefined, "+15551234567"],
    ["(555) 123-4567", "US", "+15551234567"],
    ["020 7946 0958", "GB", "+442079460958"],
    ["00 44 20 7946 0958", "GB", "+442079460958"],
    ["+44 20 7946 0958", "US", "+442079460958"], // a country code wins over the default region
  ])("reads %s (default region %s) as %s", (raw, region, e164) => {
    expect(toE164(raw, region)).toEqual({ ok: true, e164 });
  });

  it.each([
    ["(555) 123-4567", undefined, "no_country_code"],
    ["555", "US", "not_a_number"],
    ["+1555", undefined, "not_a_number"],
    ["call me maybe", "US", "not_a_number"],
    ["", "US", "not_a_number"],
    ["9".repeat(300), "US", "not_a_number"],
  ])("refuses %s (default region %s): %s", (raw, region, reason) => {
    expect(toE164(raw, region)).toEqual({ ok: false, reason });
  });

  it("stores null for a customer number it cannot read, rather than refusing the call", () => {
    expect(customerE164(null, "US")).toBeNull();
    expect(customerE164("anonymous", "US")).toBeNull();
    expect(customerE164("555-123-4567", "US")).toBe("+15551234567");
  });

  it("knows a region only as an upper-case ISO 3166-1 alpha-2 code it has numbering data for", () => {
    expect(["US", "GB", "DE", "BR"].every(isPhoneRegion)).toBe(true);
    expect(["us", "XX", "USA", "", "U"].some(isPhoneRegion)).toBe(false);
  });
});

describe("dynamic variables", () => {
  it.each([
    [null, ""],
    [undefined, ""],
    ["Dana", "Dana"],
    ["", ""],
    [4000, "4000"],
    [12.5, "12.5"],
    [0, "0"],
    [true, "true"],
    [false, "false"],
    [["repair", "cleaning"], "repair, cleaning"],
    [["a", null, 2], "a, 2"],
    [[{ x: 1 }], '{"x":1}'],
    [{ street: "Main St", n: 4 }, '{"street":"Main St","n":4}'],
  ])("turns %j into %j", (value, text) => {
    expect(flatString(value)).toBe(text);
  });

  const profile = { variables: [{ name: "customer_name", type: "string", description: "x" }, { name: "budget", type: "number", description: "x" }] } as unknown as Profile;

  it("has the same keys for every caller: the profile's variables, then whether the caller is known and when they last called", () => {
    const latest = { extraction: { extracted_variables: { customer_name: "Dana", budget: 4000, status: true, summary: "Booked", retired: "x" } } } as unknown as CallRecord;
    const recent = [{ created_at: Date.UTC(2026, 0, 2, 3, 4, 5) } as CallSummary];
    expect(dynamicVariables(profile, { recent, latest })).toEqual({
      status: "true",
      summary: "Booked",
      customer_name: "Dana",
      budget: "4000",
      debrief_known_caller: "true",
      debrief_last_call_at: "2026-01-02T03:04:05.000Z",
    });
    expect(dynamicVariables(profile, { recent: [], latest: undefined })).toEqual({
      status: "",
      summary: "",
      customer_name: "",
      budget: "",
      debrief_known_caller: "false",
      debrief_last_call_at: "",
    });
  });
});
