// Section 8: scale-out — several Debrief processes on one PostgreSQL database.
// Figures: calls delivered per second with 1, 2 and 3 worker instances (plus one api instance taking the calls) against
// a 500 ms LLM, the LLM concurrency fixed per instance; and POST /v1/calls → 202 latency on PostgreSQL beside SQLite,
// one client, the two alternating in slices. Needs the PostgreSQL at 127.0.0.1:5432 (as the tests do).
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { createTestDatabase, type TestDatabase } from "../../test/support/postgres.js";
import { dataDir, llmBaseUrl, type BenchContext, type SectionResult } from "../lib/context.js";
import { cpuTimeMs, startReportingServer, type DebriefProcess } from "../lib/processes.js";
import { summarize } from "../lib/stats.js";
import { generateTranscript, UNIQUE_MARKER } from "../lib/transcripts.js";
import { writeBenchPipelineConfig } from "./delivery.js";

const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

/** LLM calls in flight per instance: what each worker adds is fixed, so throughput should follow the count. */
const LLM_CONCURRENCY = 8;
const LLM_LATENCY_MS = 500;
/** Calls each worker instance gets (about) before a run is measured: two rounds of its LLM concurrency. */
const WARM_UP_CALLS_PER_WORKER = 2 * LLM_CONCURRENCY;

async function postCall(url: string, body: string): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  const response = await fetch(`${url}/v1/calls?profile=bench`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
    signal: AbortSignal.timeout(30_000),
  });
  await response.arrayBuffer();
  return { status: response.status, ms: performance.now() - started };
}

export async function scaleOut(context: BenchContext): Promise<SectionResult> {
  const { callsPerRun, acceptCalls } = context.plan.scaleOut;
  const transcript = generateTranscript({ seed: 800, tokens: 1_000, withMarker: true });
  let run = 0;
  const payload = (id: string) =>
    JSON.stringify({ id, status: "completed", transcript: transcript.text.replaceAll(UNIQUE_MARKER, id), created_at: "2026-06-12T14:22:01Z" });

  const receiver = await startReportingServer("webhook receiver", join(context.root, "bench", "webhook-receiver.ts"));
  const configFile = writeBenchPipelineConfig(context, "scale-out", receiver.url);
  const databases: TestDatabase[] = [];
  const running: DebriefProcess[] = [];
  const base = (name: string): Record<string, string> => ({
    OPENAI_API_KEY: "bench",
    OPENAI_BASE_URL: llmBaseUrl(context, LLM_LATENCY_MS),
    LOG_LEVEL: "info",
    DEBRIEF_CONFIG: configFile,
    DEBRIEF_ALLOW_PRIVATE_DESTINATIONS: "true",
    DEBRIEF_DATA_DIR: dataDir(context, name),
    // Every call is distinct anyway; off, so no instance answers from a cache another one filled.
    DEBRIEF_CACHE: "false",
    DEBRIEF_LLM_CONCURRENCY: String(LLM_CONCURRENCY),
  });
  const start = async (name: string, env: Record<string, string>) => {
    const instance = await context.startDebrief(name, { ...base(name), ...env });
    running.push(instance);
    return instance;
  };
  const stopAll = async () => void (await Promise.all(running.splice(0).map((instance) => instance.stop())));
  const received = async (): Promise<{ id: string; at: number }[]> => (await (await fetch(`${receiver.url}/__bench/received`)).json()) as { id: string; at: number }[];

  try {
    // Throughput: one api instance takes the calls (8 clients), N workers extract and deliver them. The full run goes
    // 1, 2, 3, 3, 2, 1 and averages each count's two runs, so that a drift in the machine's load hits every count.
    const order = context.plan.rounds > 1 ? [1, 2, 3, 3, 2, 1] : [1, 2, 3];
    const runs: {
      workers: number;
      callsPerSecond: number;
      steadyPerSecond: number;
      seconds: number;
      delivered: number;
      cpuMsPerCall: number;
      /** Each process's CPU ms over the run (the api first): where a per-call figure that grows with N goes. */
      cpuMsByProcess: Record<string, number>;
    }[] = [];
    for (const workers of order) {
      const database = await createTestDatabase();
      databases.push(database);
      const db = { DEBRIEF_DATABASE_URL: database.url };
      const api = await start(`scale-api-${runs.length}`, { ...db, DEBRIEF_ROLE: "api" });
      await Promise.all(Array.from({ length: workers }, (_, index) => start(`scale-worker-${runs.length}-${index}`, { ...db, DEBRIEF_ROLE: "worker" })));
      const cpuEach = () => new Map(running.map((instance) => [instance.name, cpuTimeMs(instance.pid)]));
      /** Posts `count` calls from 8 clients and waits until every one was delivered; returns what the receiver got. */
      const burst = async (prefix: string, count: number) => {
        let next = 0;
        await Promise.all(
          Array.from({ length: 8 }, async () => {
            while (next < count) {
              const id = `${prefix}${next++}`;
              const accepted = await postCall(api.url, payload(id));
              if (accepted.status !== 202) throw new Error(`POST /v1/calls answered ${accepted.status}`);
            }
          }),
        );
        const deadline = performance.now() + 180_000;
        let mine: { id: string; at: number }[] = [];
        while (performance.now() < deadline) {
          mine = (await received()).filter((entry) => entry.id.startsWith(prefix));
          if (new Set(mine.map((entry) => entry.id)).size >= count) break;
          await sleep(100);
        }
        return mine;
      };
      // Warm-up, not measured: each fresh process's first calls pay once for what it loads (the tokenizer, the
      // offload threads, compiled code), a cost that would otherwise be charged per call and grow with N.
      await burst(`w${run + 1}-`, WARM_UP_CALLS_PER_WORKER * workers);
      const prefix = `s${++run}-`;
      const cpuBefore = cpuEach();
      const burstStarted = performance.timeOrigin + performance.now();
      const mine = await burst(prefix, callsPerRun);
      const cpuMsByProcess = Object.fromEntries([...cpuEach()].map(([name, ms]) => [name, ms - (cpuBefore.get(name) ?? 0)]));
      const cpuMs = Object.values(cpuMsByProcess).reduce((sum, ms) => sum + ms, 0);
      const seconds = (Math.max(...mine.map((entry) => entry.at)) - burstStarted) / 1000;
      const delivered = new Set(mine.map((entry) => entry.id)).size;
      // The middle 80% of arrivals: the rate once every worker is busy, without the ramp-up and the tail of the last
      // batch, which cost the same whatever N is.
      const arrivals = mine.map((entry) => entry.at).sort((a, b) => a - b);
      const [from, to] = [Math.floor(arrivals.length * 0.1), Math.floor(arrivals.length * 0.9)];
      const steadyPerSecond = ((to - from) * 1000) / (arrivals[to]! - arrivals[from]!);
      runs.push({ workers, callsPerSecond: delivered / seconds, steadyPerSecond, seconds, delivered, cpuMsPerCall: cpuMs / delivered, cpuMsByProcess });
      await stopAll();
    }
    const throughput = [1, 2, 3].map((workers) => {
      const mine = runs.filter((entry) => entry.workers === workers);
      const mean = (pick: (entry: (typeof runs)[number]) => number) => mine.reduce((sum, entry) => sum + pick(entry), 0) / mine.length;
      return {
        workers,
        callsPerSecond: mean((entry) => entry.callsPerSecond),
        steadyPerSecond: mean((entry) => entry.steadyPerSecond),
        seconds: mean((entry) => entry.seconds),
        delivered: mean((entry) => entry.delivered),
        cpuMsPerCall: mean((entry) => entry.cpuMsPerCall),
        runs: mine.length,
      };
    });

    // Accept latency: one SQLite instance and one PostgreSQL instance (both role all, so both also work off what they
    // accept), one client, alternating slices so that noise hits both.
    const database = await createTestDatabase();
    databases.push(database);
    const sqlite = await start("accept-sqlite", {});
    const postgres = await start("accept-postgres", { DEBRIEF_DATABASE_URL: database.url });
    const latency: Record<"sqlite" | "postgres", number[]> = { sqlite: [], postgres: [] };
    const slices = context.plan.rounds * 2;
    const perSlice = Math.ceil(acceptCalls / slices);
    for (let i = 0; i < 10; i++) {
      await postCall(sqlite.url, payload(`warm-s-${i}`));
      await postCall(postgres.url, payload(`warm-p-${i}`));
    }
    for (let slice = 0; slice < slices; slice++) {
      for (const [name, target] of [["sqlite", sqlite], ["postgres", postgres]] as const) {
        for (let i = 0; i < perSlice; i++) {
          const accepted = await postCall(target.url, payload(`a-${name}-${slice}-${i}`));
          if (accepted.status !== 202) throw new Error(`POST /v1/calls on ${name} answered ${accepted.status}`);
          latency[name].push(accepted.ms);
        }
      }
    }
    await stopAll();

    const sqliteAccept = summarize(latency.sqlite);
    const postgresAccept = summarize(latency.postgres);
    const one = throughput[0]!.callsPerSecond;
    const steady = throughput[0]!.steadyPerSecond;
    const ideal = (LLM_CONCURRENCY * 1000) / LLM_LATENCY_MS;
    return {
      id: "scale-out",
      title: `8. Scale-out: one api + N worker instances on one PostgreSQL database (${LLM_LATENCY_MS} ms LLM, LLM concurrency ${LLM_CONCURRENCY} per instance)`,
      figures: [
        ...throughput.map(({ workers, steadyPerSecond, callsPerSecond, seconds, delivered, cpuMsPerCall, runs: count }) => ({
          id: `scale_out.workers_${workers}`,
          label: `${workers} worker instance${workers > 1 ? "s" : ""}: calls delivered per second, steady`,
          value: round(steadyPerSecond, 1),
          unit: "calls/s",
          baseline: { label: `1 worker instance, × ${workers}`, value: round(steady * workers, 1), unit: "calls/s" },
          ratio: round(steadyPerSecond / (steady * workers)),
          note:
            `first POST → last webhook: ${round(delivered, 0)} calls in ${round(seconds, 1)} s = ${round(callsPerSecond, 1)} calls/s ` +
            `(${round(callsPerSecond / (one * workers))}× of 1 × ${workers}); mean of ${count}; ${round(cpuMsPerCall, 1)} CPU ms per call in Debrief's processes`,
        })),
        {
          id: "scale_out.accept_postgres_p50",
          label: "POST /v1/calls → 202 on PostgreSQL, median",
          value: round(postgresAccept.p50),
          unit: "ms",
          baseline: { label: "on SQLite (synchronous=FULL), median", value: round(sqliteAccept.p50), unit: "ms" },
          ratio: round(postgresAccept.p50 / sqliteAccept.p50),
          note: `${latency.postgres.length} calls each, one client, alternating`,
        },
        {
          id: "scale_out.accept_postgres_p99",
          label: "POST /v1/calls → 202 on PostgreSQL, p99",
          value: round(postgresAccept.p99),
          unit: "ms",
          baseline: { label: "on SQLite, p99", value: round(sqliteAccept.p99), unit: "ms" },
          ratio: round(postgresAccept.p99 / sqliteAccept.p99),
        },
      ],
      notes: [
        `Every process (api, workers, the fake LLM, the receiver, PostgreSQL, the bench) shares the machine's cores; the ideal is ${ideal} calls/s per worker (${LLM_CONCURRENCY} LLM calls of ${LLM_LATENCY_MS} ms in flight), reached only once the burst is queued. Calls/s × CPU ms per call is the share of a core Debrief needs: near the free cores, throughput stops following the worker count.`,
        "Steady: calls between the 10th and the 90th percentile of arrivals ÷ the time between them, once every worker is busy. First POST → last webhook also pays the ramp-up and the last batch's tail, about the same whatever the worker count, so it understates the larger counts, most in quick mode.",
        `Each run starts after a warm-up of ${WARM_UP_CALLS_PER_WORKER} calls per worker instance (not counted): CPU ms per call is the cost of a call to processes that have loaded their tokenizer and offload threads, so that it shows what grows with N (every instance waking for every call) rather than each fresh process's one-time start. details.runs[].cpuMsByProcess splits it by process.`,
      ],
      details: { throughput, runs, accept: { sqlite: sqliteAccept, postgres: postgresAccept } },
    };
  } finally {
    await stopAll();
    receiver.child.kill("SIGTERM");
    await Promise.all(databases.map((database) => database.drop().catch(() => undefined)));
  }
}
