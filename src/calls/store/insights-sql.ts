// What insights read (issue 27), for either engine: a profile's calls per bucket and state, what each bucket's
// extractions cost, and the value rows (values.ts) counted per path and value. Every query reads indexes only (the
// calls store's migration step 10 says which): the narrow `call_values` table, never an extraction's JSON. A year of
// 100,000 calls answers in about 0.4 s on SQLite and 0.5 s on PostgreSQL (bench section 12).
import type { CallState } from "../fates.js";

/** One bucket of the window: [start, end) in ms since the epoch, named as the profile's calendar names it. */
export interface InsightBucket {
  label: string;
  start: number;
  end: number;
}

export interface InsightsQuery {
  profile: string;
  /** Consecutive, covering the window. */
  buckets: readonly InsightBucket[];
  /** Paths whose rows are counted per kind (null, string…): each variable and each leaf inside one. */
  kindPaths: readonly string[];
  /** Paths whose values are counted one by one (enum, boolean, a list's options): bounded sets. */
  countedPaths: readonly string[];
  /** Of those, the ones counted per bucket as well. */
  seriesPaths: readonly string[];
  /** Paths of numbers: their spread. */
  numberPaths: readonly string[];
  /** A value under this confidence is low; null: none is. */
  lowConfidenceBelow: number | null;
  /** Bins of each number's histogram. */
  bins: number;
}

export interface NumberSpread {
  count: number;
  min: number;
  max: number;
  mean: number;
  p50: number;
  p90: number;
  histogram: { from: number; to: number; count: number }[];
}

export interface BucketFigures {
  calls: number;
  states: Partial<Record<CallState, number>>;
  /** The extractions made in the bucket (backfills included), and what those with a known price cost. */
  extractions: number;
  priced: number;
  cost_usd: number;
  /** seriesPaths' counts: path → value → rows. */
  values: Record<string, Record<string, number>>;
}

export interface InsightFigures {
  /** By bucket label. */
  buckets: Map<string, BucketFigures>;
  /** Rows per path and kind ("null", "string"…): a top-level variable has one per extracted call. */
  kinds: Map<string, Record<string, number>>;
  /** countedPaths' rows per value. */
  counts: Map<string, Record<string, number>>;
  numbers: Map<string, NumberSpread>;
  /** Per top-level variable: the calls where it, or a value inside it, is under the confidence threshold. */
  lowConfidence: Map<string, number>;
}

/** The store's side of insights; every call store adapter implements it. */
export interface InsightsStore {
  insightFigures(query: InsightsQuery): Promise<InsightFigures>;
  /** What a profile's extractions made since `since` (ms since the epoch) cost in USD, those of unknown price left out. */
  spentSince(profile: string, since: number): Promise<number>;
}

/**
 * How an engine puts rows in buckets: `join`, a table of the buckets joined to the rows, each bucket reading its own
 * index range (SQLite); or `search`, each row of the window's one range given its bucket by a binary search over the
 * buckets' starts (PostgreSQL's width_bucket), which keeps the planner's estimates (and so its choices) exact.
 */
export type BucketStyle =
  | { kind: "join"; buckets(parameter: string): string }
  | { kind: "search"; bucketOf(column: string, startsParameter: string): string };

/** How an engine spells what differs. */
export interface InsightsDialect {
  placeholder(n: number): string;
  readonly bucketing: BucketStyle;
  /** A true boolean column value. */
  readonly notCorrected: string;
}

export const SQLITE_INSIGHTS: InsightsDialect = {
  placeholder: () => "?",
  bucketing: {
    kind: "join",
    // (label, lo, hi) from one parameter holding the buckets as JSON [{label, lo, hi}].
    buckets: (parameter) =>
      `SELECT json_extract(value, '$.label') AS label, json_extract(value, '$.lo') AS lo, json_extract(value, '$.hi') AS hi FROM json_each(${parameter})`,
  },
  notCorrected: "corrected = 0",
};

export const POSTGRES_INSIGHTS: InsightsDialect = {
  placeholder: (n) => `$${n}`,
  // 1 for the first bucket's start up to the second's, … n from the last one's start (the window ends it).
  bucketing: { kind: "search", bucketOf: (column, starts) => `width_bucket(${column}, ${starts}::bigint[])` },
  notCorrected: "NOT corrected",
};

/** Runs one query: rows as plain objects (numbers may come back as strings from PostgreSQL: `Number()` them). */
export type RunQuery = (sql: string, params: unknown[]) => Promise<Record<string, unknown>[]>;

/** Builds a query's parameters as its placeholders are written. */
function parameters(dialect: InsightsDialect) {
  const params: unknown[] = [];
  const p = (value: unknown) => {
    params.push(value);
    return dialect.placeholder(params.length);
  };
  return { params, p };
}

const num = (value: unknown): number => Number(value ?? 0);

/** Every figure insights need, in a handful of indexed queries. `restore` gives back text PostgreSQL stored escaped. */
export async function insightFigures(
  run: RunQuery,
  dialect: InsightsDialect,
  query: InsightsQuery,
  restore: (text: string) => string = (text) => text,
): Promise<InsightFigures> {
  const since = query.buckets[0]?.start ?? 0;
  const until = query.buckets.at(-1)?.end ?? 0;
  const bucketJson = JSON.stringify(query.buckets.map((bucket) => ({ label: bucket.label, lo: bucket.start, hi: bucket.end })));
  const buckets = new Map<string, BucketFigures>(
    query.buckets.map((bucket) => [bucket.label, { calls: 0, states: {}, extractions: 0, priced: 0, cost_usd: 0, values: {} }]),
  );
  const window = (p: (value: unknown) => string, table = "") => `${table}profile = ${p(query.profile)} AND ${table}created_at >= ${p(since)} AND ${table}created_at < ${p(until)}`;
  const inList = (p: (value: unknown) => string, paths: readonly string[]) => paths.map((path) => p(path)).join(", ");

  /**
   * The pieces of a query that puts each row of `alias` (its `created_at`) in its bucket: `head` opens the query,
   * `from` comes before the table, `key` names the bucket (see `labelOf`), `range` limits the rows to it. Called first,
   * so that its placeholders come first (SQLite's are positional).
   */
  const bucketed = (p: (value: unknown) => string, alias: string) => {
    const style = dialect.bucketing;
    if (style.kind === "join") {
      return { head: `WITH b AS (${style.buckets(p(bucketJson))})`, from: "b CROSS JOIN", key: "b.label", range: `${alias}.created_at >= b.lo AND ${alias}.created_at < b.hi` };
    }
    const key = style.bucketOf(`${alias}.created_at`, p(query.buckets.map((bucket) => bucket.start)));
    return { head: "", from: "", key, range: `${alias}.created_at >= ${p(since)} AND ${alias}.created_at < ${p(until)}` };
  };
  /** The bucket a row's key names: a label (join), or the 1-based index of the bucket (search). */
  const labelOf = (key: unknown): string => (dialect.bucketing.kind === "join" ? String(key) : query.buckets[num(key) - 1]!.label);

  {
    const { params, p } = parameters(dialect);
    const b = bucketed(p, "c");
    const sql = `${b.head}
      SELECT ${b.key} AS label, c.public_state AS state, count(*) AS n FROM ${b.from} calls c
      WHERE c.profile = ${p(query.profile)} AND ${b.range}
      GROUP BY 1, c.public_state`;
    for (const row of await run(sql, params)) {
      const bucket = buckets.get(labelOf(row.label))!;
      bucket.calls += num(row.n);
      bucket.states[row.state as CallState] = num(row.n);
    }
  }
  {
    // Cost by when the extraction ran (a backfill's spend is that day's), of this profile's calls.
    const { params, p } = parameters(dialect);
    const b = bucketed(p, "e");
    const sql = `${b.head}
      SELECT ${b.key} AS label, count(*) AS n, count(e.cost_usd) AS priced, sum(e.cost_usd) AS cost FROM ${b.from} call_extractions e
      CROSS JOIN calls c WHERE ${b.range} AND c.id = e.call_id AND c.profile = ${p(query.profile)}
      GROUP BY 1`;
    for (const row of await run(sql, params)) {
      const bucket = buckets.get(labelOf(row.label))!;
      bucket.extractions = num(row.n);
      bucket.priced = num(row.priced);
      bucket.cost_usd = num(row.cost);
    }
  }
  // The value rows are read once per path: each query below also counts its paths' rows per kind, so the kinds query
  // reads only the paths no other query reads (free text, containers).
  const kinds = new Map<string, Record<string, number>>();
  const counts = new Map<string, Record<string, number>>();
  const addKind = (path: string, kind: string, n: number) => {
    const own = kinds.get(path) ?? kinds.set(path, {}).get(path)!;
    own[kind] = (own[kind] ?? 0) + n;
  };
  const addCount = (path: string, value: string, n: number) => {
    const own = counts.get(path) ?? counts.set(path, {}).get(path)!;
    own[value] = (own[value] ?? 0) + n;
  };
  const counted = new Set(query.countedPaths);
  const series = query.seriesPaths;
  const bounded = [...new Set([...query.countedPaths, ...series])];
  /** Each series path's values over the window, as stored: what the series counts per bucket. */
  const seriesValues: { path: string; kind: string; value: string }[] = [];
  if (bounded.length > 0) {
    // Read in (path, kind, value) order from the (profile, path, kind, value, created_at…) index, so that SQLite
    // counts without sorting the window's rows.
    const { params, p } = parameters(dialect);
    const sql = `SELECT path, kind, value, count(*) AS n FROM call_values
      WHERE profile = ${p(query.profile)} AND path IN (${inList(p, bounded)}) AND created_at >= ${p(since)} AND created_at < ${p(until)}
      GROUP BY path, kind, value`;
    const seriesSet = new Set(series);
    for (const row of await run(sql, params)) {
      const path = restore(String(row.path));
      addKind(path, String(row.kind), num(row.n));
      if (row.value === null || row.value === undefined) continue;
      if (counted.has(path)) addCount(path, restore(String(row.value)), num(row.n));
      if (seriesSet.has(path)) seriesValues.push({ path: String(row.path), kind: String(row.kind), value: String(row.value) });
    }
  }
  if (seriesValues.length > 0) {
    const { params, p } = parameters(dialect);
    let sql: string;
    if (dialect.bucketing.kind === "join") {
      // Each bucket × each value the window holds: one range of the (profile, path, kind, value, created_at) index,
      // counted in place (no GROUP BY to sort); most are a few entries long.
      const b = bucketed(p, "v");
      const values = p(JSON.stringify(seriesValues));
      sql = `${b.head}, s AS (SELECT json_extract(value, '$.path') AS path, json_extract(value, '$.kind') AS kind, json_extract(value, '$.value') AS value FROM json_each(${values}))
        SELECT * FROM (SELECT ${b.key} AS label, s.path AS path, s.value AS value,
          (SELECT count(*) FROM call_values v WHERE v.profile = ${p(query.profile)} AND v.path = s.path AND v.kind = s.kind AND v.value = s.value AND ${b.range}) AS n
        FROM b CROSS JOIN s) WHERE n > 0`;
    } else {
      const b = bucketed(p, "v");
      sql = `${b.head}
        SELECT ${b.key} AS label, v.path AS path, v.value AS value, count(*) AS n FROM ${b.from} call_values v
        WHERE v.profile = ${p(query.profile)} AND v.path IN (${inList(p, series)}) AND ${b.range} AND v.value IS NOT NULL
        GROUP BY 1, v.path, v.value`;
    }
    for (const row of await run(sql, params)) {
      const path = restore(String(row.path));
      const value = restore(String(row.value));
      const values = buckets.get(labelOf(row.label))!.values;
      (values[path] ??= {})[value] = (values[path]?.[value] ?? 0) + num(row.n);
    }
  }
  const numbers = new Map<string, NumberSpread>();
  if (query.numberPaths.length > 0) {
    // Each distinct number with its count (a number's text is its value: one per number): the spread, both
    // percentiles and the histogram follow from them, without sorting the window's values per figure.
    const { params, p } = parameters(dialect);
    const sql = `SELECT path, kind, value, min(num) AS num, count(*) AS n FROM call_values
      WHERE profile = ${p(query.profile)} AND path IN (${inList(p, query.numberPaths)}) AND created_at >= ${p(since)} AND created_at < ${p(until)}
      GROUP BY path, kind, value`;
    const distinct = new Map<string, { num: number; n: number }[]>();
    for (const row of await run(sql, params)) {
      const path = restore(String(row.path));
      addKind(path, String(row.kind), num(row.n));
      if (row.kind !== "number" || row.num === null || row.num === undefined) continue;
      (distinct.get(path) ?? distinct.set(path, []).get(path)!).push({ num: Number(row.num), n: num(row.n) });
    }
    for (const [path, values] of distinct) numbers.set(path, spreadOf(values.sort((x, y) => x.num - y.num), query.bins));
  }
  const rest = query.kindPaths.filter((path) => !bounded.includes(path) && !query.numberPaths.includes(path));
  if (rest.length > 0) {
    const { params, p } = parameters(dialect);
    const sql = `SELECT path, kind, count(*) AS n FROM call_values
      WHERE profile = ${p(query.profile)} AND path IN (${inList(p, rest)}) AND created_at >= ${p(since)} AND created_at < ${p(until)}
      GROUP BY path, kind`;
    for (const row of await run(sql, params)) addKind(restore(String(row.path)), String(row.kind), num(row.n));
  }
  const lowConfidence = new Map<string, number>();
  if (query.lowConfidenceBelow !== null) {
    const { params, p } = parameters(dialect);
    const sql = `SELECT variable, count(DISTINCT call_id) AS n FROM call_values
      WHERE ${window(p)} AND confidence < ${p(query.lowConfidenceBelow)} AND ${dialect.notCorrected} GROUP BY variable`;
    for (const row of await run(sql, params)) lowConfidence.set(restore(String(row.variable)), num(row.n));
  }
  return { buckets, kinds, counts, numbers, lowConfidence };
}

/**
 * A number path's spread from its distinct values in ascending order, each with its count: count, min, max, mean; the
 * nearest-rank percentiles (the value at rank ceil(fraction × count), one that occurred); and `bins` equal-width bins
 * from min to max (the last one closed; one bin when every value is the same).
 */
export function spreadOf(values: readonly { num: number; n: number }[], binsWanted: number): NumberSpread {
  const count = values.reduce((sum, value) => sum + value.n, 0);
  const min = values[0]!.num;
  const max = values.at(-1)!.num;
  const mean = values.reduce((sum, value) => sum + value.num * value.n, 0) / count;
  const rank = (fraction: number) => {
    const wanted = Math.max(1, Math.ceil(fraction * count));
    let seen = 0;
    for (const value of values) {
      seen += value.n;
      if (seen >= wanted) return value.num;
    }
    return max;
  };
  const bins = max > min ? binsWanted : 1;
  const width = (max - min) / bins;
  const found = new Array<number>(bins).fill(0);
  for (const value of values) {
    // The maximum falls on the last bin's closed end.
    const index = width > 0 ? Math.min(Math.max(Math.floor((value.num - min) / width), 0), bins - 1) : 0;
    found[index]! += value.n;
  }
  const histogram = found.map((n, index) => ({
    from: min + index * width,
    to: index === bins - 1 ? max : min + (index + 1) * width,
    count: n,
  }));
  return { count, min, max, mean, p50: rank(0.5), p90: rank(0.9), histogram };
}
