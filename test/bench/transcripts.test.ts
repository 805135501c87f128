// The bench's synthetic calls must be the size they claim, or its per-token figures mean nothing.
import { describe, expect, it } from "vitest";
import { countTokens, countTokensByLine } from "../../bench/lib/tokens.js";
import { CALL_SIZES, generateTranscript } from "../../bench/lib/transcripts.js";

describe("bench synthetic transcripts", () => {
  for (const [name, { tokens }] of Object.entries(CALL_SIZES)) {
    it(`sizes a ${name} call to within 10% of ${tokens} o200k_base tokens`, () => {
      const transcript = generateTranscript({ seed: 1, tokens });
      expect(countTokens(transcript.text)).toBe(transcript.tokens);
      expect(Math.abs(transcript.tokens - tokens) / tokens).toBeLessThan(0.1);
    });
  }

  it("gives the same call for the same seed and a different one for another seed", () => {
    expect(generateTranscript({ seed: 7, tokens: 500 }).text).toBe(generateTranscript({ seed: 7, tokens: 500 }).text);
    expect(generateTranscript({ seed: 8, tokens: 500 }).text).not.toBe(generateTranscript({ seed: 7, tokens: 500 }).text);
  });

  it("alternates AI and Customer turns, starting with the agent", () => {
    const { text } = generateTranscript({ seed: 3, tokens: 1_000 });
    const speakers = text.split("\n").map((line) => line.slice(0, line.indexOf(":")));
    expect(speakers[0]).toBe("AI");
    speakers.forEach((speaker, index) => expect(speaker).toBe(index % 2 === 0 ? "AI" : "Customer"));
  });

  it("reaches a byte target (the 30 KB cache-hit transcript)", () => {
    const transcript = generateTranscript({ seed: 300, bytes: 30 * 1024 });
    expect(transcript.bytes).toBeGreaterThanOrEqual(30 * 1024);
    expect(transcript.bytes).toBeLessThan(32 * 1024);
  });

  it("counts a transcript line by line (as the fake LLM does) within 1% of a whole count", () => {
    const { text, tokens } = generateTranscript({ seed: 5, tokens: 12_000 });
    expect(Math.abs(countTokensByLine(text) - tokens) / tokens).toBeLessThan(0.01);
  });
});
