// Reads JSON bytes' structure in one linear pass without building anything: how deep and how wide it goes, and one
// string field. Streaming JSON parsers (stream-json, @streamparser/json) build every value in JavaScript, slower than
// the JSON.parse this pass exists to spare, and none of them stops at a nesting depth or an element count.

export interface JsonLimits {
  /** Containers inside containers: the top-level object or array is depth 1. */
  maxDepth: number;
  maxArrayLength: number;
  maxObjectKeys: number;
}

/**
 * What any JSON body Debrief reads may hold: far past any platform's payload (a 3-hour Retell call with per-word timings
 * has arrays of a few thousand), far short of what stalls the event loop to parse and walk.
 */
export const JSON_BODY_LIMITS: JsonLimits = { maxDepth: 64, maxArrayLength: 100_000, maxObjectKeys: 10_000 };

export interface JsonLimitBreach {
  limit: keyof JsonLimits;
  /** Where the container over the limit is (keys cut to 64 characters). */
  path: (string | number)[];
}

// The bytes that matter are ASCII: in UTF-8 no byte of a longer character is below 0x80, so none is mistaken for one.
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/** Strings are stepped through a byte at a time this far; a longer one is crossed with a native search. */
const SHORT_STRING = 64;
/** A key shown in a path is cut to this many characters: a path says where, it need not quote a 1 MB key. */
const PATH_KEY_CHARS = 64;

/** Index just past the string whose opening quote is at `start` (the end of the text when it never closes). */
function stringEnd(bytes: Buffer, start: number): number {
  const length = bytes.length;
  let i = start + 1;
  for (const stop = Math.min(length, i + SHORT_STRING); i < stop; i += 1) {
    const byte = bytes[i];
    if (byte === QUOTE) return i + 1;
    if (byte === BACKSLASH) i += 1;
  }
  // A long string without a backslash before its next quote ends there: a transcript of megabytes is crossed at once.
  if (i < length && bytes[i - 1] !== BACKSLASH) {
    const quote = bytes.indexOf(QUOTE, i);
    if (quote < 0) return length;
    if (!bytes.subarray(i, quote).includes(BACKSLASH)) return quote + 1;
  }
  for (; i < length; i += 1) {
    const byte = bytes[i];
    if (byte === QUOTE) return i + 1;
    if (byte === BACKSLASH) i += 1;
  }
  return length;
}

/** The string literal at [start, end) decoded, or undefined when it is not a valid one. */
function decodeString(bytes: Buffer, start: number, end: number): string | undefined {
  if (end - start < 2 || bytes[end - 1] !== QUOTE) return undefined;
  if (!bytes.subarray(start + 1, end - 1).includes(BACKSLASH)) return bytes.toString("utf8", start + 1, end - 1);
  try {
    const value: unknown = JSON.parse(bytes.toString("utf8", start, end));
    return typeof value === "string" ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The first container past a limit, with its path; undefined when the text keeps within them. Whether it is valid
 * JSON is not this pass's business (JSON.parse says so next): it only never takes more than one pass over the bytes.
 */
export function findLimitBreach(bytes: Buffer, limits: JsonLimits): JsonLimitBreach | undefined {
  // Per open container: is it an object, how many commas so far (its element count less one), where its current key starts.
  const isObject = new Uint8Array(limits.maxDepth);
  const commas = new Int32Array(limits.maxDepth);
  const keyAt = new Int32Array(limits.maxDepth);
  let depth = 0;
  // In an object, a string is a key until the colon after it.
  let expectKey = false;

  const pathTo = (level: number): (string | number)[] => {
    const path: (string | number)[] = [];
    for (let at = 0; at < level; at += 1) {
      if (!isObject[at]) {
        path.push(commas[at]!);
        continue;
      }
      const start = keyAt[at]!;
      const key = start < 0 ? undefined : decodeString(bytes, start, stringEnd(bytes, start));
      path.push(key === undefined ? "…" : key.length > PATH_KEY_CHARS ? `${key.slice(0, PATH_KEY_CHARS)}…` : key);
    }
    return path;
  };

  const length = bytes.length;
  for (let i = 0; i < length; i += 1) {
    const byte = bytes[i];
    if (byte === QUOTE) {
      if (expectKey) keyAt[depth - 1] = i;
      i = stringEnd(bytes, i) - 1;
    } else if (byte === OPEN_ARRAY || byte === OPEN_OBJECT) {
      if (depth === limits.maxDepth) return { limit: "maxDepth", path: pathTo(depth) };
      isObject[depth] = byte === OPEN_OBJECT ? 1 : 0;
      commas[depth] = 0;
      keyAt[depth] = -1;
      depth += 1;
      expectKey = byte === OPEN_OBJECT;
    } else if (byte === CLOSE_ARRAY || byte === CLOSE_OBJECT) {
      if (depth > 0) depth -= 1;
      expectKey = false;
    } else if (byte === COMMA && depth > 0) {
      const level = depth - 1;
      const count = (commas[level] = commas[level]! + 1);
      // A comma opens element count + 1: past the limit as soon as that is one too many.
      if (isObject[level] ? count >= limits.maxObjectKeys : count >= limits.maxArrayLength) {
        return { limit: isObject[level] ? "maxObjectKeys" : "maxArrayLength", path: pathTo(level) };
      }
      expectKey = isObject[level] === 1;
    } else if (byte === COLON) {
      expectKey = false;
    }
  }
  return undefined;
}

/**
 * The string at `path` (object keys from the top) as JSON.parse would read it, a repeated key's last value winning;
 * undefined when it is absent, not a string, or the text nests deeper than `maxDepth` anywhere. One linear pass.
 */
export function readStringAt(bytes: Buffer, path: readonly string[], maxDepth: number): string | undefined {
  if (path.length === 0) return undefined;
  // Per open container: is it an object, does `path` lead to it, is its current key the path's next step.
  const isObject = new Uint8Array(maxDepth);
  const onPath = new Uint8Array(maxDepth);
  const keyMatches = new Uint8Array(maxDepth);
  let depth = 0;
  let expectKey = false;
  /** The level whose key on the path was just followed by its colon: the next token is that key's value. */
  let valueOf = -1;
  let found: [start: number, end: number] | undefined;

  const length = bytes.length;
  for (let i = 0; i < length; i += 1) {
    const byte = bytes[i]!;
    if (byte <= 0x20) continue;
    const level = valueOf;
    valueOf = -1;
    // A value after a key on the path replaces whatever an earlier duplicate of that key held.
    if (level >= 0) found = undefined;
    if (byte === QUOTE) {
      const end = stringEnd(bytes, i);
      if (expectKey) {
        const at = depth - 1;
        const wanted = path[at];
        // A key over six bytes per character sought (each a \uXXXX escape) cannot be the one sought.
        keyMatches[at] = onPath[at] && wanted !== undefined && end - i <= 6 * wanted.length + 2 && decodeString(bytes, i, end) === wanted ? 1 : 0;
      } else if (level === path.length - 1) {
        found = [i, end];
      }
      i = end - 1;
    } else if (byte === OPEN_ARRAY || byte === OPEN_OBJECT) {
      if (depth === maxDepth) return undefined;
      isObject[depth] = byte === OPEN_OBJECT ? 1 : 0;
      onPath[depth] = byte === OPEN_OBJECT && (depth === 0 || (level === depth - 1 && level < path.length - 1)) ? 1 : 0;
      keyMatches[depth] = 0;
      depth += 1;
      expectKey = byte === OPEN_OBJECT;
    } else if (byte === CLOSE_ARRAY || byte === CLOSE_OBJECT) {
      if (depth > 0) depth -= 1;
      expectKey = false;
    } else if (byte === COMMA) {
      expectKey = depth > 0 && isObject[depth - 1] === 1;
    } else if (byte === COLON) {
      expectKey = false;
      if (depth > 0 && keyMatches[depth - 1]) valueOf = depth - 1;
    }
  }
  return found ? decodeString(bytes, found[0], found[1]) : undefined;
}
