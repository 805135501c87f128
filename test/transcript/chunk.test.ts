import { describe, expect, it } from "vitest";
import { get_encoding } from "tiktoken";
import { chunkTurns, tokenCounter, type Turn } from "../../src/transcript/index.js";
import { countSegments, longRuns, MAX_TOKENIZED_RUN, packSegments, segmentCharsFor, splitToFit } from "../../src/transcript/tokens.js";

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

  it("cuts a turn larger than the budget into pieces that each fit, every piece numbered as that turn", () => {
    const turns: Turn[] = [
      { speaker: "agent", text: "hi" },
      { speaker: "customer", text: words(500, "x") },
      { speaker: "agent", text: "bye" },
    ];
    const chunks = chunkTurns(turns, { budgetTokens: 50, overlapTurns: 2, countTokens: count });
    for (const chunk of chunks) expect(chunk.turns.reduce((sum, turn) => sum + count(turn.text) + 6, 0)).toBeLessThanOrEqual(50);
    const pieces = chunks.filter((chunk) => chunk.start === 1);
    expect(pieces.length).toBeGreaterThan(5);
    expect(pieces.every((chunk) => chunk.turns.length === 1 && chunk.turns[0]!.speaker === "customer")).toBe(true);
    expect(pieces.map((chunk) => chunk.turns[0]!.text).join(" ")).toBe(turns[1]!.text);
    expect(chunks[0]).toEqual({ start: 0, turns: [turns[0]] });
    expect(chunks.at(-1)).toEqual({ start: 2, turns: [turns[2]] });
  });

  it("sends a 2 MB turn of one repeated character as pieces within the budget", () => {
    const turns: Turn[] = [{ speaker: "customer", text: "A".repeat(2_000_000) }];
    const chunks = chunkTurns(turns, { budgetTokens: 100_000, overlapTurns: 4, countTokens: count });
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) expect(count(chunk.turns[0]!.text) + 6).toBeLessThanOrEqual(100_000);
    expect(chunks.reduce((sum, chunk) => sum + chunk.turns[0]!.text.length, 0)).toBe(2_000_000);
  });
});

describe("countSegments and packSegments", () => {
  const count = tokenCounter("gpt-4o-mini");

  it("counts a long text once, in segments, and packs them into pieces that fit, wasting little of the budget", () => {
    const text = words(40_000, "word");
    let counted = 0;
    const counting = (piece: string) => ((counted += piece.length), count(piece));
    const segments = countSegments(text, counting, segmentCharsFor(2_000));
    expect(counted).toBe(text.length);
    const pieces = packSegments(text, segments, 2_000, counting);
    expect(counted).toBe(text.length); // packing did not count again
    for (const piece of pieces) expect(count(piece)).toBeLessThanOrEqual(2_000);
    expect(pieces.join(" ").replace(/\s+/g, " ")).toBe(text);
    expect(pieces.length).toBeLessThanOrEqual(Math.ceil((segments.total / 2_000) * 1.25) + 1);
  });
});

describe("splitToFit", () => {
  const count = tokenCounter("gpt-4o-mini");

  it("cuts at whitespace, keeps every word, and never splits a character made of two UTF-16 units", () => {
    const text = `${words(3_000, "word")} ${"😀".repeat(3_000)}`;
    const pieces = splitToFit(text, 200, count);
    for (const piece of pieces) expect(count(piece)).toBeLessThanOrEqual(200);
    expect(pieces.join("").replace(/\s/g, "")).toBe(text.replace(/\s/g, ""));
    expect(pieces.slice(0, -1).every((piece) => /\d$/.test(piece) || /😀$/.test(piece))).toBe(true);
    expect(pieces.some((piece) => /\uD83D$/.test(piece))).toBe(false);
  });
});

describe("tokenCounter", () => {
  it("counts with the model's encoding, and falls back for models tiktoken does not know", () => {
    expect(tokenCounter("gpt-4o-mini")("Hello there, how are you?")).toBeGreaterThan(3);
    expect(tokenCounter("llama3.1:8b")("Hello there, how are you?")).toBe(tokenCounter("gpt-4o")("Hello there, how are you?"));
  });

  it("counts a 2 MB run of one character by its bytes, an upper bound, instead of handing it to the byte-pair merge", () => {
    // The merge is superlinear on one long pre-token: the exact count of this run would take minutes.
    expect(tokenCounter("gpt-4o-mini")("A".repeat(2_000_000))).toBe(2_000_000);
    expect(tokenCounter("gpt-4o-mini")(`hello ${" ".repeat(300_000)}world`)).toBe(300_000 + tokenCounter("gpt-4o-mini")("hello ") + tokenCounter("gpt-4o-mini")("world"));
  });

  it("counts ordinary text exactly, and long runs at least at their true cost", () => {
    const count = tokenCounter("gpt-4o-mini");
    const exact = get_encoding("o200k_base");
    const prose = words(2_000, "w");
    expect(count(prose)).toBe(exact.encode_ordinary(prose).length);
    const url = `see https://example.com/${"abcdefghij".repeat(40)} now`;
    expect(count(url)).toBeGreaterThanOrEqual(exact.encode_ordinary(url).length);
    exact.free();
  });
});

describe("longRuns", () => {
  it("finds the runs of whitespace or non-whitespace longer than MAX_TOKENIZED_RUN", () => {
    const long = "x".repeat(MAX_TOKENIZED_RUN + 1);
    expect(longRuns(`a b ${long} c`)).toEqual([[4, 4 + long.length]]);
    expect(longRuns("x".repeat(MAX_TOKENIZED_RUN))).toEqual([]);
    expect(longRuns(`a${" ".repeat(MAX_TOKENIZED_RUN + 5)}b`)).toEqual([[1, MAX_TOKENIZED_RUN + 6]]);
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
