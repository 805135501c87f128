// The bench's side of the load generator: forks it once and sends it jobs over IPC, one at a time.
import { fork, type ChildProcess } from "node:child_process";
import type { LoadJob, LoadResult } from "./load-job.js";
import { track } from "./processes.js";

export type { LoadJob, LoadResult };

export interface LoadGenerator {
  pid: number;
  run(job: LoadJob): Promise<LoadResult>;
  close(): void;
}

export function startLoadGenerator(file: string): LoadGenerator {
  const child: ChildProcess = track(fork(file, [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] }));
  let nextId = 0;
  const waiting = new Map<number, { resolve: (result: LoadResult) => void; reject: (error: Error) => void }>();
  child.on("message", (reply: { id: number; ok: boolean; result?: LoadResult; error?: string }) => {
    const pending = waiting.get(reply.id);
    if (!pending) return;
    waiting.delete(reply.id);
    if (reply.ok && reply.result) pending.resolve(reply.result);
    else pending.reject(new Error(`load generator: ${reply.error}`));
  });
  child.once("exit", (code) => {
    for (const pending of waiting.values()) pending.reject(new Error(`load generator exited (${code})`));
    waiting.clear();
  });
  return {
    pid: child.pid!,
    run(job) {
      const id = nextId++;
      return new Promise<LoadResult>((resolve, reject) => {
        // The job bounds itself; this is the backstop if the generator hangs.
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(new Error(`load job ${job.runId} did not finish within ${job.maxSeconds + job.timeoutSeconds + 30} s`));
        }, (job.maxSeconds + job.timeoutSeconds + 30) * 1000);
        waiting.set(id, {
          resolve: (result) => {
            clearTimeout(timer);
            resolve(result);
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        });
        child.send({ id, job });
      });
    },
    close() {
      child.disconnect();
    },
  };
}
