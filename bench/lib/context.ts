// What every bench section shares: the mode's plan, the running fake LLM and load generator, a way to start Debrief
// with given settings, and the shape of a reported figure.
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import type { LoadGenerator } from "./load-client.js";
import type { DebriefProcess } from "./processes.js";

export type Mode = "full" | "quick";

/** How long and how hard each section runs. Quick mode fits the whole bench in under a minute. */
export interface Plan {
  /** Comparisons run their sides in this many alternating slices (A B A B …), so that noise hits both. */
  rounds: number;
  overhead500: { connections: number; seconds: number; maxRequests: number; warmup: number };
  overhead0: { seconds: number; maxRequests: number; warmup: number };
  /** Which workloads run under --cpu-prof (quick mode profiles only the cache misses). */
  profile: { seconds: number; connections: number; workloads: ("miss" | "hit")[] };
  cacheHits: { seconds: number; warmSeconds: number; connections: number; logLevelRow: boolean };
  concurrency: { requests: number; llmConcurrency: number; latencyMs: number };
  longCalls: { runs: number; latencyMs: number };
  /** `sequential` calls one at a time (an idle pipeline), then a burst of `calls` from `concurrency` clients. */
  delivery: { sequential: number; calls: number; concurrency: number };
  /** Calls per throughput run (1, 2, 3 workers), and calls posted to each engine for the accept latency. */
  scaleOut: { callsPerRun: number; acceptCalls: number };
  /** Each run's length (limiter off, then on). */
  llmBudget: { seconds: number };
  /** Calls of the profile seeded on each engine; timed runs per query after the first (cold) one; year-long calls repeated for memory. */
  insights: { calls: number; runs: number; repeats: number };
}

export const PLANS: Record<Mode, Plan> = {
  full: {
    rounds: 3,
    overhead500: { connections: 8, seconds: 12, maxRequests: 400, warmup: 3 },
    overhead0: { seconds: 8, maxRequests: 20_000, warmup: 40 },
    profile: { seconds: 10, connections: 4, workloads: ["miss", "hit"] },
    cacheHits: { seconds: 10, warmSeconds: 1, connections: 16, logLevelRow: true },
    concurrency: { requests: 1_000, llmConcurrency: 50, latencyMs: 1_000 },
    longCalls: { runs: 5, latencyMs: 500 },
    delivery: { sequential: 20, calls: 200, concurrency: 8 },
    scaleOut: { callsPerRun: 240, acceptCalls: 300 },
    llmBudget: { seconds: 50 },
    insights: { calls: 100_000, runs: 5, repeats: 20 },
  },
  quick: {
    rounds: 1,
    overhead500: { connections: 8, seconds: 1.2, maxRequests: 100, warmup: 0 },
    overhead0: { seconds: 1, maxRequests: 5_000, warmup: 6 },
    profile: { seconds: 2, connections: 4, workloads: ["miss"] },
    cacheHits: { seconds: 1.5, warmSeconds: 0.5, connections: 16, logLevelRow: false },
    concurrency: { requests: 200, llmConcurrency: 50, latencyMs: 250 },
    longCalls: { runs: 1, latencyMs: 500 },
    delivery: { sequential: 6, calls: 20, concurrency: 4 },
    scaleOut: { callsPerRun: 64, acceptCalls: 60 },
    llmBudget: { seconds: 20 },
    insights: { calls: 20_000, runs: 3, repeats: 20 },
  },
};

export interface Measure {
  value: number;
  unit: string;
}

/** One reported number: Debrief's measure, the baseline it was measured beside (same run), and their ratio. */
export interface Figure {
  id: string;
  label: string;
  value: number;
  unit: string;
  baseline?: Measure & { label: string };
  /** value ÷ baseline, or against an ideal that `note` names. */
  ratio?: number;
  note?: string;
}

export interface SectionResult {
  id: string;
  title: string;
  figures: Figure[];
  notes: string[];
  /** Anything else worth keeping in results.json (raw summaries, profile lists). */
  details?: Record<string, unknown>;
}

export interface LlmStats {
  requests: number;
  inFlight: number;
  peakInFlight: number;
  promptTokens: number;
  completionTokens: number;
}

export interface BenchContext {
  mode: Mode;
  plan: Plan;
  root: string;
  /** bench/out/run-<stamp>: logs and profiles of this run. */
  runDir: string;
  /** A temp directory holding each Debrief's DEBRIEF_DATA_DIR; removed on exit. */
  dataRoot: string;
  llmUrl: string;
  llmPid: number;
  load: LoadGenerator;
  /** Debrief settings every section starts from (LLM base URL and the rest given per section). */
  startDebrief(name: string, env: Record<string, string>, options?: { cpuProfileDir?: string }): Promise<DebriefProcess>;
  /** One Debrief at 0 ms LLM latency (cache on, LOG_LEVEL=info) shared by sections 2, 3 and 6; stopped by the runner. */
  zeroLatencyDebrief(): Promise<DebriefProcess>;
}

/** The fake LLM's OpenAI base URL for a latency: the latency is part of the path. */
export function llmBaseUrl(context: BenchContext, latencyMs: number): string {
  return `${context.llmUrl}/latency/${latencyMs}/v1`;
}

/** The fake LLM's base URL for an account allowing `rpm` requests a minute, replenished continuously (429 over it). */
export function limitedLlmBaseUrl(context: BenchContext, latencyMs: number, rpm: number, account: string): string {
  return `${context.llmUrl}/latency/${latencyMs}/limit/${rpm}rpm/${account}/v1`;
}

export interface AccountStats {
  /** Each admitted request's time, ms since the epoch. */
  admitted: number[];
  refused: number;
  /** When the account's bucket first ran dry (the first minute's burst spent); null if it never did. */
  exhaustedAt: number | null;
}

/** What the fake LLM admitted and refused for an account. */
export async function accountStats(context: BenchContext, account: string): Promise<AccountStats> {
  return (await (await fetch(`${context.llmUrl}/__bench/limit/${account}`)).json()) as AccountStats;
}

export async function llmStats(context: BenchContext): Promise<LlmStats> {
  return (await (await fetch(`${context.llmUrl}/__bench/stats`)).json()) as LlmStats;
}

export async function resetLlmStats(context: BenchContext): Promise<void> {
  await (await fetch(`${context.llmUrl}/__bench/reset`, { method: "POST" })).arrayBuffer();
}

/** The raw JSON body of the last chat completion the fake LLM received. */
export async function lastLlmRequest(context: BenchContext): Promise<string> {
  return (await fetch(`${context.llmUrl}/__bench/last-request`)).text();
}

export interface ExtractResponse {
  status: number;
  ms: number;
  body: {
    extracted_variables?: Record<string, unknown>;
    meta?: { cached: boolean; chunks: number; llm_calls: number; usage: { prompt_tokens: number; completion_tokens: number } };
    error?: { code: string; message: string };
  };
}

export async function postExtract(debrief: DebriefProcess, body: unknown, timeoutMs = 120_000): Promise<ExtractResponse> {
  const started = performance.now();
  const response = await fetch(`${debrief.url}/v1/extract`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const parsed = (await response.json()) as ExtractResponse["body"];
  return { status: response.status, ms: performance.now() - started, body: parsed };
}

export async function expectOk(debrief: DebriefProcess, body: unknown): Promise<ExtractResponse> {
  const response = await postExtract(debrief, body);
  if (response.status !== 200) {
    throw new Error(`POST /v1/extract on ${debrief.name} answered ${response.status}: ${JSON.stringify(response.body).slice(0, 500)}`);
  }
  return response;
}

/** A fresh DEBRIEF_DATA_DIR under the run's temp root. */
export function dataDir(context: BenchContext, name: string): string {
  return mkdtempSync(join(context.dataRoot, `${name}-`));
}

