// Section 12: insights over 100,000 stored calls (issue 27) — GET /v1/profiles/{name}/insights and the calls list's
// `where`, on a SQLite file and on a PostgreSQL database each holding a year of one profile's calls, against the target
// of an answer under 1 s; the service's memory (RSS, V8 heap) before and after, and over 20 repeated year-long calls;
// and whether the event loop stays free meanwhile: /healthz probed every 10 ms while year-long calls run.
//
// The calls are written straight into the store's tables, in big transactions, as the store itself writes them
// (src/calls/store/sqlite.ts and postgres.ts: accept, then markExtracted / markHeld / decideReview /
// recordReextraction): the same columns, the extraction's history row (`historyText`, `extractionCost`), and the value
// rows from `valueRowsOf` written by the store's own `replaceValuesSqlite` / `replaceValuesPostgres`. Needs the
// PostgreSQL at 127.0.0.1:5432 (as the tests do); it creates and drops a database of its own.
import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type Database from "better-sqlite3";
import pg from "pg";
import { createTestDatabase, type TestDatabase } from "../../test/support/postgres.js";
import { CALLS_POSTGRES_MIGRATIONS } from "../../src/calls/store/migrations/postgres.js";
import { CALLS_SQLITE_MIGRATIONS } from "../../src/calls/store/migrations/sqlite.js";
import type { CallExtraction, CallReview } from "../../src/calls/store/port.js";
import { extractionCost, historyText } from "../../src/calls/store/rows.js";
import { valueRowsOf } from "../../src/calls/store/value-rows.js";
import { replaceValuesPostgres, replaceValuesSqlite } from "../../src/calls/store/values-sql.js";
import { migrate, storable, storableJson, storableOrNull } from "../../src/db/postgres.js";
import { openDatabase } from "../../src/db/sqlite.js";
import { dataDir, type BenchContext, type Figure, type SectionResult } from "../lib/context.js";
import { statusKiB, type DebriefProcess } from "../lib/processes.js";
import { summarize, type LatencySummary } from "../lib/stats.js";
import { generateTranscript, seededRandom, type Transcript } from "../lib/transcripts.js";

const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

const DAY_MS = 86_400_000;
/** The seeded year ends at today's UTC midnight: [END - 365 days, END), every call younger than the retention below. */
const END = Math.floor(Date.now() / DAY_MS) * DAY_MS;
/** Past the year: the service's default retention (30 days) would prune eleven months of the calls at start-up. */
const RETENTION = "400d";
const TARGET_MS = 1_000;
const PROFILE = "bench";
/** Another profile's calls in the same tables (a tenth as many): insights must read past them. */
const OTHER_PROFILE = "other";
const TIMEZONE = "America/New_York";

const SERVICES = ["cleaning", "repair", "install", "inspection"] as const;
const PRODUCTS = ["filter", "thermostat", "compressor", "duct"] as const;
const VARIABLES = [
  { name: "service_type", type: "enum", options: [...SERVICES], description: "What the caller wants" },
  { name: "booked", type: "boolean", description: "Whether an appointment was booked" },
  { name: "budget", type: "number", description: "The caller's budget in USD" },
  {
    name: "items",
    type: "list",
    description: "The parts the caller asked about",
    items: {
      type: "object",
      fields: [
        { name: "product", type: "enum", options: [...PRODUCTS], description: "Which part" },
        { name: "quantity", type: "integer", description: "How many" },
      ],
    },
  },
];

/** The windows timed: each ends at END. */
const QUERIES = [
  { id: "30d_day", label: "30 days by day", days: 30, bucket: "day" },
  { id: "365d_day", label: "365 days by day", days: 365, bucket: "day" },
  { id: "365d_week", label: "365 days by week", days: 365, bucket: "week" },
  { id: "30d_hour", label: "30 days by hour", days: 30, bucket: "hour" },
] as const;
/** The calls list filtered by a value: a common one, and a rare one (a page of 50 reads through many calls). */
/** Probing the event loop: a /healthz every PROBE_INTERVAL_MS, idle for PROBE_IDLE_MS, then while LOADED_CALLS year-long calls run one after another. */
const PROBE_INTERVAL_MS = 10;
const PROBE_IDLE_MS = 2_000;
const LOADED_CALLS = 10;
const WHERE_QUERIES = [
  { id: "where_common", label: "GET /v1/calls?profile=bench&where=service_type:repair", query: `profile=${PROFILE}&where=service_type:repair&limit=50` },
  { id: "where_rare", label: "GET /v1/calls?profile=bench&where=items[].product:compressor&where=booked:false", query: `profile=${PROFILE}&where=${encodeURIComponent("items[].product:compressor")}&where=booked:false&limit=50` },
] as const;

// --- The seeded calls ---------------------------------------------------------------------------------------------------

/** One stored call, as the store's rows hold it once its life is over. */
interface SeedCall {
  id: string;
  profile: string;
  externalId: string;
  createdAt: number;
  updatedAt: number;
  stage: "extracted" | "needs_review" | "skipped" | "extraction_failed";
  state: "delivered" | "delivery_failed" | "needs_review" | "skipped" | "extraction_failed";
  reason: string | null;
  attempts: number;
  lastError: string | null;
  payload: string;
  startedAt: string;
  endedAt: string;
  durationS: number;
  phone: string;
  /** The current extraction (calls.extraction), null for a call whose extraction failed. */
  extraction: CallExtraction | null;
  /** Every extraction (call_extractions), oldest first; the last is the current one. */
  history: { extraction: CallExtraction; trigger: "live" | "backfill"; event: number | null; at: number }[];
  reviewed: CallReview | null;
  fate: { fate: "delivered" | "failed"; reasonCode: string | null; reason: string | null } | null;
}

const pickOf = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

/** The values an extraction gives: some null, the list 0-3 items long. */
function valuesOf(random: () => number): Record<string, unknown> {
  const service = random() < 0.05 ? null : pickOf(random, [...SERVICES, "repair", "repair", "cleaning"]);
  const booked = random() < 0.03 ? null : random() < 0.6;
  const budget = random() < 0.2 ? null : Math.round((100 + random() * random() * 9_900) / 50) * 50;
  const items =
    random() < 0.1
      ? null
      : Array.from({ length: Math.floor(random() * 4) }, () => ({
          product: random() < 0.04 ? null : pickOf(random, PRODUCTS),
          quantity: random() < 0.1 ? null : 1 + Math.floor(random() * 5),
        }));
  return {
    status: booked ?? random() < 0.5,
    summary: `The caller asked about a ${service ?? "service"}${booked ? " and booked a visit" : ""}.`,
    service_type: service,
    booked,
    budget,
    items,
  };
}

/** Each non-null leaf's confidence (as the log-probabilities give it): about 8% of them under 0.5. */
function confidenceOf(values: Record<string, unknown>, random: () => number): Record<string, number> {
  const confidence: Record<string, number> = {};
  const walk = (at: string, value: unknown) => {
    if (value === null || value === undefined) return;
    if (Array.isArray(value)) return value.forEach((item, index) => walk(`${at}[${index}]`, item));
    if (typeof value === "object") return Object.entries(value).forEach(([field, inner]) => walk(`${at}.${field}`, inner));
    confidence[at] = round(random() < 0.08 ? 0.15 + random() * 0.34 : 0.55 + random() * 0.45, 4);
  };
  for (const [name, value] of Object.entries(values)) walk(name, value);
  return confidence;
}

function extractionOf(random: () => number, transcript: Transcript, version: string): CallExtraction {
  const values = valuesOf(random);
  const prompt = 900 + Math.floor(random() * 400);
  const completion = 60 + Math.floor(random() * 40);
  return {
    extracted_variables: values,
    meta: {
      model: "gpt-4o-mini",
      cached: false,
      chunks: 1,
      llm_calls: 1,
      usage: { prompt_tokens: prompt, completion_tokens: completion },
      cost_usd: round((prompt * 0.15 + completion * 0.6) / 1e6, 8),
      latency_ms: 600 + Math.floor(random() * 900),
    },
    turns: transcript.turns.map((turn) => ({ speaker: turn.speaker === "AI" ? "agent" : "customer", text: turn.text })),
    confidence: confidenceOf(values, random),
    profile_version: version,
  };
}

/**
 * Call `index` of a deterministic year: one profile's (`profile`) calls spread evenly at random over the year before END;
 * 85% delivered, 2% delivery failed, 4% held for review, 3% skipped by a reviewer, 1% extraction failed; 3% reviewed
 * and approved with a corrected budget; 6% re-extracted by a backfill later (the latest counts).
 */
function seedCall(index: number, profile: string, transcripts: readonly Transcript[]): SeedCall {
  const random = seededRandom(1_200_000 + index);
  const createdAt = END - 365 * DAY_MS + Math.floor(random() * 365 * DAY_MS);
  const transcript = pickOf(random, transcripts);
  const externalId = `seed-${profile}-${index}`;
  const durationS = 60 + Math.floor(random() * 600);
  const phone = `+1415555${String(1000 + (index % 9000)).padStart(4, "0")}`;
  const startedAt = new Date(createdAt - durationS * 1000 - 2000).toISOString();
  const endedAt = new Date(createdAt - 2000).toISOString();
  const payload = JSON.stringify({ id: externalId, status: "completed", transcript: transcript.text, created_at: endedAt, customer_phone: phone, duration: durationS });
  const roll = random();
  const stage = roll < 0.01 ? "extraction_failed" : roll < 0.05 ? "needs_review" : roll < 0.08 ? "skipped" : "extracted";
  const call: SeedCall = {
    id: `call_${randomUUID().replaceAll("-", "")}`,
    profile,
    externalId,
    createdAt,
    updatedAt: createdAt,
    stage,
    state: stage === "extracted" ? "delivered" : stage,
    reason: null,
    attempts: 1,
    lastError: null,
    payload,
    startedAt,
    endedAt,
    durationS,
    phone,
    extraction: null,
    history: [],
    reviewed: null,
    fate: null,
  };
  if (stage === "extraction_failed") {
    call.attempts = 3;
    call.lastError = "the LLM answered 500 three times";
    call.updatedAt = createdAt + 90_000;
    return call;
  }
  const liveAt = createdAt + 3_000 + Math.floor(random() * 20_000);
  call.history.push({ extraction: extractionOf(random, transcript, "v1"), trigger: "live", event: 1, at: liveAt });
  call.updatedAt = liveAt;
  if (stage === "needs_review") call.reason = "budget: low confidence";
  if (stage === "skipped") {
    call.reviewed = { approved: false, at: new Date(liveAt + 3_600_000).toISOString(), corrected: [], values: {}, reason: "not a real lead" };
    call.reason = "not a real lead";
    call.updatedAt = liveAt + 3_600_000;
  }
  if (stage === "extracted") {
    if (random() < 0.03) {
      // Held, then approved with the budget corrected: routed with the correction (event 1 kept by the routed step).
      call.reviewed = { approved: true, at: new Date(liveAt + 1_800_000).toISOString(), corrected: ["budget"], values: { budget: 500 + 50 * Math.floor(random() * 40) }, reason: null };
      call.updatedAt = liveAt + 1_800_000;
    }
    if (random() < 0.06) {
      // Re-extracted by a backfill, some weeks later (never after END): the latest extraction is the call's.
      const at = Math.min(END - 60_000, liveAt + Math.floor(random() * 60 * DAY_MS));
      call.history.push({ extraction: extractionOf(random, transcript, "v2"), trigger: "backfill", event: 2, at });
      call.updatedAt = Math.max(call.updatedAt, at);
    }
    const failed = random() < 0.02;
    call.state = failed ? "delivery_failed" : "delivered";
    call.fate = failed ? { fate: "failed", reasonCode: "http_status", reason: "the destination answered 503 eight times" } : { fate: "delivered", reasonCode: null, reason: null };
  }
  call.extraction = call.history.at(-1)!.extraction;
  return call;
}

/** The calls of both profiles in the order they are written: `calls` of PROFILE, a tenth as many of OTHER_PROFILE. */
function* seedCalls(calls: number, transcripts: readonly Transcript[]): Generator<SeedCall> {
  for (let index = 0; index < calls; index++) {
    yield seedCall(index, PROFILE, transcripts);
    if (index % 10 === 0) yield seedCall(index, OTHER_PROFILE, transcripts);
  }
}

const deliveryIdOf = (call: SeedCall) => `dlv_${call.id.slice(5)}`;

// --- Writing them -------------------------------------------------------------------------------------------------------

interface SeedSummary {
  calls: number;
  extractions: number;
  valueRows: number;
  seconds: number;
}

/** SQLite: calls.sqlite in `dir`, migrated by the store's own steps, written 5,000 calls per transaction. */
function seedSqlite(file: string, calls: number, transcripts: readonly Transcript[]): SeedSummary {
  const started = performance.now();
  const db: Database.Database = openDatabase(file, { synchronous: "NORMAL", migrations: CALLS_SQLITE_MIGRATIONS });
  // Seeding only: no fsync, a big page cache (the service opens the file with its own settings).
  db.pragma("synchronous = OFF");
  db.pragma("cache_size = -262144");
  const statements = new Map<string, Database.Statement>();
  const prepare = (sql: string) => statements.get(sql) ?? statements.set(sql, db.prepare(sql)).get(sql)!;
  const insertCall = db.prepare(
    `INSERT INTO calls (id, profile, external_id, source, completed, started_at, ended_at, duration_s, customer_phone, agent_phone,
     recording_url, customer_e164, state, public_state, reason, payload, next_attempt_at, created_at, updated_at, attempts, last_error,
     extraction, reviewed) VALUES (?, ?, ?, 'autocalls', 1, ?, ?, ?, ?, NULL, NULL, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?)`,
  );
  const insertExtraction = db.prepare(
    `INSERT INTO call_extractions (call_id, seq, profile_version, extraction, trigger, event, created_at, cost_usd) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertFate = db.prepare(
    `INSERT INTO call_fates (call_id, destination, event, fate, reason_code, reason, delivery_id, version, updated_at) VALUES (?, 'crm', ?, ?, ?, ?, ?, 1, ?)`,
  );
  const summary: SeedSummary = { calls: 0, extractions: 0, valueRows: 0, seconds: 0 };
  const batch: SeedCall[] = [];
  const flush = db.transaction((page: SeedCall[]) => {
    for (const call of page) {
      insertCall.run(
        call.id, call.profile, call.externalId, call.startedAt, call.endedAt, call.durationS, call.phone, call.phone, call.stage, call.state,
        call.reason, call.payload, call.createdAt, call.updatedAt, call.attempts, call.lastError,
        call.extraction ? JSON.stringify(call.extraction) : null, call.reviewed ? JSON.stringify(call.reviewed) : null,
      );
      call.history.forEach((entry, n) => {
        insertExtraction.run(call.id, n + 1, entry.extraction.profile_version ?? null, historyText(entry.extraction), entry.trigger, entry.event, entry.at, extractionCost(entry.extraction));
      });
      const rows = call.extraction ? valueRowsOf(call.extraction, call.reviewed) : [];
      replaceValuesSqlite(prepare, { id: call.id, profile: call.profile, created_at: call.createdAt }, rows);
      for (const [n, entry] of call.history.entries()) {
        if (call.fate && entry.event !== null) insertFate.run(call.id, entry.event, call.fate.fate, call.fate.reasonCode, call.fate.reason, `${deliveryIdOf(call)}_${n}`, entry.at + 500);
      }
      summary.calls++;
      summary.extractions += call.history.length;
      summary.valueRows += rows.length;
    }
  });
  for (const call of seedCalls(calls, transcripts)) {
    batch.push(call);
    if (batch.length === 5_000) flush(batch.splice(0));
  }
  flush(batch.splice(0));
  db.pragma("wal_checkpoint(TRUNCATE)");
  db.close();
  summary.seconds = (performance.now() - started) / 1000;
  return summary;
}

const silentLogger = { info() {}, warn() {}, error() {}, debug() {}, child() { return silentLogger; } };

/** Multi-row INSERT … VALUES of `rows`, in statements of at most ~30,000 parameters. */
async function insertMany(client: pg.PoolClient, table: string, columns: readonly string[], rows: readonly unknown[][]): Promise<void> {
  const perStatement = Math.max(1, Math.floor(30_000 / columns.length));
  for (let from = 0; from < rows.length; from += perStatement) {
    const page = rows.slice(from, from + perStatement);
    const params: unknown[] = [];
    const tuples = page.map((row) => `(${row.map((value) => `$${params.push(value)}`).join(", ")})`);
    await client.query(`INSERT INTO ${table} (${columns.join(", ")}) VALUES ${tuples.join(", ")}`, params);
  }
}

/** PostgreSQL: the store's migrations, then 2,000 calls per transaction, each table in multi-row statements. */
async function seedPostgres(url: string, calls: number, transcripts: readonly Transcript[]): Promise<SeedSummary> {
  const started = performance.now();
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  try {
    await migrate(pool, [CALLS_POSTGRES_MIGRATIONS], silentLogger as never);
    const client = await pool.connect();
    const summary: SeedSummary = { calls: 0, extractions: 0, valueRows: 0, seconds: 0 };
    try {
      const write = async (page: SeedCall[]) => {
        await client.query("BEGIN");
        await insertMany(
          client,
          "calls",
          ["id", "profile", "external_id", "source", "completed", "started_at", "ended_at", "duration_s", "customer_phone", "customer_e164", "state", "public_state", "reason", "payload", "created_at", "updated_at", "attempts", "last_error", "extraction", "reviewed"],
          page.map((call) => [
            call.id, call.profile, storable(call.externalId), "autocalls", true, storable(call.startedAt), storable(call.endedAt), call.durationS, storable(call.phone), call.phone,
            call.stage, call.state, storableOrNull(call.reason), storableJson(call.payload), call.createdAt, call.updatedAt, call.attempts, storableOrNull(call.lastError),
            call.extraction ? storableJson(JSON.stringify(call.extraction)) : null, call.reviewed ? storableJson(JSON.stringify(call.reviewed)) : null,
          ]),
        );
        await insertMany(
          client,
          "call_extractions",
          ["call_id", "seq", "profile_version", "extraction", "trigger", "event", "created_at", "cost_usd"],
          page.flatMap((call) =>
            call.history.map((entry, n) => [call.id, n + 1, entry.extraction.profile_version ?? null, storableJson(historyText(entry.extraction)), entry.trigger, entry.event, entry.at, extractionCost(entry.extraction)]),
          ),
        );
        const withValues = page.map((call) => ({ owner: { id: call.id, profile: call.profile, created_at: call.createdAt }, rows: call.extraction ? valueRowsOf(call.extraction, call.reviewed) : [] }));
        await replaceValuesPostgres(client, withValues);
        await insertMany(
          client,
          "call_fates",
          ["call_id", "destination", "event", "fate", "reason_code", "reason", "delivery_id", "version", "updated_at"],
          page.flatMap((call) =>
            call.fate ? call.history.flatMap((entry, n) => (entry.event === null ? [] : [[call.id, "crm", entry.event, call.fate!.fate, call.fate!.reasonCode, call.fate!.reason, `${deliveryIdOf(call)}_${n}`, 1, entry.at + 500]])) : [],
          ),
        );
        await client.query("COMMIT");
        summary.calls += page.length;
        summary.extractions += page.reduce((sum, call) => sum + call.history.length, 0);
        summary.valueRows += withValues.reduce((sum, call) => sum + call.rows.length, 0);
      };
      const batch: SeedCall[] = [];
      for (const call of seedCalls(calls, transcripts)) {
        batch.push(call);
        if (batch.length === 2_000) await write(batch.splice(0));
      }
      await write(batch.splice(0));
      // What autovacuum does after a bulk insert, done now so that every run sees the same: statistics and the
      // visibility map (index-only scans).
      await client.query("VACUUM ANALYZE");
    } finally {
      client.release();
    }
    summary.seconds = (performance.now() - started) / 1000;
    return summary;
  } finally {
    await pool.end();
  }
}

// --- Measuring ----------------------------------------------------------------------------------------------------------

interface Memory {
  rssMiB: number;
  heapUsedMiB: number | null;
}

async function memoryOf(debrief: DebriefProcess): Promise<Memory> {
  let heapUsedMiB: number | null = null;
  try {
    const text = await (await fetch(`${debrief.url}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
    const heap = /^debrief_nodejs_heap_size_used_bytes (\S+)$/m.exec(text)?.[1];
    if (heap !== undefined) heapUsedMiB = round(Number(heap) / 2 ** 20, 1);
  } catch {
    // no heap figure
  }
  return { rssMiB: round(statusKiB(debrief.pid, "VmRSS") / 1024, 1), heapUsedMiB };
}

async function timedGet(url: string): Promise<{ ms: number; bytes: number; body: Record<string, unknown> }> {
  const started = performance.now();
  const response = await fetch(url, { signal: AbortSignal.timeout(120_000) });
  const text = await response.text();
  const ms = performance.now() - started;
  if (response.status !== 200) throw new Error(`GET ${url} answered ${response.status}: ${text.slice(0, 300)}`);
  return { ms, bytes: Buffer.byteLength(text), body: JSON.parse(text) as Record<string, unknown> };
}

const insightsUrl = (debrief: DebriefProcess, days: number, bucket: string) =>
  `${debrief.url}/v1/profiles/${PROFILE}/insights?since=${new Date(END - days * DAY_MS).toISOString()}&until=${new Date(END).toISOString()}&bucket=${bucket}`;

interface Timing {
  id: string;
  label: string;
  coldMs: number;
  p50: number;
  max: number;
  runs: number;
  bytes: number;
  /** What the answer counted (a check that the seeded calls were read). */
  calls?: number;
  returned?: number;
}

/** /healthz sent every PROBE_INTERVAL_MS while `during` runs, each on its own: a blocked event loop delays every probe sent meanwhile. */
async function probesDuring(debrief: DebriefProcess, during: () => Promise<void>): Promise<{ ms: number[]; failed: number }> {
  const ms: number[] = [];
  let failed = 0;
  const sent: Promise<void>[] = [];
  const probe = () => {
    const started = performance.now();
    sent.push(
      fetch(`${debrief.url}/healthz`, { signal: AbortSignal.timeout(10_000) })
        .then(async (response) => {
          await response.arrayBuffer();
          if (response.status === 200) ms.push(performance.now() - started);
          else failed++;
        })
        .catch(() => void failed++),
    );
  };
  const timer = setInterval(probe, PROBE_INTERVAL_MS);
  try {
    await during();
  } finally {
    clearInterval(timer);
    await Promise.all(sent);
  }
  return { ms, failed };
}

interface Probes {
  idle: LatencySummary;
  /** While LOADED_CALLS year-long calls ran one after another. */
  loaded: LatencySummary;
  failed: number;
  /** Those calls' own times. */
  callMs: { p50: number; max: number };
}

async function probeEventLoop(debrief: DebriefProcess): Promise<Probes> {
  const idle = await probesDuring(debrief, () => sleep(PROBE_IDLE_MS));
  const callMs: number[] = [];
  const year = insightsUrl(debrief, 365, "day");
  const loaded = await probesDuring(debrief, async () => {
    for (let n = 0; n < LOADED_CALLS; n++) callMs.push((await timedGet(year)).ms);
  });
  const calls = summarize(callMs);
  return { idle: summarize(idle.ms), loaded: summarize(loaded.ms), failed: idle.failed + loaded.failed, callMs: { p50: calls.p50, max: calls.max } };
}

interface EngineRun {
  engine: "sqlite" | "postgres";
  seed: SeedSummary;
  timings: Timing[];
  memory: { idle: Memory; afterTimings: Memory; afterRepeats: Memory; rssAfterEach: number[]; heapAfterEach: (number | null)[]; peakRssMiB: number };
  repeatMs: { p50: number; max: number };
  probes: Probes;
}

async function measureEngine(context: BenchContext, engine: EngineRun["engine"], debrief: DebriefProcess, seed: SeedSummary): Promise<EngineRun> {
  const { runs, repeats } = context.plan.insights;
  await sleep(1_000);
  const idle = await memoryOf(debrief);
  const timings: Timing[] = [];
  for (const query of QUERIES) {
    const url = insightsUrl(debrief, query.days, query.bucket);
    // The first of its kind since the service started: nothing of it in the service's or the engine's own caches
    // beyond what the earlier queries left (the OS page cache is warm from the seeding).
    const cold = await timedGet(url);
    const samples: number[] = [];
    for (let run = 0; run < runs; run++) samples.push((await timedGet(url)).ms);
    const stats = summarize(samples);
    timings.push({ id: query.id, label: query.label, coldMs: cold.ms, p50: stats.p50, max: stats.max, runs, bytes: cold.bytes, calls: Number(cold.body.calls) });
  }
  for (const query of WHERE_QUERIES) {
    const url = `${debrief.url}/v1/calls?${query.query}`;
    const cold = await timedGet(url);
    const samples: number[] = [];
    for (let run = 0; run < runs; run++) samples.push((await timedGet(url)).ms);
    const stats = summarize(samples);
    timings.push({ id: query.id, label: query.label, coldMs: cold.ms, p50: stats.p50, max: stats.max, runs, bytes: cold.bytes, returned: (cold.body.calls as unknown[]).length });
  }
  const afterTimings = await memoryOf(debrief);
  const rssAfterEach: number[] = [];
  const heapAfterEach: (number | null)[] = [];
  const repeatSamples: number[] = [];
  const year = insightsUrl(debrief, 365, "day");
  for (let n = 0; n < repeats; n++) {
    repeatSamples.push((await timedGet(year)).ms);
    const memory = await memoryOf(debrief);
    rssAfterEach.push(memory.rssMiB);
    heapAfterEach.push(memory.heapUsedMiB);
  }
  await sleep(1_000);
  const afterRepeats = await memoryOf(debrief);
  const peakRssMiB = round(statusKiB(debrief.pid, "VmHWM") / 1024, 1);
  const repeat = summarize(repeatSamples);
  // Last: its load would otherwise show in the memory figures above.
  const probes = await probeEventLoop(debrief);
  return { engine, seed, timings, memory: { idle, afterTimings, afterRepeats, rssAfterEach, heapAfterEach, peakRssMiB }, repeatMs: { p50: repeat.p50, max: repeat.max }, probes };
}

function writeConfig(context: BenchContext): string {
  const file = join(context.runDir, "insights-config.json");
  writeFileSync(
    file,
    JSON.stringify({
      profiles: {
        [PROFILE]: { variables: VARIABLES, destinations: ["crm"], timezone: TIMEZONE },
        [OTHER_PROFILE]: { variables: VARIABLES, destinations: ["crm"] },
      },
      // Never called: every seeded call's life is over.
      destinations: { crm: { url: "http://127.0.0.1:9/hook" } },
    }),
  );
  return file;
}

export async function insights(context: BenchContext): Promise<SectionResult> {
  const { calls } = context.plan.insights;
  // A handful of ~500-token calls (≈2 KB of transcript, kept twice: the payload and the extraction's turns).
  const transcripts = Array.from({ length: 24 }, (_, n) => generateTranscript({ seed: 1_200 + n, tokens: 500 }));
  const config = writeConfig(context);
  const env = (name: string): Record<string, string> => ({
    OPENAI_API_KEY: "bench",
    OPENAI_BASE_URL: `${context.llmUrl}/latency/0/v1`,
    LOG_LEVEL: "info",
    DEBRIEF_CONFIG: config,
    DEBRIEF_ALLOW_PRIVATE_DESTINATIONS: "true",
    DEBRIEF_DATA_DIR: dataDir(context, name),
    DEBRIEF_RETENTION: RETENTION,
  });
  const databases: TestDatabase[] = [];
  const running: DebriefProcess[] = [];
  const results: EngineRun[] = [];
  try {
    {
      const base = env("insights-sqlite");
      const seed = seedSqlite(join(base.DEBRIEF_DATA_DIR!, "calls.sqlite"), calls, transcripts);
      const debrief = await context.startDebrief("insights-sqlite", base);
      running.push(debrief);
      results.push(await measureEngine(context, "sqlite", debrief, seed));
      await debrief.stop();
    }
    {
      const database = await createTestDatabase();
      databases.push(database);
      const seed = await seedPostgres(database.url, calls, transcripts);
      const debrief = await context.startDebrief("insights-postgres", { ...env("insights-postgres"), DEBRIEF_DATABASE_URL: database.url });
      running.push(debrief);
      results.push(await measureEngine(context, "postgres", debrief, seed));
      await debrief.stop();
    }
  } finally {
    await Promise.all(running.map((debrief) => debrief.stop()));
    await Promise.all(databases.map((database) => database.drop().catch(() => undefined)));
  }

  const engineName = { sqlite: "SQLite", postgres: "PostgreSQL" } as const;
  const figures: Figure[] = [];
  for (const run of results) {
    for (const timing of run.timings) {
      const insightsQuery = QUERIES.some((query) => query.id === timing.id);
      figures.push({
        id: `insights.${run.engine}.${timing.id}`,
        label: `${engineName[run.engine]}: ${insightsQuery ? `insights, ${timing.label}` : timing.label}, median`,
        value: round(timing.p50, 1),
        unit: "ms",
        baseline: { label: "target", value: TARGET_MS, unit: "ms" },
        ratio: round(timing.p50 / TARGET_MS, 3),
        note:
          `first (cold) ${round(timing.coldMs, 1)} ms, max ${round(timing.max, 1)} ms over ${timing.runs} more; ${round(timing.bytes / 1024, 1)} KB answer` +
          (timing.calls !== undefined ? `; ${timing.calls} calls in the window` : `; ${timing.returned} calls on the page`),
      });
    }
    const { idle, afterTimings, afterRepeats, rssAfterEach } = run.memory;
    // Flat: the second half of the repeated calls never needs more memory than the first half did (RSS may drop when
    // the allocator gives pages back, so a single before/after difference would say little).
    const half = Math.floor(rssAfterEach.length / 2);
    const firstPeak = Math.max(...rssAfterEach.slice(0, half));
    const secondPeak = Math.max(...rssAfterEach.slice(half));
    figures.push({
      id: `insights.${run.engine}.rss_repeated`,
      label: `${engineName[run.engine]}: highest RSS after year-long calls ${half + 1}-${rssAfterEach.length}`,
      value: secondPeak,
      unit: "MiB",
      baseline: { label: `highest after calls 1-${half}`, value: firstPeak, unit: "MiB" },
      ratio: round(secondPeak / firstPeak, 3),
      note:
        `RSS idle ${idle.rssMiB} MiB, after the timed queries ${afterTimings.rssMiB}, after each repeated call ${rssAfterEach[0]} … ${rssAfterEach.at(-1)} ` +
        `(peak of the process ${run.memory.peakRssMiB}); each year-long call median ${round(run.repeatMs.p50, 1)} ms, max ${round(run.repeatMs.max, 1)} ms`,
    });
    // The heap in use right after a call depends on when V8 last collected: its floor over a few calls is what stays.
    const heaps = run.memory.heapAfterEach.filter((heap): heap is number => heap !== null);
    if (heaps.length >= 10) {
      const first = Math.min(...heaps.slice(0, 5));
      const last = Math.min(...heaps.slice(-5));
      figures.push({
        id: `insights.${run.engine}.heap_floor`,
        label: `${engineName[run.engine]}: V8 heap in use, lowest after year-long calls ${heaps.length - 4}-${heaps.length}`,
        value: last,
        unit: "MiB",
        baseline: { label: "lowest after calls 1-5", value: first, unit: "MiB" },
        ratio: round(last / first, 2),
        note: `before the first insights call ${idle.heapUsedMiB} MiB, after the timed queries ${afterTimings.heapUsedMiB}, 1 s after the last call ${afterRepeats.heapUsedMiB} (read from /metrics)`,
      });
    }
  }
  for (const run of results) {
    const { idle, loaded, failed, callMs } = run.probes;
    const probed = `${loaded.count} probes every ${PROBE_INTERVAL_MS} ms while ${LOADED_CALLS} year-long calls (365 days by day) ran one after another (each median ${round(callMs.p50, 1)} ms, max ${round(callMs.max, 1)} ms)`;
    figures.push({
      id: `insights.${run.engine}.healthz_max`,
      label: `${engineName[run.engine]}: /healthz while year-long insights run, max`,
      value: round(loaded.max, 1),
      unit: "ms",
      baseline: { label: "a year-long insights call, median", value: round(callMs.p50, 1), unit: "ms" },
      ratio: round(loaded.max / callMs.p50, 3),
      note: `${probed}; ${failed} failed. A query holding the event loop would hold every probe sent meanwhile for up to the call's time.`,
    });
    figures.push({
      id: `insights.${run.engine}.healthz_p99`,
      label: `${engineName[run.engine]}: /healthz while year-long insights run, p99`,
      value: round(loaded.p99, 1),
      unit: "ms",
      baseline: { label: "idle, p99", value: round(idle.p99, 1), unit: "ms" },
      ratio: round(loaded.p99 / idle.p99, 3),
      note: `${probed}: median ${round(loaded.p50, 1)} ms; idle (${idle.count} probes over ${PROBE_IDLE_MS / 1000} s) median ${round(idle.p50, 1)} ms, max ${round(idle.max, 1)} ms.`,
    });
  }
  const sqliteSeed = results.find((run) => run.engine === "sqlite")?.seed;
  return {
    id: "insights",
    title: `12. Insights over ${calls.toLocaleString("en-US")} stored calls (a year of one profile; target: under ${TARGET_MS / 1000} s)`,
    figures,
    notes: [
      `Seeded: ${calls.toLocaleString("en-US")} calls of "${PROFILE}" (${TIMEZONE}) + ${Math.ceil(calls / 10).toLocaleString("en-US")} of "${OTHER_PROFILE}", spread over the year before ${new Date(END).toISOString().slice(0, 10)}; ` +
        `${sqliteSeed?.valueRows.toLocaleString("en-US")} value rows, ${sqliteSeed?.extractions.toLocaleString("en-US")} extractions; written in ` +
        results.map((run) => `${round(run.seed.seconds, 1)} s on ${engineName[run.engine]}`).join(", ") + ".",
      "Each query: its first (cold) run after the service started, then the runs whose median and max are shown, one client, no other load.",
      `The service runs with DEBRIEF_RETENTION=${RETENTION} (the default, 30 days, would prune all but the last month at start-up).`,
    ],
    details: {
      end: new Date(END).toISOString(),
      variables: VARIABLES,
      engines: results,
    },
  };
}
