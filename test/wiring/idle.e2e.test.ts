// An idle instance costs next to nothing: started as production starts it (the default poll interval), with nothing to
// do it uses well under a core's 5% and, on PostgreSQL, under 5 transactions a second.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeLlm, type FakeLlm } from "../support/fake-llm.js";
import { createTestDatabase, type TestDatabase } from "../support/postgres.js";
import { startReceiver, type Receiver } from "../support/receiver.js";
import { startTestService, type TestService } from "../support/service.js";

/** Several default (1 s) polls: long enough that PostgreSQL's statistics, which each backend flushes about once a second, average out. */
const WINDOW_MS = 6_000;
/**
 * Start-up work (migrations, releasing abandoned claims, the first prune and fate sweep) is not idling. PostgreSQL
 * counts a backend's transactions when it flushes its statistics, up to 10 s later for one that has gone idle since.
 */
const SETTLE_MS = { sqlite: 1_500, postgres: 11_000 };
/** A generous bound: an idle instance measures well under 1%; one that polls without pause, 10% and more. */
const MAX_CPU_SHARE = 0.05;
const MAX_TRANSACTIONS_PER_SECOND = 5;

let llm: FakeLlm;
let crm: Receiver;
let config: string;
let database: TestDatabase;

beforeAll(async () => {
  llm = await startFakeLlm();
  crm = await startReceiver();
  database = await createTestDatabase();
  config = join(mkdtempSync(join(tmpdir(), "debrief-idle-")), "debrief.json");
  writeFileSync(config, JSON.stringify({ profiles: { booking: { variables: [], destinations: ["crm"] } }, destinations: { crm: { url: crm.url } } }));
});
afterAll(async () => {
  await Promise.all([llm?.close(), crm?.close()]);
  await database?.drop();
});

/** As `npm start` runs it: the poll interval is passed on unset, so the service uses its own default. */
async function idleInstance(settleMs: number, env: Record<string, string> = {}): Promise<TestService> {
  const service = await startTestService(
    { OPENAI_BASE_URL: llm.url, DEBRIEF_CONFIG: config, DEBRIEF_ALLOW_PRIVATE_DESTINATIONS: "true", ...env },
    { pollIntervalMs: undefined },
  );
  await sleep(settleMs);
  return service;
}

/** This process's CPU time over wall time while `wait` runs: the in-process service's idle cost. */
async function cpuShare(wait: () => Promise<void>): Promise<number> {
  const started = performance.now();
  const before = process.cpuUsage();
  await wait();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1_000 / (performance.now() - started);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe("an idle instance", () => {
  it("on SQLite, uses under 5% of a core", async () => {
    const service = await idleInstance(SETTLE_MS.sqlite);
    try {
      const share = await cpuShare(() => sleep(WINDOW_MS));
      expect(share).toBeLessThan(MAX_CPU_SHARE);
    } finally {
      await service.close();
    }
  });

  it("on PostgreSQL, uses under 5% of a core and makes under 5 transactions a second", { timeout: 40_000 }, async () => {
    const service = await idleInstance(SETTLE_MS.postgres, { DEBRIEF_DATABASE_URL: database.url });
    // Read from another database, so that these queries are not counted among the instance's.
    const url = new URL(database.url);
    url.pathname = "/test";
    const observer = new pg.Client({ connectionString: url.toString() });
    await observer.connect();
    const transactions = async () => {
      await observer.query("SELECT pg_stat_clear_snapshot()");
      const { rows } = await observer.query<{ count: string }>("SELECT xact_commit + xact_rollback AS count FROM pg_stat_database WHERE datname = $1", [database.name]);
      return Number(rows[0]!.count);
    };
    try {
      const first = await transactions();
      const started = performance.now();
      const share = await cpuShare(() => sleep(WINDOW_MS));
      const perSecond = ((await transactions()) - first) / ((performance.now() - started) / 1_000);
      expect(share).toBeLessThan(MAX_CPU_SHARE);
      expect(perSecond).toBeLessThan(MAX_TRANSACTIONS_PER_SECOND);
    } finally {
      await observer.end();
      await service.close();
    }
  });
});
