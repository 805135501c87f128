// The SQL both call store adapters run, written once: `placeholder(n)` names an engine's n-th parameter. In the
// `calls` table, the `state` column holds the stage and `public_state` the state (rows.ts gives them those names).
import type { CallState } from "../fates.js";
import type { BackfillFilter, CallListQuery } from "./port.js";
import { SUMMARY_COLUMNS } from "./rows.js";

/** A call that may be replayed: out of extraction attempts, or routed with an expression that failed on it. */
export const REPLAYABLE_CALL = `(state = 'extraction_failed' OR (state = 'extracted' AND EXISTS (
  SELECT 1 FROM call_fates WHERE call_fates.call_id = calls.id AND fate = 'skipped' AND reason_code IN ('when_failed', 'transform_failed'))))`;

/** Finished: skipped, or extracted and routed with every expression working (its deliveries are the outbox's to keep). */
export const FINISHED_CALL = `(state = 'skipped' OR (state = 'extracted' AND NOT EXISTS (
  SELECT 1 FROM call_fates WHERE call_fates.call_id = calls.id AND fate = 'skipped' AND reason_code IN ('when_failed', 'transform_failed'))))`;

/**
 * The `calls` query of a list page, for either engine (`placeholder(n)` names its n-th parameter). Only the filters
 * given become conditions, so each query can use the index that fits it: (public_state | profile | source, created_at,
 * id), external_id, or the fates' (destination, call_id). Several states are one index range each, every range read
 * in order and cut at the page size, then merged: a page never sorts every call in a common state.
 */
export function listCallsSql(query: CallListQuery, placeholder: (n: number) => string): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const p = (value: unknown) => {
    params.push(value);
    return placeholder(params.length);
  };
  const page = (state: CallState | undefined) => {
    const where: string[] = [];
    if (state !== undefined) where.push(`public_state = ${p(state)}`);
    if (query.profile !== undefined) where.push(`profile = ${p(query.profile)}`);
    if (query.profiles !== undefined) where.push(`profile IN (${query.profiles.map((profile) => p(profile)).join(", ")})`);
    if (query.source !== undefined) where.push(`source = ${p(query.source)}`);
    if (query.externalId !== undefined) where.push(`external_id = ${p(query.externalId)}`);
    if (query.since !== undefined) where.push(`created_at >= ${p(query.since)}`);
    if (query.until !== undefined) where.push(`created_at < ${p(query.until)}`);
    if (query.destination !== undefined) {
      where.push(`EXISTS (SELECT 1 FROM call_fates WHERE call_fates.call_id = calls.id AND call_fates.destination = ${p(query.destination)})`);
    }
    for (const condition of query.where ?? []) {
      // Placeholders in the order they are written: SQLite's are positional.
      const path = p(condition.path);
      const value = condition.value === null ? "kind = 'null'" : `value = ${p(condition.value)}`;
      where.push(`EXISTS (SELECT 1 FROM call_values WHERE call_values.call_id = calls.id AND path = ${path} AND ${value})`);
    }
    if (query.after !== undefined) where.push(`(created_at, id) < (${p(query.after.created_at)}, ${p(query.after.id)})`);
    const filter = where.length > 0 ? `WHERE ${where.join(" AND ")}` : "";
    return `SELECT ${SUMMARY_COLUMNS} FROM calls ${filter} ORDER BY created_at DESC, id DESC LIMIT ${p(query.limit)}`;
  };
  const states = query.states ?? [];
  if (states.length <= 1) return { sql: page(states[0]), params };
  const ranges = states.map((state, n) => `SELECT * FROM (${page(state)}) AS range_${n}`).join(" UNION ALL ");
  return { sql: `SELECT * FROM (${ranges}) AS ranges ORDER BY created_at DESC, id DESC LIMIT ${p(query.limit)}`, params };
}

/**
 * The condition on `calls` of a backfill filter, for either engine: `placeholder(n)` names the n-th parameter (counted
 * from `params`' current length), `version` is the engine's expression for an extraction's profile version.
 */
export function backfillFilterSql(filter: BackfillFilter, params: unknown[], placeholder: (n: number) => string, version: string): string {
  const p = (value: unknown) => {
    params.push(value);
    return placeholder(params.length);
  };
  const where = [`profile = ${p(filter.profile)}`, "state = 'extracted'", "extraction IS NOT NULL"];
  if (filter.since !== undefined) where.push(`created_at >= ${p(filter.since)}`);
  if (filter.until !== undefined) where.push(`created_at < ${p(filter.until)}`);
  if (filter.states && filter.states.length > 0) where.push(`public_state IN (${filter.states.map(p).join(", ")})`);
  if (filter.outdatedFrom !== undefined) where.push(`COALESCE(${version}, '') <> ${p(filter.outdatedFrom)}`);
  return where.join(" AND ");
}

/**
 * Calls with a current extraction per (profile, version), for either engine: `version` is the engine's expression for
 * an extraction's profile version. One profile reads the (profile, created_at, id) index's range; all of them, every call.
 */
export function profileVersionCountsSql(profile: string | undefined, placeholder: (n: number) => string, version: string): { sql: string; params: unknown[] } {
  const where = ["extraction IS NOT NULL", ...(profile === undefined ? [] : [`profile = ${placeholder(1)}`])];
  return {
    sql: `SELECT profile, ${version} AS version, CAST(COUNT(*) AS INTEGER) AS calls FROM calls WHERE ${where.join(" AND ")} GROUP BY profile, ${version} ORDER BY profile, calls DESC`,
    params: profile === undefined ? [] : [profile],
  };
}
