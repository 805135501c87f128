// Insights (issue 27): what a profile's calls say over a window, bucketed by the profile's calendar. The store counts
// the narrow value rows (values.ts); this file decides which paths to count from the profile's variables, cuts the
// window into buckets in the profile's timezone (SQLite has no time zones: the buckets are computed here and given to
// both engines as instants), and shapes the answer with every option present, zeros included.
import { InvalidRequestError } from "../errors.js";
import { roundUsd } from "../llm/prices.js";
import { withDefaults, type ValueShape, type VariableSpec } from "../schema/index.js";
import type { CallState } from "./fates.js";
import type { InsightBucket, InsightFigures, InsightsStore, NumberSpread } from "./store/insights-sql.js";
import type { ValueCondition } from "./store/port.js";

export const INSIGHT_BUCKETS = ["hour", "day", "week"] as const;
export type InsightBucketSize = (typeof INSIGHT_BUCKETS)[number];

/** The longest window: a year, leap day included. */
export const MAX_INSIGHTS_WINDOW_MS = 366 * 86_400_000;
/** When no `since` is given: this long before `until`. */
export const DEFAULT_INSIGHTS_WINDOW_MS = 30 * 86_400_000;
/** Where low_confidence starts when the profile sets no `review.min_confidence` (the extraction request's default). */
export const DEFAULT_MIN_CONFIDENCE = 0.5;
const HISTOGRAM_BINS = 10;
const HOUR_MS = 3_600_000;

/** What the profile's calendar needs of a profile. */
export interface InsightsProfile {
  name: string;
  variables: readonly VariableSpec[];
  timezone?: string;
  review: { minConfidence?: number };
}

export interface InsightsWindow {
  since: number;
  until: number;
  bucket: InsightBucketSize;
}

// --- Buckets in a time zone -------------------------------------------------------------------------------------------

interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The wall clock in `timeZone` at instant `t`. */
function wallClock(t: number, timeZone: string): WallClock {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", { timeZone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric" });
    formatters.set(timeZone, format);
  }
  const parts: Record<string, number> = {};
  for (const part of format.formatToParts(t)) if (part.type !== "literal") parts[part.type] = Number(part.value);
  return { year: parts.year!, month: parts.month!, day: parts.day!, hour: parts.hour!, minute: parts.minute! };
}

/** How far `timeZone`'s wall clock is ahead of UTC at instant `t`, in ms. */
function offsetAt(t: number, timeZone: string): number {
  const wall = wallClock(t, timeZone);
  return Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute) - Math.floor(t / 60_000) * 60_000;
}

/** The instant the wall clock in `timeZone` shows this date and hour (the later one's offset when a change skips it). */
function instantOf(year: number, month: number, day: number, hour: number, timeZone: string): number {
  const asUtc = Date.UTC(year, month - 1, day, hour);
  const first = asUtc - offsetAt(asUtc, timeZone);
  return asUtc - offsetAt(first, timeZone);
}

const pad = (n: number) => String(n).padStart(2, "0");
const dateLabel = (wall: Pick<WallClock, "year" | "month" | "day">) => `${wall.year}-${pad(wall.month)}-${pad(wall.day)}`;

/**
 * The window [since, until) cut into the profile's hours, days or weeks (weeks start on Monday), each named by its
 * local start; the first and last are cut to the window, so the buckets' calls add up to the window's.
 */
export function bucketsOf(window: InsightsWindow, timeZone = "UTC"): InsightBucket[] {
  const buckets: InsightBucket[] = [];
  const start = wallClock(window.since, timeZone);
  const labels = new Set<string>();
  if (window.bucket === "hour") {
    for (let at = instantOf(start.year, start.month, start.day, start.hour, timeZone); at < window.until; at += HOUR_MS) {
      const wall = wallClock(at, timeZone);
      let label = `${dateLabel(wall)}T${pad(wall.hour)}:${pad(wall.minute)}`;
      // The hour a clock change repeats: named with its offset the second time.
      if (labels.has(label)) label += offsetLabel(offsetAt(at, timeZone));
      labels.add(label);
      buckets.push({ label, start: Math.max(at, window.since), end: Math.min(at + HOUR_MS, window.until) });
    }
    return buckets.filter((bucket) => bucket.end > bucket.start);
  }
  const step = window.bucket === "week" ? 7 : 1;
  // A week starts on the Monday on or before the window's first day.
  const back = window.bucket === "week" ? (new Date(Date.UTC(start.year, start.month - 1, start.day)).getUTCDay() + 6) % 7 : 0;
  let day = new Date(Date.UTC(start.year, start.month - 1, start.day - back));
  let at = instantOf(day.getUTCFullYear(), day.getUTCMonth() + 1, day.getUTCDate(), 0, timeZone);
  while (at < window.until) {
    const next = new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate() + step));
    const end = instantOf(next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate(), 0, timeZone);
    const label = dateLabel({ year: day.getUTCFullYear(), month: day.getUTCMonth() + 1, day: day.getUTCDate() });
    if (end > window.since) buckets.push({ label, start: Math.max(at, window.since), end: Math.min(end, window.until) });
    day = next;
    at = end;
  }
  return buckets;
}

function offsetLabel(offset: number): string {
  const minutes = Math.round(Math.abs(offset) / 60_000);
  return `${offset < 0 ? "-" : "+"}${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}`;
}

// --- Which paths are counted ------------------------------------------------------------------------------------------

/** A path insights report on: where it is, what it is, and, for bounded kinds, the values it can take. */
export interface InsightPath {
  path: string;
  type: ValueShape["type"];
  options?: readonly string[];
}

const COUNTED_TYPES = new Set(["enum", "boolean"]);
const NUMBER_TYPES = new Set(["number", "integer"]);

/** The leaves inside an object or list variable (`items[].quantity`), or the variable itself when it is a leaf. */
export function leafPaths(spec: ValueShape, path: string): InsightPath[] {
  if (spec.type === "object") return (spec.fields ?? []).flatMap((field) => leafPaths(field, `${path}.${field.name}`));
  if (spec.type === "list") {
    // `list` with `options` (and no items) is a list of those options; with neither, a list of strings.
    const items: ValueShape = spec.items ?? (spec.options ? { type: "enum", options: spec.options } : { type: "string" });
    return leafPaths(items, `${path}[]`);
  }
  return [{ path, type: spec.type, ...(spec.type === "enum" ? { options: spec.options ?? [] } : spec.type === "boolean" ? { options: ["true", "false"] } : {}) }];
}

const isCounted = (leaf: InsightPath) => COUNTED_TYPES.has(leaf.type);
const isNumber = (leaf: InsightPath) => NUMBER_TYPES.has(leaf.type);

/** A list of bare options (or of enum items) reports its options on the variable itself, not as a path inside it. */
const isOptionList = (spec: VariableSpec, leaves: readonly InsightPath[]) => spec.type === "list" && leaves.length === 1 && leaves[0]!.path === `${spec.name}[]`;

// --- The answer -------------------------------------------------------------------------------------------------------

/** Every option of a bounded path with its count (zero where none), then any stored value no option names any more. */
function countsOf(leaf: InsightPath, found: Record<string, number> | undefined): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const option of leaf.options ?? []) counts[option] = found?.[option] ?? 0;
  for (const [value, n] of Object.entries(found ?? {})) counts[value] ??= n;
  return counts;
}

const rate = (part: number, whole: number) => (whole > 0 ? Math.round((part / whole) * 10_000) / 10_000 : 0);
const spreadOf = (spread: NumberSpread | undefined): NumberSpread | null => (spread && spread.count > 0 ? { ...spread, mean: Math.round(spread.mean * 1e6) / 1e6 } : null);

/**
 * At most this many figures in one answer's series: each bucket's call figures and its count of every enum and boolean
 * option. A year of hours for a profile of a few enums is about 100,000; one with hundreds of options is asked for
 * coarser buckets rather than answered with a body of hundreds of megabytes.
 */
export const MAX_SERIES_FIGURES = 500_000;

/** GET /v1/profiles/{name}/insights: a profile's calls over a window, as the JSON shows it. */
export async function profileInsights(store: Pick<InsightsStore, "insightFigures">, profile: InsightsProfile, window: InsightsWindow) {
  const timeZone = profile.timezone ?? "UTC";
  const buckets = bucketsOf(window, timeZone);
  const specs = withDefaults([...profile.variables]);
  const leaves = new Map(specs.map((spec) => [spec.name, leafPaths(spec, spec.name)]));
  const all = [...leaves.values()].flat();
  const seriesPaths = specs.filter((spec) => COUNTED_TYPES.has(spec.type)).map((spec) => spec.name);
  const perBucket = 6 + seriesPaths.reduce((sum, path) => sum + (leaves.get(path)![0]!.options?.length ?? 0), 0);
  if (buckets.length * perBucket > MAX_SERIES_FIGURES) {
    const size = (buckets.length * perBucket).toLocaleString("en-US");
    throw new InvalidRequestError(
      `${buckets.length.toLocaleString("en-US")} ${window.bucket} buckets of ${perBucket} figures each (calls, states, cost, and every enum and boolean option) is ${size} figures, over ${MAX_SERIES_FIGURES.toLocaleString("en-US")}: ask for longer buckets or a shorter window`,
      [{ path: "bucket", message: `too many figures for this window: ${size} (at most ${MAX_SERIES_FIGURES.toLocaleString("en-US")})` }],
      "too_many_buckets",
    );
  }
  const lowConfidenceBelow = profile.review.minConfidence ?? DEFAULT_MIN_CONFIDENCE;
  const figures = await store.insightFigures({
    profile: profile.name,
    buckets,
    kindPaths: [...new Set([...specs.map((spec) => spec.name), ...all.map((leaf) => leaf.path)])],
    countedPaths: all.filter(isCounted).map((leaf) => leaf.path),
    seriesPaths,
    numberPaths: all.filter(isNumber).map((leaf) => leaf.path),
    lowConfidenceBelow,
    bins: HISTOGRAM_BINS,
  });
  const rowsOf = (path: string) => Object.values(figures.kinds.get(path) ?? {}).reduce((sum, n) => sum + n, 0);
  const extracted = Math.max(0, ...specs.map((spec) => rowsOf(spec.name)));
  const variables: Record<string, VariableInsight> = {};
  for (const spec of specs) {
    const base = rowsOf(spec.name);
    const entry: VariableInsight = {
      type: spec.type,
      null_rate: rate(figures.kinds.get(spec.name)?.null ?? 0, base),
      low_confidence_rate: rate(figures.lowConfidence.get(spec.name) ?? 0, base),
    };
    const own = leaves.get(spec.name)!;
    if (own.length === 1 && own[0]!.path === spec.name) {
      if (isCounted(own[0]!)) entry.counts = countsOf(own[0]!, figures.counts.get(spec.name));
      if (isNumber(own[0]!)) entry.numbers = spreadOf(figures.numbers.get(spec.name));
    } else if (isOptionList(spec, own) && isCounted(own[0]!)) {
      entry.counts = countsOf(own[0]!, figures.counts.get(own[0]!.path));
    } else {
      entry.paths = Object.fromEntries(own.map((leaf) => [leaf.path, leafView(leaf, figures)]));
    }
    variables[spec.name] = entry;
  }
  return {
    profile: profile.name,
    timezone: timeZone,
    since: new Date(window.since).toISOString(),
    until: new Date(window.until).toISOString(),
    bucket: window.bucket,
    calls: [...figures.buckets.values()].reduce((sum, bucket) => sum + bucket.calls, 0),
    extracted,
    low_confidence_below: lowConfidenceBelow,
    variables,
    series: buckets.map((bucket) => seriesEntry(bucket, figures, seriesPaths, leaves)),
  };
}

/** One variable's figures in the answer. */
export interface VariableInsight {
  type: ValueShape["type"];
  null_rate: number;
  low_confidence_rate: number;
  counts?: Record<string, number>;
  numbers?: NumberSpread | null;
  paths?: Record<string, LeafInsight>;
}

export interface LeafInsight {
  type: ValueShape["type"];
  values: number;
  nulls: number;
  counts?: Record<string, number>;
  numbers?: NumberSpread | null;
}

function leafView(leaf: InsightPath, figures: InsightFigures): LeafInsight {
  const kinds = figures.kinds.get(leaf.path) ?? {};
  const values = Object.entries(kinds).reduce((sum, [kind, n]) => (kind === "null" ? sum : sum + n), 0);
  return {
    type: leaf.type,
    values,
    nulls: kinds.null ?? 0,
    ...(isCounted(leaf) ? { counts: countsOf(leaf, figures.counts.get(leaf.path)) } : {}),
    ...(isNumber(leaf) ? { numbers: spreadOf(figures.numbers.get(leaf.path)) } : {}),
  };
}

const FAILED_STATES: readonly CallState[] = ["extraction_failed", "delivery_failed"];

function seriesEntry(bucket: InsightBucket, figures: InsightFigures, seriesPaths: readonly string[], leaves: Map<string, InsightPath[]>) {
  const found = figures.buckets.get(bucket.label)!;
  const state = (name: CallState) => found.states[name] ?? 0;
  return {
    bucket: bucket.label,
    start: new Date(bucket.start).toISOString(),
    calls: found.calls,
    delivered: state("delivered"),
    skipped: state("skipped"),
    needs_review: state("needs_review"),
    failed: FAILED_STATES.reduce((sum, name) => sum + state(name), 0),
    // Null when every extraction of the bucket ran on a model the price table does not know.
    cost_usd: found.extractions > 0 && found.priced === 0 ? null : roundUsd(found.cost_usd),
    variables: Object.fromEntries(seriesPaths.map((path) => [path, countsOf(leaves.get(path)![0]!, found.values[path])])),
  };
}

// --- The calls list's `where` -----------------------------------------------------------------------------------------

/** At most this many `where` conditions on one list request. */
export const MAX_WHERE = 10;

/**
 * `where=variable:value` conditions as the store matches them, checked against the profile's variables: the path must
 * name a variable or a leaf inside one (`items[].size`), a list of options is matched on its items (`tags:urgent`), a
 * number is compared as JSON writes it (`budget:1200.0` finds 1200), and `null` finds calls where the value is null.
 * Throws InvalidRequestError naming `where` for a path the profile does not have.
 */
export function whereConditions(raw: readonly string[], variables: readonly VariableSpec[], invalid: (message: string) => Error): ValueCondition[] {
  const specs = withDefaults([...variables]);
  const known = new Map<string, InsightPath>();
  for (const spec of specs) {
    known.set(spec.name, { path: spec.name, type: spec.type });
    for (const leaf of leafPaths(spec, spec.name)) known.set(leaf.path, leaf);
  }
  const conditions = raw.map((condition) => {
    const colon = condition.indexOf(":");
    if (colon <= 0) throw invalid(`"${condition}" is not variable:value (e.g. where=service_type:repair)`);
    let path = condition.slice(0, colon).trim();
    const text = condition.slice(colon + 1);
    if (!known.has(path)) throw invalid(`"${path}" is not a variable of this profile, nor a path inside one (e.g. items[].size)`);
    if (text === "null") return { path, value: null };
    // A list is matched on its items: `tags:urgent` is `tags[]:urgent`.
    if (known.get(path)!.type === "list" && known.has(`${path}[]`)) path = `${path}[]`;
    const leaf = known.get(path)!;
    if (NUMBER_TYPES.has(leaf.type)) {
      const number = Number(text);
      if (text.trim() === "" || !Number.isFinite(number)) throw invalid(`"${path}" is a number: "${text}" is not one`);
      return { path, value: String(number) };
    }
    return { path, value: text };
  });
  // One order, so a cursor's filters fingerprint the same whatever order the conditions came in.
  return [...new Map(conditions.map((condition) => [JSON.stringify(condition), condition])).values()].sort((a, b) =>
    JSON.stringify(a) < JSON.stringify(b) ? -1 : 1,
  );
}
