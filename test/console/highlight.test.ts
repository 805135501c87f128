// Finding evidence quotes in a transcript for the console's highlights, by the same rule that grounds them.
import { describe, expect, it } from "vitest";
import { normalizeForMatch } from "../../src/extract/evidence.js";
import { findQuote, highlightTurns } from "../../web/src/highlight.js";

describe("findQuote", () => {
  it("finds a quote whatever its case, spacing and typographic quotes, and returns the original text's span", () => {
    const text = "Yes.  We NEED the AC\nrepaired, my boss’s cap is four thousand.";
    const [start, end] = findQuote(text, "we need the ac repaired, my boss's cap")!;
    expect(text.slice(start, end)).toBe("We NEED the AC\nrepaired, my boss’s cap");
  });

  it("answers undefined for a quote the text does not hold, or an empty one", () => {
    expect(findQuote("Tuesday works.", "Wednesday works")).toBeUndefined();
    expect(findQuote("Tuesday works.", "   ")).toBeUndefined();
  });

  it("keeps the span right past characters whose lower case is longer (İ) and past emoji", () => {
    const text = "İstanbul 🙂 office, budget 4k";
    const [start, end] = findQuote(text, "budget 4k")!;
    expect(text.slice(start, end)).toBe("budget 4k");
  });

  it("finds exactly what the service's grounding rule accepts", () => {
    const samples = ["  Hello   World ", "“Quoted” text\twith\ttabs", "Line one\r\nline two", "MiXeD cAsE"];
    for (const text of samples) {
      const normalized = normalizeForMatch(text);
      const span = findQuote(text, normalized);
      expect(span, text).toBeDefined();
      expect(normalizeForMatch(text.slice(...span!))).toBe(normalized);
    }
  });
});

describe("highlightTurns", () => {
  const turns = [{ text: "Hi, is this Dana?" }, { text: "Yes. We need the AC repaired, my boss capped it at four thousand." }, { text: "Make that Wednesday." }];

  it("cuts each turn into plain text and quotes, overlapping quotes sharing their common part", () => {
    const { segments, located, missing } = highlightTurns(turns, {
      budget: { quote: "my boss capped it at four thousand", turn: 1 },
      decision_maker: { quote: "my boss capped it", turn: 1 },
      service_type: { quote: "we need the ac repaired", turn: 1 },
    });
    expect(segments[0]).toEqual([{ text: "Hi, is this Dana?", names: [] }]);
    expect(segments[1]).toEqual([
      { text: "Yes. ", names: [] },
      { text: "We need the AC repaired", names: ["service_type"] },
      { text: ", ", names: [] },
      { text: "my boss capped it", names: ["budget", "decision_maker"] },
      { text: " at four thousand", names: ["budget"] },
      { text: ".", names: [] },
    ]);
    expect(located).toEqual({ budget: 1, decision_maker: 1, service_type: 1 });
    expect(missing).toEqual([]);
  });

  it("looks in the other turns when the named one lacks the quote, and reports a quote found nowhere", () => {
    const { segments, located, missing } = highlightTurns(turns, {
      appointment_date: { quote: "make that wednesday", turn: 7 },
      plan: { quote: "the pro plan", turn: 0 },
      status: null,
    });
    expect(segments[2]).toEqual([
      { text: "Make that Wednesday", names: ["appointment_date"] },
      { text: ".", names: [] },
    ]);
    expect(located).toEqual({ appointment_date: 2 });
    expect(missing).toEqual(["plan"]);
  });
});
