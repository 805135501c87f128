// Section 3: a repeated request answered from the cache, against a bare Express route that parses and echoes the
// same 30 KB body with the same express.json limits, both driven by autocannon at the same concurrency.
import { dataDir, expectOk, llmBaseUrl, type BenchContext, type Figure, type SectionResult } from "../lib/context.js";
import { interleave } from "../lib/interleave.js";
import type { LoadJob } from "../lib/load-client.js";
import { startReportingServer, type DebriefProcess } from "../lib/processes.js";
import { extractBody, generateTranscript, type Transcript } from "../lib/transcripts.js";
import { requireAllOk } from "./overhead.js";

const BODY_LIMIT = "2mb";

export function cacheEnv(context: BenchContext, name: string, logLevel: string): Record<string, string> {
  return {
    OPENAI_API_KEY: "bench",
    OPENAI_BASE_URL: llmBaseUrl(context, 0),
    LOG_LEVEL: logLevel,
    DEBRIEF_MAX_BODY: BODY_LIMIT,
    DEBRIEF_DATA_DIR: dataDir(context, name),
  };
}

/** The same request every time: a 30 KB transcript (the size of a long-ish call) and 10 variables. */
export function cacheHitBody(): { body: string; transcript: Transcript } {
  const transcript = generateTranscript({ seed: 300, bytes: 30 * 1024 });
  return { body: JSON.stringify(extractBody(transcript, 10)), transcript };
}

/** The first request computes and stores; the second must be a hit, or the figures would not be about hits. */
export async function primeCache(debrief: DebriefProcess, body: string): Promise<void> {
  await expectOk(debrief, body);
  const second = await expectOk(debrief, body);
  if (!second.body.meta?.cached) throw new Error(`${debrief.name}: the repeated request was not a cache hit`);
}

const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

export async function cacheHits(context: BenchContext): Promise<SectionResult> {
  const plan = context.plan.cacheHits;
  const { body, transcript } = cacheHitBody();
  const details: Record<string, unknown> = { transcriptBytes: transcript.bytes, bodyBytes: Buffer.byteLength(body), transcriptTokens: transcript.tokens };

  // All three servers run at once but only one is loaded at a time: the runs alternate, so noise hits each side.
  const [echo, info, warn] = await Promise.all([
    startReportingServer("echo baseline", `${context.root}/bench/echo-server.ts`, [BODY_LIMIT]),
    context.zeroLatencyDebrief(),
    plan.logLevelRow ? context.startDebrief("cache-hits-warn", cacheEnv(context, "cache-hits-warn", "warn")) : undefined,
  ]);
  try {
    const job = (url: string, runId: string): LoadJob => ({
      kind: "http",
      url: `${url}/v1/extract`,
      body,
      runId,
      connections: plan.connections,
      maxRequests: 1_000_000,
      maxSeconds: plan.seconds,
      timeoutSeconds: 10,
    });
    const targets: [string, string][] = [["echo", echo.url], ["info", info.url], ...(warn ? [["warn", warn.url] as [string, string]] : [])];
    for (const debrief of [info, warn]) if (debrief) await primeCache(debrief, body);
    // A short warm-up of each, so that the JIT has settled before the measured runs.
    for (const [name, url] of targets) {
      await context.load.run({ ...job(url, `${name}-warm`), maxRequests: 5_000, maxSeconds: plan.warmSeconds });
    }
    const runs = await interleave(context.load, Object.fromEntries(targets.map(([name, url]) => [name, job(url, name)])) as Record<string, LoadJob>, {
      rounds: context.plan.rounds,
      cpuPids: { info: info.pid, ...(warn ? { warn: warn.pid } : {}) },
    });
    const baseline = runs.echo!;
    const hits = runs.info!;
    for (const [name, result] of Object.entries(runs)) requireAllOk(result, `${name} (cache hits)`);
    Object.assign(details, { echo: baseline, debrief: hits, ...(runs.warn ? { debriefLogWarn: runs.warn } : {}) });

    const figures: Figure[] = [
      {
        id: "cache_hits.rps",
        label: `cache hits, ${Math.round(transcript.bytes / 1024)} KB transcript: throughput`,
        value: round(hits.rps, 0),
        unit: "req/s",
        baseline: { label: "bare Express parse+echo", value: round(baseline.rps, 0), unit: "req/s" },
        ratio: round(hits.rps / baseline.rps, 3),
      },
      {
        id: "cache_hits.p99",
        label: "cache hits: p99 latency",
        value: round(hits.latency.p99, 2),
        unit: "ms",
        baseline: { label: "bare Express parse+echo, p99", value: round(baseline.latency.p99, 2), unit: "ms" },
        ratio: round(hits.latency.p99 / baseline.latency.p99, 3),
      },
      {
        id: "cache_hits.cpu",
        label: "cache hits: Debrief CPU per hit",
        value: round((hits.cpuMs ?? Number.NaN) / hits.completed, 3),
        unit: "CPU ms/request",
        note: `${hits.completed} hits`,
      },
    ];
    if (runs.warn) {
      figures.push({
        id: "cache_hits.rps_log_warn",
        label: "cache hits with LOG_LEVEL=warn (no request log line)",
        value: round(runs.warn.rps, 0),
        unit: "req/s",
        baseline: { label: "same at LOG_LEVEL=info", value: round(hits.rps, 0), unit: "req/s" },
        ratio: round(runs.warn.rps / hits.rps, 3),
        note: `${round((runs.warn.cpuMs ?? Number.NaN) / runs.warn.completed, 3)} CPU ms/hit: the log line's cost is the difference`,
      });
    }
    return {
      id: "cache_hits",
      title: "3. Cache hits (2 cores: Debrief is one process; the load generator takes the other core)",
      figures,
      notes: [
        `${plan.connections} connections, ${plan.seconds} s per server in ${context.plan.rounds} alternating slice(s), the same body every request. Debrief runs at LOG_LEVEL=info, its production default: the request log line is part of what a hit costs.`,
        "The echo baseline is bench/echo-server.ts (express.json with the same limit and types), its own process.",
      ],
      details,
    };
  } finally {
    echo.child.kill("SIGTERM");
    // `info` is the zero-latency Debrief shared with sections 2 and 6; the runner stops it.
    await warn?.stop();
  }
}
