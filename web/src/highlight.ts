// Finds each value's evidence quote in the transcript the way the service grounds it (case, whitespace and typographic
// quotes ignored), and cuts each turn into plain and quoted segments for display. Pure: the tests run it under Node.
import { normalizeForMatch } from "../../src/extract/evidence.js";

export interface EvidenceItem {
  quote: string;
  turn: number;
}

export interface Segment {
  text: string;
  /** The variables whose quote covers this segment (several when quotes overlap); empty for plain text. */
  names: string[];
}

/** The text as normalizeForMatch sees it, with, for each of its characters, the index it came from in `text`. */
function normalizedWithOrigins(text: string): { normalized: string; origins: number[] } {
  let normalized = "";
  const origins: number[] = [];
  for (let index = 0; index < text.length; ) {
    const char = String.fromCodePoint(text.codePointAt(index)!);
    if (/\s/.test(char)) {
      // A run of whitespace is one space, and none at the start (normalizeForMatch trims).
      if (normalized !== "" && !normalized.endsWith(" ")) {
        normalized += " ";
        origins.push(index);
      }
    } else {
      const mapped = normalizeForMatch(char);
      normalized += mapped;
      for (let i = 0; i < mapped.length; i++) origins.push(index);
    }
    index += char.length;
  }
  return { normalized, origins };
}

/** Where `quote` sits in `text` (first occurrence), as [start, end) indices of `text`; undefined when it is not there. */
export function findQuote(text: string, quote: string): [number, number] | undefined {
  const wanted = normalizeForMatch(quote);
  if (wanted === "") return undefined;
  const { normalized, origins } = normalizedWithOrigins(text);
  const at = normalized.indexOf(wanted);
  if (at === -1) return undefined;
  const last = origins[at + wanted.length - 1]!;
  return [origins[at]!, last + String.fromCodePoint(text.codePointAt(last)!).length];
}

/**
 * Each turn's segments. A quote is looked for in the turn its evidence names, then in every turn (the evidence of an
 * older extraction may point elsewhere); one found nowhere is left out, and reported in `missing`.
 */
export function highlightTurns(turns: readonly { text: string }[], evidence: Record<string, EvidenceItem | null | undefined>) {
  const ranges: { start: number; end: number; name: string }[][] = turns.map(() => []);
  const located: Record<string, number> = {};
  const missing: string[] = [];
  for (const [name, item] of Object.entries(evidence)) {
    if (!item) continue;
    const order = [item.turn, ...turns.keys()].filter((turn, i, all) => turn >= 0 && turn < turns.length && all.indexOf(turn) === i);
    const turn = order.find((candidate) => findQuote(turns[candidate]!.text, item.quote) !== undefined);
    if (turn === undefined) {
      missing.push(name);
      continue;
    }
    const [start, end] = findQuote(turns[turn]!.text, item.quote)!;
    ranges[turn]!.push({ start, end, name });
    located[name] = turn;
  }
  const segments = turns.map((turn, index) => cut(turn.text, ranges[index]!));
  return { segments, located, missing };
}

/** Splits `text` at every range boundary; each piece lists the ranges covering it. */
function cut(text: string, ranges: readonly { start: number; end: number; name: string }[]): Segment[] {
  const bounds = [...new Set([0, text.length, ...ranges.flatMap((range) => [range.start, range.end])])].sort((a, b) => a - b);
  const segments: Segment[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const start = bounds[i]!;
    const end = bounds[i + 1]!;
    if (start === end) continue;
    const names = ranges.filter((range) => range.start <= start && range.end >= end).map((range) => range.name);
    const previous = segments.at(-1);
    // Neighbouring pieces under the same quotes are one segment.
    if (previous && previous.names.join() === names.join()) previous.text += text.slice(start, end);
    else segments.push({ text: text.slice(start, end), names });
  }
  return segments;
}
