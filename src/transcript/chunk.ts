// Splits a transcript that does not fit the model's prompt budget into overlapping chunks on turn boundaries.
import type { TokenCounter } from "./tokens.js";
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
 * A single turn larger than the budget gets a chunk of its own (the LLM server will tell if it truly does not fit).
 */
export function chunkTurns(
  turns: readonly Turn[],
  options: { budgetTokens: number; overlapTurns: number; countTokens: TokenCounter; lineOverhead?: number },
): Chunk[] {
  const lineOverhead = options.lineOverhead ?? 6; // "[123] Customer: " and the newline
  const cost = turns.map((turn) => options.countTokens(turn.text) + lineOverhead);
  const total = cost.reduce((a, b) => a + b, 0);
  if (total <= options.budgetTokens) return [{ start: 0, turns: [...turns] }];

  const chunks: Chunk[] = [];
  let start = 0;
  while (start < turns.length) {
    let end = start;
    let used = 0;
    while (end < turns.length && (end === start || used + cost[end]! <= options.budgetTokens)) {
      used += cost[end]!;
      end += 1;
    }
    chunks.push({ start, turns: turns.slice(start, end) });
    if (end >= turns.length) break;
    // Step back by the overlap, but always move forward by at least one turn.
    start = Math.max(start + 1, end - options.overlapTurns);
  }
  return chunks;
}
