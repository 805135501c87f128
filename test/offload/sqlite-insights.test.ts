// Insights on SQLite read on the offload pool's worker thread (better-sqlite3 is synchronous: in-process, a year of
// calls would hold the HTTP thread's event loop for the whole query): the same figures as the store reads in-process,
// and the event loop keeps turning while they are read.
import Database from "better-sqlite3";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { profileInsights, type InsightsWindow } from "../../src/calls/insights.js";
import type { InsightsQuery } from "../../src/calls/store/insights-sql.js";
import type { CallExtraction } from "../../src/calls/store/port.js";
import { SqliteCallStore, type SqliteInsightsReader } from "../../src/calls/store/sqlite.js";
import { createOffload, type Offload } from "../../src/offload/index.js";
import { UNKNOWN_FACTS } from "../fixtures/calls.js";
import { DENTAL } from "../fixtures/insights.js";

const DAY = 86_400_000;
/** The fixture's day of calls, copied onto each day of a year: a few thousand calls, tens of thousands of value rows. */
const DAYS = 365;

const extraction = (values: Record<string, unknown>, extra: Partial<CallExtraction> = {}): CallExtraction => ({
  extracted_variables: values,
  meta: { model: "gpt-4o-mini", ...(extra.meta ?? {}) },
  ...extra,
});

/** A day of calls through the store's own writes: every kind of value, low confidence, a re-extraction, a correction. */
async function seedDay(store: SqliteCallStore, clock: { now(): number; advance(ms: number): void }): Promise<void> {
  const accept = async (name: string) =>
    (await store.accept({ profile: "dental", source: "autocalls", call: UNKNOWN_FACTS, externalId: name, payload: { name }, state: "accepted" })).call.id;
  const services = ["cleaning", "repair", "install", null] as const;
  for (let n = 0; n < 12; n++) {
    clock.advance(3_600_000);
    const id = await accept(`c${n}`);
    const values = {
      service_type: services[n % 4],
      booked: n % 3 === 0,
      budget: n % 5 === 0 ? null : 100 * (n + 1),
      items: Array.from({ length: n % 3 }, (_, i) => ({ product: `p${i}`, size: i % 2 ? "s" : "m", quantity: i + n })),
      tags: n % 2 ? ["urgent"] : ["new", "urgent"],
    };
    const confidence = { service_type: n % 4 === 1 ? 0.3 : 0.9, budget: n % 6 === 0 ? 0.2 : 0.8 };
    if (n % 5 === 4) {
      await store.markHeld(id, extraction(values, { confidence, meta: { model: "unknown-model" } }));
      await store.decideReview(id, { approved: true, at: new Date(clock.now()).toISOString(), corrected: ["budget"], values: { budget: 777 }, reason: null });
    } else {
      await store.markExtracted(id, extraction(values, { confidence, meta: { cost_usd: 0.001 * (n + 1) } }), []);
    }
    if (n % 4 === 3) {
      await store.recordReextraction(id, { extraction: extraction({ ...values, service_type: "install" }, { meta: { cost_usd: 0.02 } }), trigger: "backfill", event: null, fates: [] });
    }
  }
}

/** Copies every call of the file (with its extractions and value rows) onto each of the `days - 1` days after it. */
function copyOntoDays(file: string, days: number): void {
  const db = new Database(file);
  try {
    db.pragma("synchronous = OFF");
    const copy = (table: string, idColumns: readonly string[]) => {
      const columns = (db.pragma(`table_info(${table})`) as { name: string }[]).map((column) => column.name);
      const select = columns.map((column) =>
        idColumns.includes(column) ? `${column} || '-' || n.i` : column === "created_at" ? `created_at + n.i * ${DAY}` : column,
      );
      db.prepare(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${days - 1})
         INSERT INTO ${table} (${columns.join(", ")}) SELECT ${select.join(", ")} FROM ${table} CROSS JOIN n`,
      ).run();
    };
    db.transaction(() => {
      copy("calls", ["id", "external_id"]);
      copy("call_extractions", ["call_id"]);
      copy("call_values", ["call_id"]);
    })();
  } finally {
    db.close();
  }
}

describe("insights on SQLite, read on the offload pool", () => {
  let dir: string;
  let file: string;
  let offload: Offload;
  let inProcess: SqliteCallStore;
  let offThread: SqliteCallStore;
  const read: { file: string; query: InsightsQuery }[] = [];
  let since: number;
  const year = (): InsightsWindow => ({ since, until: since + DAYS * DAY, bucket: "hour" });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "debrief-offload-insights-"));
    file = join(dir, "calls.sqlite");
    let current = Math.floor(Date.now() / DAY) * DAY - 400 * DAY;
    since = current;
    const clock = { now: () => current, advance: (ms: number) => void (current += ms) };
    const seeding = SqliteCallStore.open(file, clock.now);
    await seedDay(seeding, clock);
    await seeding.close();
    copyOntoDays(file, DAYS);
    offload = createOffload({ maxThreads: 1 });
    const reader: SqliteInsightsReader = (at, query) => {
      read.push({ file: at, query });
      return offload.sqliteInsights(at, query);
    };
    inProcess = SqliteCallStore.open(file);
    offThread = SqliteCallStore.open(file, { insights: reader });
  }, 60_000);

  afterAll(async () => {
    await inProcess?.close();
    await offThread?.close();
    await offload?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("answers from the worker thread what the store reads in-process", async () => {
    const threadsBefore = offload.threads;
    const answer = await profileInsights(offThread, DENTAL, year());
    expect(read).toHaveLength(1);
    expect(read[0]!.file).toBe(file);
    expect(threadsBefore).toBe(0);
    expect(offload.threads).toBe(1);
    expect(answer).toEqual(await profileInsights(inProcess, DENTAL, year()));
    expect(answer.calls).toBe(12 * DAYS);

    // The figures themselves, Maps included, survive the trip between threads.
    const query = read[0]!.query;
    const figures = await offThread.insightFigures(query);
    expect(figures.buckets).toBeInstanceOf(Map);
    expect(figures).toEqual(await inProcess.insightFigures(query));
    expect(read).toHaveLength(2);
  });

  it("keeps the event loop turning while a year-long query is read, which in-process it cannot", async () => {
    if (read.length === 0) await profileInsights(offThread, DENTAL, year());
    const query = read[0]!.query;
    /** Counts the event loop's turns (setImmediate callbacks) while `work` is in flight. */
    const turnsDuring = async (work: () => Promise<unknown>) => {
      let turns = 0;
      let running = true;
      const turn = () => {
        turns++;
        if (running) setImmediate(turn);
      };
      setImmediate(turn);
      await work();
      running = false;
      return turns;
    };
    // In-process, the whole query runs synchronously: it resolves before the loop turns once.
    expect(await turnsDuring(() => inProcess.insightFigures(query))).toBe(0);
    expect(await turnsDuring(() => offThread.insightFigures(query))).toBeGreaterThan(0);
  });

  it("reads an in-memory database in-process: no other thread can open it", async () => {
    const reads: string[] = [];
    const memory = SqliteCallStore.open(":memory:", {
      insights: async (at) => {
        reads.push(at);
        throw new Error("an in-memory database cannot be read elsewhere");
      },
    });
    try {
      await memory.accept({ profile: "dental", source: "autocalls", call: UNKNOWN_FACTS, externalId: "m", payload: {}, state: "accepted" });
      const answer = await profileInsights(memory, DENTAL, { since: Date.now() - DAY, until: Date.now() + DAY, bucket: "day" });
      expect(answer.calls).toBe(1);
      expect(reads).toEqual([]);
    } finally {
      await memory.close();
    }
  });
});
