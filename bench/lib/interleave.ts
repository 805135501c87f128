// Runs two or more load jobs in alternating slices (A B A B …) and merges each job's slices, so that a burst of other
// work on a noisy machine lands on every side of a comparison rather than on one of them.
import type { LoadGenerator, LoadJob, LoadResult } from "./load-client.js";
import { cpuTimeMs } from "./processes.js";
import { summarize } from "./stats.js";

export type MergedResult = Omit<LoadResult, "samples"> & {
  /** CPU ms the watched process used during this job's slices (when a pid was given for it). */
  cpuMs?: number;
};

export interface InterleaveOptions {
  rounds: number;
  /** Measure this process's CPU time around each slice of the named job. */
  cpuPids?: Record<string, number>;
}

/** Each job's maxSeconds and maxRequests are its totals; every round runs 1/rounds of them. */
export async function interleave<K extends string>(load: LoadGenerator, jobs: Record<K, LoadJob>, options: InterleaveOptions): Promise<Record<K, MergedResult>> {
  const slices = new Map<K, { results: LoadResult[]; cpuMs: number }>();
  const names = Object.keys(jobs) as K[];
  for (const name of names) slices.set(name, { results: [], cpuMs: 0 });
  for (let round = 0; round < options.rounds; round += 1) {
    for (const name of names) {
      const job = jobs[name];
      const slice: LoadJob = {
        ...job,
        runId: `${job.runId}-r${round}`,
        maxSeconds: job.maxSeconds / options.rounds,
        maxRequests: Math.max(1, Math.ceil(job.maxRequests / options.rounds)),
      };
      const pid = options.cpuPids?.[name];
      const before = pid === undefined ? 0 : cpuTimeMs(pid);
      const result = await load.run(slice);
      const entry = slices.get(name)!;
      if (pid !== undefined) entry.cpuMs += cpuTimeMs(pid) - before;
      entry.results.push(result);
    }
  }
  const merged = {} as Record<K, MergedResult>;
  for (const name of names) {
    const { results, cpuMs } = slices.get(name)!;
    merged[name] = { ...mergeResults(results), ...(options.cpuPids?.[name] === undefined ? {} : { cpuMs }) };
  }
  return merged;
}

export function mergeResults(results: readonly LoadResult[]): Omit<LoadResult, "samples"> {
  const sum = (pick: (result: LoadResult) => number) => results.reduce((total, result) => total + pick(result), 0);
  const statusCodes: Record<string, number> = {};
  for (const result of results) {
    for (const [code, count] of Object.entries(result.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + count;
  }
  const wallMs = sum((result) => result.wallMs);
  const ok = sum((result) => result.ok);
  return {
    completed: sum((result) => result.completed),
    ok,
    non2xx: sum((result) => result.non2xx),
    errors: sum((result) => result.errors),
    timeouts: sum((result) => result.timeouts),
    statusCodes,
    wallMs,
    lastResponseMs: sum((result) => result.lastResponseMs),
    rps: ok / (wallMs / 1000),
    latency: summarize(results.flatMap((result) => result.samples)),
  };
}
