// A call's value rows (../values.ts) written on each engine: replaced whole, in the transaction that changes the call's
// extraction or its reviewer's decision, and filled by a migration step for calls stored before the table existed.
import type Database from "better-sqlite3";
import type pg from "pg";
import { restored, restoredRow, storable, storableOrNull } from "../../db/postgres.js";
import { valueRowsOf, type ValueRow } from "./value-rows.js";
import type { CallExtraction, CallReview } from "./port.js";

/** The call a set of rows belongs to: its profile and arrival are kept on each row, so insights never join `calls`. */
export interface ValuesOwner {
  id: string;
  profile: string;
  created_at: number;
}

/** What the fill reads of a stored call: its extraction and review as the JSON text the store keeps. */
export interface StoredValuesSource extends ValuesOwner {
  extraction: string | null;
  reviewed: string | null;
}

/** The fill reads calls in pages of this many: memory stays flat whatever the number of calls. */
const FILL_PAGE = 500;

/** A stored call (its JSON as JSON.stringify wrote it) with the rows of its values, for replaceValuesPostgres. */
export function storedValues(source: StoredValuesSource): { owner: ValuesOwner; rows: ValueRow[] } {
  return { owner: { id: source.id, profile: source.profile, created_at: Number(source.created_at) }, rows: storedRows(source) };
}

/** The rows of a stored call, or none when its JSON cannot be read (a call the fill cannot read is left without rows). */
function storedRows(source: StoredValuesSource): ValueRow[] {
  if (source.extraction === null) return [];
  try {
    const extraction = JSON.parse(source.extraction) as CallExtraction | null;
    const reviewed = source.reviewed === null ? null : (JSON.parse(source.reviewed) as CallReview | null);
    return extraction && typeof extraction === "object" ? valueRowsOf(extraction, reviewed) : [];
  } catch {
    return [];
  }
}

const INSERT_SQLITE = `INSERT INTO call_values (call_id, profile, created_at, variable, path, kind, value, num, confidence, corrected)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/** SQLite: call `owner`'s rows become `rows`, inside the caller's transaction (`prepare` caches statements). */
export function replaceValuesSqlite(prepare: (sql: string) => Database.Statement, owner: ValuesOwner, rows: readonly ValueRow[]): void {
  prepare("DELETE FROM call_values WHERE call_id = ?").run(owner.id);
  const insert = prepare(INSERT_SQLITE);
  for (const row of rows) {
    insert.run(owner.id, owner.profile, owner.created_at, row.variable, row.path, row.kind, row.value, row.num, row.confidence, row.corrected ? 1 : 0);
  }
}

/** SQLite's migration step: the rows of every call stored with an extraction, page by page. */
export function fillCallValuesSqlite(db: Database.Database): void {
  const statements = new Map<string, Database.Statement>();
  const prepare = (sql: string) => statements.get(sql) ?? statements.set(sql, db.prepare(sql)).get(sql)!;
  const page = db.prepare<[string, number], StoredValuesSource>(
    "SELECT id, profile, created_at, extraction, reviewed FROM calls WHERE extraction IS NOT NULL AND id > ? ORDER BY id LIMIT ?",
  );
  for (let after = ""; ; ) {
    const calls = page.all(after, FILL_PAGE);
    for (const call of calls) replaceValuesSqlite(prepare, call, storedRows(call));
    if (calls.length < FILL_PAGE) return;
    after = calls.at(-1)!.id;
  }
}

/** PostgreSQL: each call's rows become its `rows`, in one statement, inside the caller's transaction. */
export async function replaceValuesPostgres(client: pg.PoolClient, calls: readonly { owner: ValuesOwner; rows: readonly ValueRow[] }[]): Promise<void> {
  if (calls.length === 0) return;
  await client.query("DELETE FROM call_values WHERE call_id = ANY($1::text[])", [calls.map((call) => call.owner.id)]);
  const flat = calls.flatMap(({ owner, rows }) => rows.map((row) => ({ owner, row })));
  if (flat.length === 0) return;
  const column = <T>(pick: (entry: (typeof flat)[number]) => T) => flat.map(pick);
  await client.query(
    `INSERT INTO call_values (call_id, profile, created_at, variable, path, kind, value, num, confidence, corrected)
     SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::float8[], $9::float8[], $10::bool[])`,
    [
      column(({ owner }) => owner.id),
      column(({ owner }) => owner.profile),
      column(({ owner }) => owner.created_at),
      column(({ row }) => storable(row.variable)),
      column(({ row }) => storable(row.path)),
      column(({ row }) => row.kind),
      column(({ row }) => storableOrNull(row.value)),
      column(({ row }) => row.num),
      column(({ row }) => row.confidence),
      column(({ row }) => row.corrected),
    ],
  );
}

/** PostgreSQL's migration step: the rows of every call stored with an extraction, page by page. */
export async function fillCallValuesPostgres(client: pg.PoolClient): Promise<void> {
  for (let after = ""; ; ) {
    const { rows: calls } = await client.query<StoredValuesSource>(
      `SELECT id, profile, created_at::float8 AS created_at, extraction, reviewed FROM calls
       WHERE extraction IS NOT NULL AND id > $1 ORDER BY id LIMIT $2`,
      [after, FILL_PAGE],
    );
    const restoredCalls = calls.map((call) => restoredRow(call, { json: ["extraction", "reviewed"] }));
    await replaceValuesPostgres(client, restoredCalls.map(storedValues));
    if (calls.length < FILL_PAGE) return;
    after = calls.at(-1)!.id;
  }
}

/** A value as PostgreSQL gives it back. */
export const restoredValue = (value: string | null): string | null => (value === null ? null : restored(value));
