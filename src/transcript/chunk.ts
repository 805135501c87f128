// Splits a transcript that does not fit the model's prompt budget into overlapping chunks on turn boundaries.
import { countSegments, packSegments, segmentCharsFor, type Segments, type TokenCounter } from "./tokens.js";
import type { Turn } from "./normalize.js";

export interface Chunk {
  /** Index in the full turn list of the chunk's first turn (turn numbers the model sees start here). */
  start: number;
  turns: Turn[];
}

/**
 * Greedy packing of whole turns up to `budgetTokens`; each chunk after the first repeats the last
 * `overlapTurns` turns of the one before, so a value spoken across the boundary is seen whole.
 * Every turn lands in at least one chunk: a call's ending is never cut off.
 * A single turn larger than the budget is cut into pieces that fit, each a chunk of its own that keeps the turn's
 * number (so evidence still points at the turn); no overlap reaches into or out of such a turn.
 */
export function chunkTurns(
  turns: readonly Turn[],
  options: { budgetTokens: number; overlapTurns: number; countTokens: TokenCounter; lineOverhead?: number },
): Chunk[] {
  const { budgetTokens: budget, countTokens } = options;
  const lineOverhead = options.lineOverhead ?? 6; // "[123] Customer: " and the newline
  // A long turn is counted in segments, kept for cutting it into pieces should it not fit: its text is counted once.
  const segmentChars = segmentCharsFor(budget - lineOverhead);
  const segments = new Map<number, Segments>();
  const cost = turns.map((turn, index) => {
    if (turn.text.length <= segmentChars) return countTokens(turn.text) + lineOverhead;
    const counted = countSegments(turn.text, countTokens, segmentChars);
    segments.set(index, counted);
    return counted.total + lineOverhead;
  });
  const total = cost.reduce((a, b) => a + b, 0);
  if (total <= budget) return [{ start: 0, turns: [...turns] }];

  const chunks: Chunk[] = [];
  let start = 0;
  while (start < turns.length) {
    const turn = turns[start]!;
    if (cost[start]! > budget) {
      const counted = segments.get(start) ?? countSegments(turn.text, countTokens, segmentChars);
      for (const text of packSegments(turn.text, counted, budget - lineOverhead, countTokens)) chunks.push({ start, turns: [{ ...turn, text }] });
      start += 1;
      continue;
    }
    let end = start;
    let used = 0;
    while (end < turns.length && used + cost[end]! <= budget) {
      used += cost[end]!;
      end += 1;
    }
    chunks.push({ start, turns: turns.slice(start, end) });
    if (end >= turns.length) break;
    // Step back by the overlap, but always move forward by at least one turn; an oversized turn next starts afresh.
    start = cost[end]! > budget ? end : Math.max(start + 1, end - options.overlapTurns);
  }
  return chunks;
}
