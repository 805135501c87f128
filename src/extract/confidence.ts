// Per-value confidence from the answer's token log-probabilities: each value's span in the JSON text, the tokens
// whose bytes overlap it, and the probability of the least likely of them.
import { parseTree, type Node } from "jsonc-parser";
import type { TokenLogprob } from "../llm/index.js";
import { isDroppedItem } from "./paths.js";

/** [start, end) in UTF-16 code units of the answer's text. */
export interface Span {
  start: number;
  end: number;
}

/**
 * The confidence of a value from the log-probabilities of its tokens: the probability of the least likely one.
 * A value is wrong when one of its tokens is (one digit of a budget, the day of a date); the joint probability would
 * punish long values for their length, and the geometric mean would hide that one uncertain token among many certain
 * ones. Rounded to 4 decimals; no tokens, no confidence.
 */
export function confidenceOf(logprobs: readonly number[]): number | undefined {
  if (logprobs.length === 0) return undefined;
  const least = logprobs.reduce((low, logprob) => Math.min(low, logprob), 0);
  return Math.round(Math.exp(least) * 10_000) / 10_000;
}

function lastProperty(object: Node | undefined, key: string): Node | undefined {
  if (object?.type !== "object") return undefined;
  let found: Node | undefined;
  // JSON.parse keeps the last of duplicate keys, and so must the spans.
  for (const property of object.children ?? []) if (property.children?.[0]?.value === key) found = property.children[1];
  return found;
}

/** An object's properties, the last of duplicate keys only, as JSON.parse keeps it. */
function propertiesOf(object: Node): Map<string, Node> {
  const last = new Map<string, Node>();
  for (const property of object.children ?? []) {
    const [key, value] = property.children ?? [];
    if (typeof key?.value === "string" && value) last.set(key.value, value);
  }
  return last;
}

/** The span of `node` under `path`, then of everything inside it: `contact.email`, `items[1].quantity`. */
function addSpans(node: Node, path: string, offset: number, spans: Map<string, Span>): void {
  spans.set(path, { start: offset + node.offset, end: offset + node.offset + node.length });
  if (node.type === "object") {
    for (const [key, value] of propertiesOf(node)) addSpans(value, `${path}.${key}`, offset, spans);
  } else if (node.type === "array") {
    let index = 0;
    for (const item of node.children ?? []) if (!isDroppedItem(item.type === "null" || item.type === "string" ? item.value : item)) addSpans(item, `${path}[${index++}]`, offset, spans);
  }
}

/**
 * Where each value under `values` is written in `json` (shifted by `offset`): the whole JSON text of the value,
 * quotes, escapes and brackets included; and of each value inside one, by its path (`contact.email`,
 * `items[1].quantity`, counting list items as validation keeps them). Undefined when the text is not a JSON object
 * with a `values` object.
 */
export function valueSpans(json: string, offset = 0): Map<string, Span> | undefined {
  const values = lastProperty(parseTree(json), "values");
  if (values?.type !== "object") return undefined;
  const spans = new Map<string, Span>();
  for (const [name, value] of propertiesOf(values)) addSpans(value, name, offset, spans);
  return spans;
}

const isHigh = (code: number) => code >= 0xd800 && code <= 0xdbff;
const isLow = (code: number) => code >= 0xdc00 && code <= 0xdfff;

/** The UTF-8 byte offset of every UTF-16 index of `text` (length + 1 entries), as Buffer.from encodes it. */
function byteOffsets(text: string): Uint32Array {
  const offsets = new Uint32Array(text.length + 1);
  let bytes = 0;
  for (let i = 0; i < text.length; i += 1) {
    offsets[i] = bytes;
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (isHigh(code) && isLow(text.charCodeAt(i + 1))) {
      // A pair is one 4-byte character; its low half starts at the same byte as a whole.
      offsets[i + 1] = bytes;
      bytes += 4;
      i += 1;
    } else bytes += 3; // a lone surrogate is written as U+FFFD
  }
  offsets[text.length] = bytes;
  return offsets;
}

/**
 * The tokens' byte ranges, when their bytes spell exactly the UTF-8 of `text`; undefined otherwise (a server whose
 * tokens do not add up to its answer gets no confidence, never a guessed one).
 */
function tokenEnds(text: string, tokens: readonly TokenLogprob[]): Uint32Array | undefined {
  const expected = Buffer.from(text, "utf8");
  const ends = new Uint32Array(tokens.length);
  let at = 0;
  for (const [index, token] of tokens.entries()) {
    if (typeof token.logprob !== "number" || Number.isNaN(token.logprob)) return undefined;
    const bytes = token.bytes ?? [...Buffer.from(String(token.token), "utf8")];
    if (!Array.isArray(bytes) || at + bytes.length > expected.length) return undefined;
    for (const byte of bytes) if (expected[at++] !== byte) return undefined;
    ends[index] = at;
  }
  return at === expected.length ? ends : undefined;
}

/**
 * The confidence of each named value (or path inside one: `items[1].quantity`) of the answer `text` (the whole message content: a JSON object, possibly in a
 * Markdown fence at `json`), from the tokens the server generated it with. Every token whose bytes overlap the value's
 * span counts, including one that straddles its edge (`":"` holds the key's end, the colon and a string's opening
 * quote: choosing it was choosing a string over null). Undefined when the tokens do not spell the text.
 */
export function valueConfidence(
  text: string,
  tokens: readonly TokenLogprob[],
  names: Iterable<string>,
  json: Span = { start: 0, end: text.length },
): Record<string, number> | undefined {
  const ends = tokenEnds(text, tokens);
  const spans = ends && valueSpans(text.slice(json.start, json.end), json.start);
  if (!ends || !spans) return undefined;
  const bytes = byteOffsets(text);
  const confidence: Record<string, number> = {};
  for (const name of names) {
    const span = spans.get(name);
    if (!span || span.end <= span.start) continue;
    const [from, to] = [bytes[span.start]!, bytes[span.end]!];
    // The first token that ends after the span starts, then every token that starts before it ends.
    let low = 0;
    let high = ends.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (ends[mid]! <= from) low = mid + 1;
      else high = mid;
    }
    const logprobs: number[] = [];
    for (let i = low; i < ends.length && (i === 0 ? 0 : ends[i - 1]!) < to; i += 1) logprobs.push(tokens[i]!.logprob);
    const value = confidenceOf(logprobs);
    if (value !== undefined) confidence[name] = value;
  }
  return confidence;
}
