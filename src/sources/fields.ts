// Small pure readers the adapters share: validate with a zod schema, place instants, read a transcript at a path.
import type { z } from "zod";
import { InvalidRequestError, type ErrorDetail } from "../errors.js";
import { isInstant, isTimeZone, zodIssuesToDetails } from "../schema/index.js";
import { normalizeTranscript, type Turn } from "../transcript/index.js";
import type { Recognition, SourceName } from "./source.js";

export type Json = Record<string, unknown>;

export const isObject = (value: unknown): value is Json => value !== null && typeof value === "object" && !Array.isArray(value);

/** Parses with the adapter's schema; a field of the wrong type is a 400 naming it. */
export function parseAs<T extends z.ZodTypeAny>(source: SourceName, schema: T, payload: unknown): z.infer<T> {
  const parsed = schema.safeParse(payload);
  if (!parsed.success) throw new InvalidRequestError(`The call payload is not a valid ${source} post-call payload`, zodIssuesToDetails(parsed.error.issues));
  return parsed.data;
}

/** The widest span a Date holds, either side of 1970 (ECMAScript's time values: ±100,000,000 days). */
const MAX_DATE_MS = 8.64e15;

/** ISO UTC of a time in ms, or null when no Date holds it: a platform's impossible time is one it did not tell. */
const isoAt = (ms: number): string | null => (Number.isFinite(ms) && Math.abs(ms) <= MAX_DATE_MS ? new Date(ms).toISOString() : null);

/** A unix time in seconds, or milliseconds when `unit` says so, or an ISO 8601 date-time with an offset → ISO UTC. */
export function instant(value: unknown, unit: "s" | "ms" = "s"): string | null {
  if (typeof value === "number") return isoAt(unit === "s" ? value * 1000 : value);
  if (typeof value === "string" && isInstant(value)) return isoAt(Date.parse(value));
  return null;
}

/** A non-negative duration in seconds, rounded to the millisecond; null for anything else, and for one no Date could span. */
export function duration(seconds: number | null | undefined): number | null {
  return typeof seconds === "number" && Number.isFinite(seconds) && seconds >= 0 && seconds * 1000 <= MAX_DATE_MS ? Math.round(seconds * 1000) / 1000 : null;
}

/**
 * When the call started and ended and how long it lasted, from whichever two of the three the platform sent: the
 * end from start + duration, the duration from end - start. An end past what a Date holds is left unknown.
 */
export function callSpan(started: string | null, ended: string | null, seconds: number | null): { started_at: string | null; ended_at: string | null; duration_s: number | null } {
  const between = started && ended ? duration((Date.parse(ended) - Date.parse(started)) / 1000) : null;
  return {
    started_at: started,
    ended_at: ended ?? (started && seconds !== null ? isoAt(Date.parse(started) + seconds * 1000) : null),
    duration_s: seconds ?? between,
  };
}

export const text = (value: unknown): string | null => (typeof value === "string" && value.trim() !== "" ? value : null);

/** A platform's time zone when it is one we know; an unknown one is dropped rather than failing the call. */
export const zone = (value: unknown): string | undefined => (typeof value === "string" && isTimeZone(value) ? value : undefined);

/** An object of variables, or undefined when there are none. */
export const variables = (value: unknown): Json | undefined => (isObject(value) && Object.keys(value).length > 0 ? value : undefined);

/**
 * The transcript at `path` as turns; an unreadable or empty one is a 400 naming the field in the payload
 * (`message.artifact.messages[3]`), not `transcript[3]`.
 */
export function turnsAt(value: unknown, path: string): Turn[] {
  const result = normalizeTranscript(value);
  if (result.ok) return result.turns;
  const details = result.issues.map((issue) => ({ ...issue, path: issue.path?.replace(/^transcript/, path) }));
  throw new InvalidRequestError("The call's transcript cannot be read", details);
}

/** Walks `path` into a payload; undefined as soon as a step is not an object. */
export function at(payload: unknown, path: readonly string[]): unknown {
  let node = payload;
  for (const key of path) {
    if (!isObject(node)) return undefined;
    node = node[key];
  }
  return node;
}

/** A recognition that lists, for each marker that does not hold, the field and what it should be. */
export function unrecognized(source: SourceName, missing: [path: string, expected: string][]): Recognition {
  return { kind: "unrecognized", missing: missing.map(([path, expected]): ErrorDetail => ({ path, source, message: `${source}: expected ${expected}` })) };
}
