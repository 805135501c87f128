// What insights read (issue 27), for either engine: a profile's calls per bucket and state, what each bucket's
// extractions cost, and the value rows (values.ts) counted per path and value. Every query reads a range of an index on
// (profile, …, created_at): the narrow `call_values` table, never an extraction's JSON.
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

/** How an engine spells what differs. */
export interface InsightsDialect {
  placeholder(n: number): string;
  /** A table (label, lo, hi) from one parameter holding the buckets as JSON [{label, lo, hi}]. */
  buckets(parameter: string): string;
  /** A true boolean column value. */
  readonly notCorrected: string;
}

export const SQLITE_INSIGHTS: InsightsDialect = {
  placeholder: () => "?",
  buckets: (parameter) =>
    `SELECT json_extract(value, '$.label') AS label, json_extract(value, '$.lo') AS lo, json_extract(value, '$.hi') AS hi FROM json_each(${parameter})`,
  notCorrected: "corrected = 0",
};

export const POSTGRES_INSIGHTS: InsightsDialect = {
  placeholder: (n) => `$${n}`,
  buckets: (parameter) => `SELECT * FROM json_to_recordset(${parameter}::json) AS b(label text, lo bigint, hi bigint)`,
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

  {
    const { params, p } = parameters(dialect);
    const sql = `WITH b AS (${dialect.buckets(p(bucketJson))})
      SELECT b.label AS label, c.public_state AS state, count(*) AS n FROM b
      JOIN calls c ON c.profile = ${p(query.profile)} AND c.created_at >= b.lo AND c.created_at < b.hi
      GROUP BY b.label, c.public_state`;
    for (const row of await run(sql, params)) {
      const bucket = buckets.get(String(row.label))!;
      bucket.calls += num(row.n);
      bucket.states[row.state as CallState] = num(row.n);
    }
  }
  {
    // Cost by when the extraction ran (a backfill's spend is that day's), of this profile's calls.
    const { params, p } = parameters(dialect);
    const sql = `WITH b AS (${dialect.buckets(p(bucketJson))})
      SELECT b.label AS label, count(*) AS n, count(e.cost_usd) AS priced, sum(e.cost_usd) AS cost FROM b
      JOIN call_extractions e ON e.created_at >= b.lo AND e.created_at < b.hi
      JOIN calls c ON c.id = e.call_id AND c.profile = ${p(query.profile)}
      GROUP BY b.label`;
    for (const row of await run(sql, params)) {
      const bucket = buckets.get(String(row.label))!;
      bucket.extractions = num(row.n);
      bucket.priced = num(row.priced);
      bucket.cost_usd = num(row.cost);
    }
  }
  const kinds = new Map<string, Record<string, number>>();
  {
    const { params, p } = parameters(dialect);
    const sql = `SELECT path, kind, count(*) AS n FROM call_values WHERE ${window(p)} GROUP BY path, kind`;
    for (const row of await run(sql, params)) {
      const path = restore(String(row.path));
      (kinds.get(path) ?? kinds.set(path, {}).get(path)!)[String(row.kind)] = num(row.n);
    }
  }
  const counts = new Map<string, Record<string, number>>();
  if (query.countedPaths.length > 0) {
    const { params, p } = parameters(dialect);
    const sql = `SELECT path, value, count(*) AS n FROM call_values
      WHERE profile = ${p(query.profile)} AND path IN (${inList(p, query.countedPaths)}) AND created_at >= ${p(since)} AND created_at < ${p(until)}
      AND value IS NOT NULL GROUP BY path, value`;
    for (const row of await run(sql, params)) {
      const path = restore(String(row.path));
      (counts.get(path) ?? counts.set(path, {}).get(path)!)[restore(String(row.value))] = num(row.n);
    }
  }
  if (query.seriesPaths.length > 0) {
    const { params, p } = parameters(dialect);
    const sql = `WITH b AS (${dialect.buckets(p(bucketJson))})
      SELECT b.label AS label, v.path AS path, v.value AS value, count(*) AS n FROM b
      JOIN call_values v ON v.profile = ${p(query.profile)} AND v.path IN (${inList(p, query.seriesPaths)})
        AND v.created_at >= b.lo AND v.created_at < b.hi AND v.value IS NOT NULL
      GROUP BY b.label, v.path, v.value`;
    for (const row of await run(sql, params)) {
      const values = buckets.get(String(row.label))!.values;
      const path = restore(String(row.path));
      (values[path] ??= {})[restore(String(row.value))] = num(row.n);
    }
  }
  const numbers = new Map<string, NumberSpread>();
  if (query.numberPaths.length > 0) {
    const { params, p } = parameters(dialect);
    const sql = `SELECT path, count(*) AS n, min(num) AS lo, max(num) AS hi, avg(num) AS mean FROM call_values
      WHERE profile = ${p(query.profile)} AND path IN (${inList(p, query.numberPaths)}) AND created_at >= ${p(since)} AND created_at < ${p(until)}
      AND kind = 'number' GROUP BY path`;
    for (const row of await run(sql, params)) {
      const count = num(row.n);
      numbers.set(restore(String(row.path)), { count, min: num(row.lo), max: num(row.hi), mean: num(row.mean), p50: 0, p90: 0, histogram: [] });
    }
    for (const [path, spread] of numbers) {
      spread.p50 = await nearestRank(run, dialect, query, path, spread.count, 0.5, since, until);
      spread.p90 = await nearestRank(run, dialect, query, path, spread.count, 0.9, since, until);
      spread.histogram = await histogram(run, dialect, query, path, spread, since, until);
    }
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
 * The nearest-rank percentile: the value at rank ceil(fraction × count) in ascending order, one that occurred. Read as
 * one row of the sorted window (the engines' own percentile_disc disagree on small counts: SQLite rounds the rank down).
 */
async function nearestRank(run: RunQuery, dialect: InsightsDialect, query: InsightsQuery, path: string, count: number, fraction: number, since: number, until: number) {
  const { params, p } = parameters(dialect);
  const sql = `SELECT num FROM call_values
    WHERE profile = ${p(query.profile)} AND path = ${p(path)} AND created_at >= ${p(since)} AND created_at < ${p(until)} AND kind = 'number'
    ORDER BY num LIMIT 1 OFFSET ${p(Math.max(0, Math.ceil(fraction * count) - 1))}`;
  return num((await run(sql, params))[0]?.num);
}

/** `bins` equal-width bins from min to max (the last one closed); one bin when every value is the same. */
async function histogram(run: RunQuery, dialect: InsightsDialect, query: InsightsQuery, path: string, spread: NumberSpread, since: number, until: number) {
  const bins = spread.max > spread.min ? query.bins : 1;
  const width = (spread.max - spread.min) / bins;
  const { params, p } = parameters(dialect);
  const bin = width > 0 ? `floor((num - ${p(spread.min)}) / ${p(width)})` : "0";
  const sql = `SELECT ${bin} AS bin, count(*) AS n FROM call_values
    WHERE profile = ${p(query.profile)} AND path = ${p(path)} AND created_at >= ${p(since)} AND created_at < ${p(until)} AND kind = 'number'
    GROUP BY 1`;
  // The maximum falls on the last bin's closed end.
  const found = new Map<number, number>();
  for (const row of await run(sql, params)) {
    const index = Math.min(Math.max(num(row.bin), 0), bins - 1);
    found.set(index, (found.get(index) ?? 0) + num(row.n));
  }
  return Array.from({ length: bins }, (_, index) => ({
    from: spread.min + index * width,
    to: index === bins - 1 ? spread.max : spread.min + (index + 1) * width,
    count: found.get(index) ?? 0,
  }));
}
