// The field scorer: each type's equality rule, and the two null errors, against hand-computed cases.
import { describe, expect, it } from "vitest";
import { scoreField, setF1, tokenF1, type Outcome } from "../../evals/index.js";
import type { VariableType } from "../../src/schema/index.js";

type Case = [string, VariableType, unknown, unknown, Outcome];

const CASES: Case[] = [
  // null handling, the same for every type
  ["null label, null answer", "string", null, null, "correct"],
  ["null label, value answer (hallucination)", "integer", null, 3, "hallucination"],
  ["null label, false answer: false is a value", "boolean", null, false, "hallucination"],
  ["null label, 0 answer: 0 is a value", "number", null, 0, "hallucination"],
  ["null label, empty list answer: [] is a value", "list", null, [], "hallucination"],
  ["value label, null answer (miss)", "date", "2026-06-17", null, "miss"],
  ["value label, missing answer counts as null (miss)", "enum", "repair", undefined, "miss"],
  ["false label, null answer (miss)", "boolean", false, null, "miss"],

  ["boolean equal", "boolean", true, true, "correct"],
  ["boolean different", "boolean", true, false, "wrong"],
  ["enum equal", "enum", "repair", "repair", "correct"],
  ["enum different", "enum", "repair", "cleaning", "wrong"],
  ["integer equal", "integer", 45, 45, "correct"],
  ["integer off by one", "integer", 45, 44, "wrong"],

  ["number equal", "number", 4000, 4000, "correct"],
  ["number within 1%", "number", 4000, 4039.99, "correct"],
  ["number exactly at 1%", "number", 4000, 4040, "correct"],
  ["number beyond 1%", "number", 4000, 4041, "wrong"],
  ["number 0 must be exactly 0", "number", 0, 0.001, "wrong"],
  ["number negative within 1%", "number", -250, -251, "correct"],
  ["number given as text is wrong", "number", 250, "250", "wrong"],

  ["date equal", "date", "2026-06-17", "2026-06-17", "correct"],
  ["date with a time on the same day", "date", "2026-06-17", "2026-06-17T00:00:00Z", "correct"],
  ["date a day off", "date", "2026-06-17", "2026-06-18", "wrong"],
  ["date unparseable", "date", "2026-06-17", "June 17", "wrong"],

  ["datetime same instant, same offset", "datetime", "2026-06-16T15:00:00-04:00", "2026-06-16T15:00:00-04:00", "correct"],
  ["datetime same instant, other offset", "datetime", "2026-06-16T15:00:00-04:00", "2026-06-16T19:00:00Z", "correct"],
  ["datetime same wall clock, wrong offset", "datetime", "2026-06-16T15:00:00-04:00", "2026-06-16T15:00:00-05:00", "wrong"],
  ["datetime unparseable", "datetime", "2026-06-16T15:00:00-04:00", "tuesday 3pm", "wrong"],

  ["string equal", "string", "Dana Whitfield", "Dana Whitfield", "correct"],
  ["string differs in case and punctuation only", "string", "Dr. Okoye", "dr okoye", "correct"],
  ["string differs in accents only", "string", "José Núñez", "Jose Nunez", "correct"],
  ["string phone number spelled differently", "string", "3125550197", "(312) 555-0197", "correct"],
  ["string code with and without hyphen", "string", "NT-450", "NT450", "correct"],
  ["string with token F1 0.8 (at the threshold)", "string", "Elena Petrova", "Ms Elena Petrova", "correct"],
  ["string with token F1 0.67 (below)", "string", "Dr. Okoye", "Okoye", "wrong"],
  ["string with nothing in common", "string", "Geico", "State Farm", "wrong"],
  ["empty string label, empty answer", "string", "", "", "correct"],

  ["list equal", "list", ["sms", "email"], ["sms", "email"], "correct"],
  ["list equal in another order", "list", ["sms", "email"], ["email", "sms"], "correct"],
  ["list of free text differing in case", "list", ["Hyde Park", "Mueller"], ["mueller", "hyde park"], "correct"],
  ["list with a missing item", "list", ["sms", "email"], ["sms"], "wrong"],
  ["list with an extra item", "list", ["sms"], ["sms", "email"], "wrong"],
  ["empty list label, empty answer", "list", [], [], "correct"],
];

describe("scoreField", () => {
  it.each(CASES)("%s", (_name, type, expected, predicted, outcome) => {
    expect(scoreField(type, expected, predicted).outcome).toBe(outcome);
  });

  it("makes the string threshold configurable", () => {
    // "Dr. Okoye" vs "Okoye": precision 1, recall 1/2, F1 2/3.
    expect(scoreField("string", "Dr. Okoye", "Okoye", { numberTolerance: 0.01, stringThreshold: 0.6 }).outcome).toBe("correct");
    expect(scoreField("string", "Dr. Okoye", "Okoye", { numberTolerance: 0.01, stringThreshold: 0.7 }).outcome).toBe("wrong");
  });

  it("makes the number tolerance configurable", () => {
    expect(scoreField("number", 100, 104, { numberTolerance: 0.05, stringThreshold: 0.8 }).outcome).toBe("correct");
    expect(scoreField("number", 100, 100.5, { numberTolerance: 0, stringThreshold: 0.8 }).outcome).toBe("wrong");
  });

  it("reports how close a wrong string or list came", () => {
    expect(scoreField("string", "Dr. Okoye", "Okoye").f1).toBeCloseTo(2 / 3);
    expect(scoreField("list", ["a", "b", "c"], ["a", "b"]).f1).toBeCloseTo(0.8);
    expect(scoreField("list", ["a"], null).f1).toBe(0);
    expect(scoreField("boolean", true, false).f1).toBeUndefined();
  });
});

describe("tokenF1 and setF1", () => {
  it.each([
    ["already paid in May", "already paid in May", 1],
    ["already paid in May", "customer already paid in May", 2 * (4 / 5) / (4 / 5 + 1)],
    ["work trip", "a trip for work", 2 * (2 / 4) / (2 / 4 + 1)],
    ["a a b", "a b b", 2 / 3],
    ["", "", 1],
    ["Geico", "", 0],
  ])("token F1 of %j and %j is %d", (expected, predicted, f1) => {
    expect(tokenF1(expected, predicted)).toBeCloseTo(f1);
  });

  it.each([
    [["a", "b"], ["a", "b"], 1],
    [["a", "b"], ["b"], 2 / 3],
    [["a"], ["b"], 0],
    [[], [], 1],
    [["a"], [], 0],
  ])("set F1 of %j and %j is %d", (expected, predicted, f1) => {
    expect(setF1(new Set(expected), new Set(predicted))).toBeCloseTo(f1);
  });
});
