// What the bench asks of the load generator process, and what it answers (shared by both sides of the IPC).
import type { LatencySummary } from "./stats.js";

export interface JobBounds {
  /** Stop after this many requests… */
  maxRequests: number;
  /** …or after this many seconds, whichever comes first. */
  maxSeconds: number;
  connections: number;
  /** Per-request timeout. */
  timeoutSeconds: number;
  /** Replaced in the body by `<runId>-<n>` for each request, so no two requests are alike. */
  marker?: string;
  runId: string;
}

export type LoadJob =
  | ({ kind: "http"; url: string; body: string } & JobBounds)
  | ({ kind: "sdk"; baseURL: string; body: string } & JobBounds);

export interface LoadResult {
  /** Responses received (any status). */
  completed: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  /** Start to finish of the run. */
  wallMs: number;
  /** Start to the last response: the wall time of a run bounded by count. */
  lastResponseMs: number;
  /** ok responses per second of wall time. */
  rps: number;
  /** Latency of the ok responses, in ms. */
  latency: LatencySummary;
  /** Every ok response's latency, in ms, so that runs done in slices can be merged exactly. */
  samples: number[];
}
