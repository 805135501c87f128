// Token counting with tiktoken: one encoder per encoding (a handful), loaded on first use and kept for the process.
// Counting is linear in the text: runs the byte-pair merge would be superlinear on are counted by their bytes.
import { get_encoding, get_encoding_name_for_model, type Tiktoken, type TiktokenEncoding, type TiktokenModel } from "tiktoken";

/** Keyed by encoding, never by model: the model name comes from requests, and each encoder holds megabytes. */
const encoders = new Map<TiktokenEncoding, Tiktoken>();

/**
 * The longest run of non-whitespace (or of whitespace) handed to the tokenizer. tiktoken's byte-pair merge costs more
 * than linear time in the length of one pre-token (40,000 × "A" takes seconds); a run this short costs microseconds.
 */
export const MAX_TOKENIZED_RUN = 256;

/** OpenAI models map to their own encoding; anything else (llama, mistral on vLLM/Ollama) is estimated with o200k_base. */
function encodingFor(model: string): TiktokenEncoding {
  try {
    return get_encoding_name_for_model(model as TiktokenModel);
  } catch {
    return "o200k_base";
  }
}

function encoderFor(model: string): Tiktoken {
  const name = encodingFor(model);
  let encoder = encoders.get(name);
  if (!encoder) encoders.set(name, (encoder = get_encoding(name)));
  return encoder;
}

export type TokenCounter = (text: string) => number;

const isSpace = (code: number) =>
  code === 32 || (code >= 9 && code <= 13) || code === 0xa0 || code === 0x1680 || (code >= 0x2000 && code <= 0x200a) ||
  code === 0x2028 || code === 0x2029 || code === 0x202f || code === 0x205f || code === 0x3000 || code === 0xfeff;

/**
 * Runs longer than MAX_TOKENIZED_RUN characters of whitespace or of non-whitespace, as [start, end) pairs.
 * A plain loop rather than a regex: `/\S{256,}/` retries from every position of a 255-character run.
 */
export function longRuns(text: string): [number, number][] {
  const runs: [number, number][] = [];
  let start = 0;
  for (let i = 1; i <= text.length; i++) {
    if (i < text.length && isSpace(text.charCodeAt(i)) === isSpace(text.charCodeAt(start))) continue;
    if (i - start > MAX_TOKENIZED_RUN) runs.push([start, i]);
    start = i;
  }
  return runs;
}

/**
 * Tokens in `text` by tiktoken, or an upper bound: a run longer than MAX_TOKENIZED_RUN counts as its UTF-8 bytes (a
 * token is at least one byte). Every budget built on these counts still holds.
 */
export function tokenCounter(model: string): TokenCounter {
  const encoder = encoderFor(model);
  return boundedCounter((text) => (text === "" ? 0 : encoder.encode_ordinary(text).length));
}

/**
 * Any tokenizer (tiktoken, or a local model's own) made linear in the text: a run longer than MAX_TOKENIZED_RUN counts
 * as its UTF-8 bytes, and the text around it is counted on its own. The count is then exact or an upper bound.
 */
export function boundedCounter(exact: TokenCounter): TokenCounter {
  return (text) => {
    if (text.length <= MAX_TOKENIZED_RUN) return exact(text);
    let total = 0;
    let from = 0;
    for (const [start, end] of longRuns(text)) {
      total += exact(text.slice(from, start)) + Buffer.byteLength(text.slice(start, end), "utf8");
      from = end;
    }
    return total + exact(text.slice(from));
  };
}

/** Index at or before `at` that does not split a surrogate pair. */
function codePointBoundary(text: string, at: number): number {
  const code = text.charCodeAt(at);
  return at > 0 && code >= 0xdc00 && code <= 0xdfff ? at - 1 : at;
}

/** Where to cut `text` near `at` (looking back up to a quarter of the way): after whitespace when there is some. */
function cutPoint(text: string, from: number, at: number): number {
  const floor = from + Math.floor((at - from) * 0.75);
  for (let i = at; i > floor; i--) if (isSpace(text.charCodeAt(i - 1))) return i;
  return codePointBoundary(text, at);
}

/** Long texts are counted in segments of at most this many characters, cut at whitespace. */
export const SEGMENT_CHARS = 4_096;

/** Segments small next to the budget (an eighth of it, at about four characters a token), so packing wastes little. */
export function segmentCharsFor(budget: number): number {
  return Math.max(256, Math.min(SEGMENT_CHARS, Math.floor(budget / 2)));
}

/** A text's segments (each ends at `end`) and their tokens: a long text is counted once, then packed without recounting. */
export interface Segments {
  ends: number[];
  tokens: number[];
  total: number;
}

/** Counts `text` segment by segment (cutting at whitespace, where pre-tokens break, so the sum is the count or above). */
export function countSegments(text: string, count: TokenCounter, segmentChars = SEGMENT_CHARS): Segments {
  const segments: Segments = { ends: [], tokens: [], total: 0 };
  for (let from = 0; from < text.length; ) {
    const to = from + segmentChars >= text.length ? text.length : Math.max(from + 1, cutPoint(text, from, from + segmentChars));
    const tokens = count(text.slice(from, to));
    segments.ends.push(to);
    segments.tokens.push(tokens);
    segments.total += tokens;
    from = to;
  }
  return segments;
}

/**
 * Consecutive pieces of `text` that each fit `budget` tokens, packed from its counted segments; a segment larger than
 * the budget on its own (a budget under a few thousand tokens) is cut further by `splitToFit`.
 */
export function packSegments(text: string, segments: Segments, budget: number, count: TokenCounter): string[] {
  const pieces: string[] = [];
  const emit = (from: number, to: number) => {
    const piece = text.slice(from, to).trim();
    if (piece !== "") pieces.push(piece);
  };
  let start = 0;
  let used = 0;
  segments.ends.forEach((end, index) => {
    const tokens = segments.tokens[index]!;
    const segmentStart = index === 0 ? 0 : segments.ends[index - 1]!;
    if (tokens > budget) {
      if (segmentStart > start) emit(start, segmentStart);
      pieces.push(...splitToFit(text.slice(segmentStart, end), budget, count));
      [start, used] = [end, 0];
    } else if (used + tokens > budget) {
      emit(start, segmentStart);
      [start, used] = [segmentStart, tokens];
    } else {
      used += tokens;
    }
  });
  if (start < text.length) emit(start, text.length);
  return pieces;
}

/**
 * Cuts a text too long for `budget` tokens into consecutive pieces that each fit (counted with `count`), preferably at
 * whitespace. Pieces are sized from the text's own characters-per-token, so the text is counted about once in all.
 */
export function splitToFit(text: string, budget: number, count: TokenCounter): string[] {
  if (budget < 1) throw new RangeError("splitToFit needs a budget of at least one token");
  const total = count(text);
  if (total <= budget) return [text];
  const pieces: string[] = [];
  const emit = (from: number, to: number): void => {
    const piece = text.slice(from, to);
    if (to - from <= 2 || count(piece) <= budget) {
      if (piece.trim() !== "") pieces.push(piece.trim());
      return;
    }
    const middle = Math.max(from + 1, cutPoint(text, from, from + Math.floor((to - from) / 2)));
    emit(from, middle);
    emit(middle, to);
  };
  // 90% of the average: pieces of an even text fit at the first try.
  const step = Math.max(1, Math.floor((text.length / total) * budget * 0.9));
  for (let from = 0; from < text.length; ) {
    const to = from + step >= text.length ? text.length : Math.max(from + 1, cutPoint(text, from, from + step));
    emit(from, to);
    from = to;
  }
  return pieces;
}
