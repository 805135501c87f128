// A reviewer's corrections are facts about the call: they stand over every later extraction, silence the flags of the
// values they correct, and are re-checked against the profile's current variables.
import { describe, expect, it } from "vitest";
import { correctionConflicts, uncorrectedReview, withCorrections } from "../../src/calls/corrections.js";
import { holdDecision, reviewDecision } from "../../src/calls/review.js";
import type { CallReview } from "../../src/calls/store/port.js";
import type { VariableSpec } from "../../src/schema/index.js";

const variables: VariableSpec[] = [
  { name: "insurance", type: "string", description: "The patient's insurance plan" },
  { name: "visits", type: "integer", description: "Visits booked" },
  { name: "service", type: "enum", options: ["cleaning", "repair"], description: "What they need" },
];
const approved = (values: Record<string, unknown>): CallReview => ({ approved: true, at: "2026-12-01T10:00:00.000Z", corrected: Object.keys(values), values, reason: null });
const extraction = (values: Record<string, unknown>) => ({ extracted_variables: { status: true, summary: "s", ...values }, meta: {} });
const at = new Date("2026-12-02T10:00:00Z");

describe("a reviewer's corrections", () => {
  it("replace the model's values in what is delivered, whatever the model answers now", () => {
    const reviewed = approved({ insurance: "Cigna Dental PPO Plus" });
    expect(withCorrections({ status: true, insurance: "Cigna Dental PPO", visits: 2 }, reviewed)).toEqual({ status: true, insurance: "Cigna Dental PPO Plus", visits: 2 });
    expect(withCorrections({ status: true }, null)).toEqual({ status: true });
  });

  it("silence the flags of the values they correct, and only those", () => {
    const review = { needed: true, fields: { insurance: ["low_confidence" as const], visits: ["ungrounded" as const] } };
    expect(uncorrectedReview(review, { insurance: "x" })).toEqual({ needed: true, fields: { visits: ["ungrounded"] } });
    expect(uncorrectedReview(review, { insurance: "x", visits: 1 })).toEqual({ needed: false, fields: {} });
    const holding = { review: { flags: ["low_confidence" as const, "ungrounded" as const], hold: true } };
    expect(holdDecision({ needed: true, fields: { insurance: ["low_confidence"] } }, holding, { insurance: "x" }).hold).toBe(false);
    expect(holdDecision({ needed: true, fields: { insurance: ["low_confidence"], visits: ["ungrounded"] } }, holding, { insurance: "x" })).toEqual({
      review: { needed: true, fields: { visits: ["ungrounded"] } },
      hold: true,
    });
  });

  it("conflict with a variable whose type or options changed so that they no longer fit, naming it", () => {
    expect(correctionConflicts({ insurance: "Cigna", visits: 2, service: "repair" }, variables)).toEqual([]);
    const changed: VariableSpec[] = [
      { name: "insurance", type: "boolean", description: "Has insurance" },
      { name: "visits", type: "integer", description: "Visits booked" },
      { name: "service", type: "enum", options: ["cleaning", "install"], description: "What they need" },
    ];
    const conflicts = correctionConflicts({ insurance: "Cigna", visits: 2, service: "repair" }, changed);
    expect(conflicts.map((conflict) => conflict.path)).toEqual(["insurance", "service"]);
    expect(conflicts.every((conflict) => conflict.message.length > 0)).toBe(true);
    // A variable the profile no longer has asks for nothing: its correction is kept, not a conflict.
    expect(correctionConflicts({ removed: "x" }, variables)).toEqual([]);
  });
});

describe("a second review of a call", () => {
  it("keeps the earlier corrections it does not touch, and adds its own", () => {
    const decision = reviewDecision(
      { approve: true, values: { visits: 3 } },
      { extraction: extraction({ insurance: "Cigna Dental PPO", visits: 2 }), variables, at, previous: approved({ insurance: "Cigna Dental PPO Plus" }) },
    );
    expect(decision).toMatchObject({ approved: true, corrected: ["insurance", "visits"], values: { insurance: "Cigna Dental PPO Plus", visits: 3 } });
  });

  it("withdraws a correction when the reviewer now sends the model's own value", () => {
    const decision = reviewDecision(
      { approve: true, values: { insurance: "Cigna Dental PPO Plus" } },
      { extraction: extraction({ insurance: "Cigna Dental PPO Plus" }), variables, at, previous: approved({ insurance: "Cigna Dental PPO Plus" }) },
    );
    expect(decision).toMatchObject({ corrected: [], values: {} });
  });

  it("keeps the corrections when it skips the call", () => {
    const decision = reviewDecision(
      { approve: false, reason: "duplicate call" },
      { extraction: extraction({}), variables, at, previous: approved({ insurance: "Cigna Dental PPO Plus" }) },
    );
    expect(decision).toEqual({ approved: false, at: at.toISOString(), corrected: ["insurance"], values: { insurance: "Cigna Dental PPO Plus" }, reason: "duplicate call" });
  });
});

describe("approving a call whose earlier correction no longer fits", () => {
  const changed: VariableSpec[] = [{ name: "insurance", type: "boolean", description: "Has insurance" }];
  const input = { extraction: extraction({ insurance: true }), variables: changed, at, previous: approved({ insurance: "Cigna Dental PPO Plus" }) };

  it("is refused until the reviewer sends a new value for it, naming the variable", () => {
    expect(() => reviewDecision({ approve: true }, input)).toThrow(expect.objectContaining({ status: 400, details: [expect.objectContaining({ path: "values.insurance" })] }));
    expect(reviewDecision({ approve: true, values: { insurance: false } }, input)).toMatchObject({ corrected: ["insurance"], values: { insurance: false } });
  });
});
