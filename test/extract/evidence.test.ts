import { describe, expect, it } from "vitest";
import { groundEvidence, mergeChunkAnswers } from "../../src/extract/index.js";
import type { Turn } from "../../src/transcript/index.js";
import type { VariableSpec } from "../../src/schema/index.js";

const turns: Turn[] = [
  { speaker: "agent", text: "What's your budget?" },
  { speaker: "customer", text: "My boss capped it at   Four Thousand." },
  { speaker: "customer", text: "We’re in Tucson." },
];

describe("groundEvidence", () => {
  it("keeps quotes found in their turn despite case and whitespace differences", () => {
    const result = groundEvidence(turns, { budget: 4000 }, { budget: { quote: "capped it at four thousand", turn: 1 } });
    expect(result).toEqual({ evidence: { budget: { quote: "capped it at four thousand", turn: 1 } }, ungrounded: 0, ungroundedNames: [] });
  });

  it("corrects the turn index when the quote sits in another turn", () => {
    const result = groundEvidence(turns, { city: "Tucson" }, { city: { quote: "We're in Tucson", turn: 0 } });
    expect(result.evidence.city).toEqual({ quote: "We're in Tucson", turn: 2 });
  });

  it("drops and counts a quote the call never contained", () => {
    const result = groundEvidence(turns, { budget: 5000, city: "Tucson" }, {
      budget: { quote: "five thousand a month", turn: 1 },
      city: { quote: "in Tucson", turn: 2 },
    });
    expect(result.ungrounded).toBe(1);
    expect(result.ungroundedNames).toEqual(["budget"]);
    expect(Object.keys(result.evidence)).toEqual(["city"]);
  });

  it("ignores evidence for null values", () => {
    expect(groundEvidence(turns, { budget: null }, { budget: { quote: "Four Thousand", turn: 1 } })).toEqual({ evidence: {}, ungrounded: 0, ungroundedNames: [] });
  });
});

describe("mergeChunkAnswers", () => {
  const specs: VariableSpec[] = [
    { name: "appointment_date", type: "date", description: "d" },
    { name: "budget", type: "number", description: "b" },
    { name: "products", type: "list", description: "p" },
  ];
  it("lets a later explicit value win, never lets a null overwrite, and gathers list items", () => {
    const merged = mergeChunkAnswers(specs, [
      { values: { appointment_date: "2026-06-16", budget: 4000, products: ["solar"] } },
      { values: { appointment_date: null, budget: null, products: ["battery", "solar"] } },
      { values: { appointment_date: "2026-06-17", budget: null, products: null } },
    ]);
    expect(merged.values).toEqual({ appointment_date: "2026-06-17", budget: 4000, products: ["solar", "battery"] });
  });

  it("never pairs a replaced value with the quote of the value it replaced", () => {
    const merged = mergeChunkAnswers(specs, [
      { values: { appointment_date: "2026-06-16", budget: null, products: null }, evidence: { appointment_date: { quote: "Tuesday the 16th", turn: 3 } } },
      { values: { appointment_date: "2026-06-17", budget: null, products: null }, evidence: { appointment_date: null } },
    ]);
    expect(merged.values.appointment_date).toBe("2026-06-17");
    expect(merged.evidence.appointment_date).toBeNull();
  });
});
