// The one call state and each destination's fate, as pure rules: what the list filters on and the call view shows.
import { describe, expect, it } from "vitest";
import { describeFates, routedFates, summarizeCallState, type CallStage, type FateRecord } from "../../src/calls/fates.js";
import type { DeliveryWithAttempts } from "../../src/delivery/index.js";

const fate = (destination: string, f: FateRecord["fate"], reason_code: FateRecord["reason_code"] = null, event = 1) => ({ destination, event, fate: f, reason_code });

describe("summarizeCallState", () => {
  it.each<[string, CallStage, ReturnType<typeof fate>[], string]>([
    ["a call waiting for extraction is accepted, whatever fates it had before a replay", "accepted", [fate("crm", "failed")], "accepted"],
    ["a skipped call is skipped", "skipped", [], "skipped"],
    ["a call out of extraction attempts is extraction_failed", "extraction_failed", [], "extraction_failed"],
    ["an extracted call no destination applied to is extracted", "extracted", [fate("slack", "skipped", "when_false")], "extracted"],
    ["an extracted call with nothing to deliver to is extracted", "extracted", [], "extracted"],
    ["one pending delivery makes it delivering", "extracted", [fate("crm", "delivered"), fate("slack", "pending")], "delivering"],
    ["every delivery through makes it delivered", "extracted", [fate("crm", "delivered"), fate("slack", "skipped", "when_false")], "delivered"],
    ["a dead letter makes it delivery_failed, even beside a pending one", "extracted", [fate("crm", "failed"), fate("slack", "pending")], "delivery_failed"],
    ["a transform that failed makes it delivery_failed", "extracted", [fate("crm", "delivered"), fate("slack", "skipped", "transform_failed")], "delivery_failed"],
    ["a when that failed makes it delivery_failed", "extracted", [fate("crm", "skipped", "when_failed")], "delivery_failed"],
    ["only the latest event of each destination counts", "extracted", [fate("crm", "failed", "dead_lettered", 1), fate("crm", "delivered", null, 2)], "delivered"],
  ])("%s", (_name, stage, fates, expected) => {
    expect(summarizeCallState(stage, fates)).toBe(expected);
  });
});

describe("routedFates", () => {
  it("turns what extraction routed into fates: pending deliveries, skips by when, and failed expressions named by which", () => {
    const delivery = { id: "dlv_1", destination: "crm" } as DeliveryWithAttempts;
    const fates = routedFates({
      enqueued: [delivery],
      skipped: ["slack"],
      errors: [
        { destination: "sheets", path: "destinations.sheets.transform", message: "destinations.sheets.transform: evaluation failed: boom" },
        { destination: "hubspot", path: "destinations.hubspot.when", message: "destinations.hubspot.when: evaluation failed: boom" },
      ],
    });
    expect(fates.map((f) => [f.destination, f.fate, f.reason_code, f.delivery_id, f.version])).toEqual([
      ["crm", "pending", null, "dlv_1", 0],
      ["slack", "skipped", "when_false", null, 0],
      ["sheets", "skipped", "transform_failed", null, 0],
      ["hubspot", "skipped", "when_failed", null, 0],
    ]);
  });
});

describe("describeFates", () => {
  const delivery = (destination: string, status: DeliveryWithAttempts["status"], last_error: string | null = null) =>
    ({ id: `dlv_${destination}`, destination, status, last_error, attempt_history: [] }) as unknown as DeliveryWithAttempts;
  const stored = (destination: string, f: FateRecord["fate"], extra: Partial<FateRecord> = {}): FateRecord => ({
    destination,
    event: 1,
    fate: f,
    reason_code: null,
    reason: null,
    delivery_id: null,
    version: 0,
    updated_at: 0,
    ...extra,
  });

  it("shows every destination of the profile, the outbox's live status over the stored copy, and why for each that is not plain", () => {
    const view = describeFates({
      stage: "extracted",
      stageReason: null,
      profileDestinations: ["crm", "slack", "sheets", "new_one"],
      fates: [
        stored("crm", "pending", { delivery_id: "dlv_crm" }), // the store has not heard of the outcome yet
        stored("slack", "skipped", { reason_code: "when_false" }),
        stored("sheets", "skipped", { reason_code: "transform_failed", reason: "destinations.sheets.transform: boom" }),
        stored("removed", "pending", { delivery_id: "dlv_removed" }),
      ],
      deliveries: [delivery("crm", "failed", "HTTP 410: not retried"), delivery("removed", "pending", "HTTP 503")],
    });
    expect(view.map((d) => [d.destination, d.in_profile, d.fate, d.reason?.code ?? null, d.reason?.message ?? null])).toEqual([
      ["crm", true, "failed", "dead_lettered", "HTTP 410: not retried"],
      ["slack", true, "skipped", "when_false", "its when expression was not true for this call"],
      ["sheets", true, "skipped", "transform_failed", "destinations.sheets.transform: boom"],
      ["new_one", true, "skipped", "not_recorded", expect.stringContaining("added to the profile after")],
      ["removed", false, "pending", "retrying", "HTTP 503"],
    ]);
    expect(view[0]!.deliveries.map((d) => d.id)).toEqual(["dlv_crm"]);
  });

  it("says a destination waits for extraction, or was skipped with its call", () => {
    const waiting = describeFates({ stage: "extraction_failed", stageReason: "llm_unavailable", profileDestinations: ["crm"], fates: [], deliveries: [] });
    expect(waiting).toEqual([{ destination: "crm", in_profile: true, fate: "pending", reason: { code: "awaiting_extraction", message: expect.any(String) }, deliveries: [] }]);
    const skipped = describeFates({ stage: "skipped", stageReason: 'not_completed: call status is "busy"', profileDestinations: ["crm"], fates: [], deliveries: [] });
    expect(skipped[0]).toMatchObject({ fate: "skipped", reason: { code: "call_skipped", message: 'the call was skipped: not_completed: call status is "busy"' } });
  });
});
