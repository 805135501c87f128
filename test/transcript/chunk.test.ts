import { describe, expect, it } from "vitest";
import { chunkTurns, tokenCounter, type Turn } from "../../src/transcript/index.js";

const words = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `${tag}${i}`).join(" ");
const call = (n: number): Turn[] =>
  Array.from({ length: n }, (_, i) => ({ speaker: i % 2 ? "customer" : "agent", text: `turn ${i}: ${words(20, "w")}` }));

describe("chunkTurns", () => {
  const count = tokenCounter("gpt-4o-mini");

  it("keeps a call that fits in one chunk", () => {
    const turns = call(10);
    expect(chunkTurns(turns, { budgetTokens: 100_000, overlapTurns: 2, countTokens: count })).toEqual([{ start: 0, turns }]);
  });

  it("splits a long call on turn boundaries with overlap, and never loses the ending", () => {
    const turns = call(200);
    const chunks = chunkTurns(turns, { budgetTokens: 1_000, overlapTurns: 3, countTokens: count });
    expect(chunks.length).toBeGreaterThan(3);
    for (const chunk of chunks) {
      const cost = chunk.turns.reduce((sum, turn) => sum + count(turn.text) + 6, 0);
      expect(cost).toBeLessThanOrEqual(1_000);
    }
    for (let i = 1; i < chunks.length; i += 1) {
      const previousEnd = chunks[i - 1]!.start + chunks[i - 1]!.turns.length;
      expect(chunks[i]!.start).toBe(previousEnd - 3);
    }
    const last = chunks.at(-1)!;
    expect(last.start + last.turns.length).toBe(200);
    expect(last.turns.at(-1)).toBe(turns.at(-1));
  });

  it("gives a turn larger than the budget a chunk of its own rather than dropping it", () => {
    const turns: Turn[] = [
      { speaker: "agent", text: "hi" },
      { speaker: "customer", text: words(500, "x") },
      { speaker: "agent", text: "bye" },
    ];
    const chunks = chunkTurns(turns, { budgetTokens: 50, overlapTurns: 0, countTokens: count });
    expect(chunks.flatMap((chunk) => chunk.turns)).toEqual(turns);
  });
});

describe("tokenCounter", () => {
  it("counts with the model's encoding, and falls back for models tiktoken does not know", () => {
    expect(tokenCounter("gpt-4o-mini")("Hello there, how are you?")).toBeGreaterThan(3);
    expect(tokenCounter("llama3.1:8b")("Hello there, how are you?")).toBe(tokenCounter("gpt-4o")("Hello there, how are you?"));
  });
});

describe("tokenCounter's encoders", () => {
  it("shares one encoder among every model of an encoding, so request-chosen model names cannot pile up encoders", async () => {
    const { tokenCounter: counter } = await import("../../src/transcript/tokens.js");
    const before = process.memoryUsage().rss;
    for (const model of ["gpt-4o", "gpt-4o-mini", "gpt-4o-2024-08-06", "o1", "o3-mini", "gpt-4.1", "my-llama", "other-model"]) counter(model)("hello");
    // Eight distinct encoders would take over 100 MB; one (o200k_base, already loaded above) takes none.
    expect(process.memoryUsage().rss - before).toBeLessThan(40 * 1024 * 1024);
  });
});
