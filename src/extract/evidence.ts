// Checks every evidence quote against the transcript: a quote the call never contained is a hallucination signal.
// From normalize.js itself, not the folder index: the console bundles this module, and the index also holds the
// tokenizer (Node-only).
import type { Turn } from "../transcript/normalize.js";
import { valueAtPath } from "./paths.js";

export interface Evidence {
  quote: string;
  turn: number;
}

/** Case, whitespace and typographic quotes do not make a quote ungrounded; anything else does. */
export function normalizeForMatch(text: string): string {
  return text.toLowerCase().replace(/[\u2018\u2019]/g, "'").replace(/[\u201c\u201d]/g, '"').replace(/\s+/g, " ").trim();
}

export interface GroundedEvidence {
  evidence: Record<string, Evidence>;
  ungrounded: number;
  /** The values (names, or leaf paths of nested ones) whose quote was dropped (`ungrounded` of them). */
  ungroundedNames: string[];
}

/**
 * Keeps the evidence of non-null values (by name, or by leaf path inside a nested one: `items[1].quantity`) whose
 * quote is found in the transcript, correcting the turn index when the
 * quote sits in another turn than the model said; drops (and counts) quotes found nowhere.
 */
export function groundEvidence(
  turns: readonly Turn[],
  values: Record<string, unknown>,
  claimed: Record<string, Evidence | null | undefined>,
): GroundedEvidence {
  const normalizedTurns = turns.map((turn) => normalizeForMatch(turn.text));
  const evidence: Record<string, Evidence> = {};
  const ungroundedNames: string[] = [];
  for (const [name, item] of Object.entries(claimed)) {
    const value = Object.hasOwn(values, name) ? values[name] : valueAtPath(values, name);
    if (!item || value === null || value === undefined) continue;
    const quote = normalizeForMatch(item.quote);
    const turn =
      quote === "" ? -1 : normalizedTurns[item.turn]?.includes(quote) ? item.turn : normalizedTurns.findIndex((text) => text.includes(quote));
    if (turn === -1) ungroundedNames.push(name);
    else evidence[name] = { quote: item.quote.trim(), turn };
  }
  return { evidence, ungrounded: ungroundedNames.length, ungroundedNames };
}
