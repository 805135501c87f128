// Where Debrief's time goes: Debrief runs under `node --cpu-prof` with one workload (cache misses of a 60-minute
// call at 0 ms LLM latency, or cache hits of a 30 KB transcript), then its profile is summed by function and area.
import { mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { expectOk, type BenchContext } from "../lib/context.js";
import { summarizeProfile, type ProfileSummary } from "../lib/profile.js";
import { UNIQUE_MARKER } from "../lib/transcripts.js";
import { cacheEnv, cacheHitBody, primeCache } from "./cache-hits.js";
import { overheadCases, overheadEnv, requireAllOk } from "./overhead.js";

export type ProfileWorkload = "miss" | "hit";

export interface ProfileResult {
  workload: ProfileWorkload;
  description: string;
  summary: ProfileSummary;
  file: string;
  requests: number;
  seconds: number;
}

export async function profileUnderLoad(context: BenchContext, workload: ProfileWorkload): Promise<ProfileResult> {
  const plan = context.plan.profile;
  const name = `profile-${workload}`;
  const profileDir = join(context.runDir, name);
  mkdirSync(profileDir, { recursive: true });
  const spawned = performance.now();
  const env = workload === "miss" ? overheadEnv(context, name, 0) : cacheEnv(context, name, "info");
  const debrief = await context.startDebrief(name, env, { cpuProfileDir: profileDir });
  const call = overheadCases().find((candidate) => candidate.name === "60-minute")!;
  const hit = cacheHitBody();
  const description =
    workload === "miss"
      ? `cache misses: distinct 60-minute calls (~${call.transcript.tokens} tokens), 10 variables, 0 ms LLM`
      : `cache hits: one ${Math.round(hit.transcript.bytes / 1024)} KB transcript, 10 variables`;
  let loadStartedMs = 0;
  let requests = 0;
  try {
    if (workload === "miss") {
      for (let i = 0; i < context.plan.overhead0.warmup; i += 1) await expectOk(debrief, call.body.replaceAll(UNIQUE_MARKER, `prof-warm-${i}`));
    } else {
      await primeCache(debrief, hit.body);
      for (let i = 0; i < 50; i += 1) await expectOk(debrief, hit.body);
    }
    loadStartedMs = performance.now() - spawned;
    const result = await context.load.run({
      kind: "http",
      url: `${debrief.url}/v1/extract`,
      body: workload === "miss" ? call.body : hit.body,
      runId: name,
      connections: plan.connections,
      maxRequests: 1_000_000,
      maxSeconds: plan.seconds,
      timeoutSeconds: 30,
      marker: workload === "miss" ? UNIQUE_MARKER : undefined,
    });
    requireAllOk(result, `Debrief under --cpu-prof (${workload})`);
    requests = result.ok;
  } finally {
    await debrief.stop();
  }
  // The profile is written as the process exits; give the file system a moment.
  let file: string | undefined;
  for (let i = 0; i < 50 && !file; i += 1) {
    file = readdirSync(profileDir).find((entry) => entry.endsWith(".cpuprofile"));
    if (!file) await sleep(100);
  }
  if (!file) throw new Error(`no .cpuprofile written in ${profileDir}`);
  const path = join(profileDir, file);
  // Start-up and warm-up are skipped: only the load is of interest.
  return { workload, description, summary: summarizeProfile(path, context.root, { top: 10, skipFirstMs: loadStartedMs }), file: path, requests, seconds: plan.seconds };
}
