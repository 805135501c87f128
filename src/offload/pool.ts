// A worker-thread pool (piscina) for the steps whose cost grows with the input: planning an extraction (tokenising,
// chunking), rendering delivery bodies (JSONata, serialising) and reading insights from a SQLite file (better-sqlite3
// is synchronous). The HTTP event loop stays free.
import { availableParallelism } from "node:os";
import { Piscina } from "piscina";
import type { PlanInput, PlanResult } from "../extract/plan.js";
import type { DestinationExpressions, RenderedBody } from "../delivery/render-bodies.js";
import type { InsightFigures, InsightsQuery } from "../calls/store/insights-sql.js";
import type { Task } from "./tasks.js";

export interface Offload {
  plan(input: PlanInput): Promise<PlanResult>;
  renderBodies(payload: unknown, destinations: readonly DestinationExpressions[]): Promise<RenderedBody[]>;
  /** A SQLite call store's insight figures, read from its file (see sqlite-insights.ts). */
  sqliteInsights(file: string, query: InsightsQuery): Promise<InsightFigures>;
  /** Threads running now (for tests and metrics). */
  readonly threads: number;
  close(): Promise<void>;
}

/**
 * Built (`npm start`), the worker loads dist's tasks.js. Under vitest and tsx this module is TypeScript, and a worker
 * thread does not inherit tsx's hooks: a small JavaScript entry registers them, then loads tasks.ts.
 */
function workerEntry(): { filename: string; workerData?: { tasks: string } } {
  if (!import.meta.url.endsWith(".ts")) return { filename: new URL("./tasks.js", import.meta.url).href };
  return { filename: new URL("./typescript-worker.mjs", import.meta.url).href, workerData: { tasks: new URL("./tasks.ts", import.meta.url).href } };
}

export interface OffloadOptions {
  /** Default: one thread fewer than the cores (at least one), so the HTTP thread always has a core. */
  maxThreads?: number;
}

export function createOffload(options: OffloadOptions = {}): Offload {
  const maxThreads = options.maxThreads ?? Math.max(1, availableParallelism() - 1);
  const pool = new Piscina({
    ...workerEntry(),
    // Started on the first task (most deployments' calls fit by bytes and never need one), kept for a quiet minute.
    minThreads: 0,
    maxThreads,
    idleTimeout: 60_000,
  });
  return {
    plan: (input) => pool.run({ kind: "plan", input } satisfies Task) as Promise<PlanResult>,
    renderBodies: (payload, destinations) => pool.run({ kind: "renderBodies", payload, destinations } satisfies Task) as Promise<RenderedBody[]>,
    sqliteInsights: (file, query) => pool.run({ kind: "sqliteInsights", file, query } satisfies Task) as Promise<InsightFigures>,
    get threads() {
      return pool.threads.length;
    },
    close: () => pool.destroy(),
  };
}
