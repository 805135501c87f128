// Section 10: /healthz under three hostile senders (issue 21). Each posts 2 MB of nesting ("[" × 1e6, "]" × 1e6) as
// fast as it is answered: to a signed profile without a signature, to it with a well-formed wrong one, and to
// /v1/extract with a valid API key. A probe asks /healthz every 20 ms; its latency is compared with the same probe on
// the same Debrief with nobody sending. The senders run on a thread of their own, so that building and sending 2 MB
// bodies never delays the probe's own clock.
import { createHmac } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Worker } from "node:worker_threads";
import { dataDir, llmBaseUrl, type BenchContext, type SectionResult } from "../lib/context.js";
import { summarize } from "../lib/stats.js";

const API_KEY = "dbr_bench_hostile_6e1a3c5b7d9f";
const RETELL_KEY = "key_BenchHostile_2d4f6a8c";
const PROBE_EVERY_MS = 20;
const TARGET_P99_MS = 100;
/** What the audit measured on main before issue 21 (three senders for 15 s): 18 probes answered, p50 850 ms, max 1.8 s. */
const BEFORE = "before issue 21: 18 probes answered in 15 s, p50 850 ms, max 1.8 s";

/** The senders' thread: each loops until told to stop, counting the statuses it got. Plain JS: a worker has no tsx. */
const SENDERS = `
const { workerData, parentPort } = require("node:worker_threads");
const body = "[".repeat(1_000_000) + "]".repeat(1_000_000);
let running = true;
parentPort.on("message", () => (running = false));
const statuses = {};
Promise.all(workerData.senders.map(async ({ name, path, headers }) => {
  while (running) {
    try {
      const res = await fetch(workerData.url + path, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
      await res.arrayBuffer();
      const key = name + " " + res.status;
      statuses[key] = (statuses[key] ?? 0) + 1;
    } catch (error) {
      statuses[name + " error"] = (statuses[name + " error"] ?? 0) + 1;
    }
  }
})).then(() => parentPort.postMessage(statuses));
`;

/** Probes /healthz every 20 ms for `seconds`; the latency of each, in ms (a failed probe counts as its time to fail). */
async function probe(url: string, seconds: number): Promise<{ latencies: number[]; failed: number }> {
  const latencies: number[] = [];
  let failed = 0;
  const until = performance.now() + seconds * 1000;
  while (performance.now() < until) {
    const started = performance.now();
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(10_000) });
      await res.arrayBuffer();
      if (!res.ok) failed += 1;
    } catch {
      failed += 1;
    }
    latencies.push(performance.now() - started);
    await sleep(PROBE_EVERY_MS);
  }
  return { latencies, failed };
}

const round = (value: number) => Math.round(value * 10) / 10;

/** Debrief's own event-loop delay since the last reading (reading resets it), in ms: its stalls, apart from the machine's. */
async function eventLoopDelay(url: string): Promise<{ p99: number; max: number }> {
  const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${API_KEY}` } })).text();
  const read = (name: string) => Number(new RegExp(`^debrief_nodejs_eventloop_lag_${name}_seconds (\\S+)$`, "m").exec(text)?.[1]) * 1_000;
  return { p99: read("p99"), max: read("max") };
}

export async function hostileSenders(context: BenchContext): Promise<SectionResult> {
  const seconds = context.mode === "full" ? 15 : 3;
  const configFile = join(context.runDir, "hostile-senders-config.json");
  writeFileSync(configFile, JSON.stringify({ profiles: { signed: { source: "retell", inbound: { secret: RETELL_KEY } } } }));
  const debrief = await context.startDebrief("hostile-senders", {
    OPENAI_API_KEY: "bench",
    OPENAI_BASE_URL: llmBaseUrl(context, 0),
    LOG_LEVEL: "info",
    DEBRIEF_CONFIG: configFile,
    DEBRIEF_API_KEYS: API_KEY,
    DEBRIEF_DATA_DIR: dataDir(context, "hostile-senders"),
  });
  try {
    await eventLoopDelay(debrief.url);
    const quiet = await probe(debrief.url, seconds);
    const quietLoop = await eventLoopDelay(debrief.url);
    const timestamp = Date.now();
    const body = `${"[".repeat(1_000_000)}${"]".repeat(1_000_000)}`;
    const wrong = createHmac("sha256", "key_not_the_retell_key").update(body + timestamp).digest("hex");
    const sendingFrom = performance.now();
    const worker = new Worker(SENDERS, {
      eval: true,
      workerData: {
        url: debrief.url,
        senders: [
          { name: "unsigned", path: "/v1/calls?profile=signed", headers: {} },
          { name: "wrongly signed", path: "/v1/calls?profile=signed", headers: { "x-retell-signature": `v=${timestamp},d=${wrong}` } },
          { name: "API key, /v1/extract", path: "/v1/extract", headers: { authorization: `Bearer ${API_KEY}` } },
        ],
      },
    });
    const statuses = new Promise<Record<string, number>>((resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
    });
    // Let the three get going before the probe starts counting.
    await sleep(300);
    const hostile = await probe(debrief.url, seconds);
    const hostileLoop = await eventLoopDelay(debrief.url);
    worker.postMessage("stop");
    const answered = await statuses;
    const sendingSeconds = (performance.now() - sendingFrom) / 1000;
    await worker.terminate();

    const under = summarize(hostile.latencies);
    const alone = summarize(quiet.latencies);
    const hostileRequests = Object.values(answered).reduce((sum, n) => sum + n, 0);
    const figure = (id: string, label: string, value: number, baseline: number, note?: string) => ({
      id,
      label,
      value: round(value),
      unit: "ms",
      baseline: { label: "nobody sending", value: round(baseline), unit: "ms" },
      ratio: baseline > 0 ? round(value / baseline) : undefined,
      ...(note ? { note } : {}),
    });
    return {
      id: "hostile_senders",
      title: `10. /healthz under three hostile senders of 2 MB of nesting (unsigned, wrongly signed, API key to /v1/extract), probed every ${PROBE_EVERY_MS} ms for ${seconds} s`,
      figures: [
        figure("healthz_p50", "/healthz p50", under.p50, alone.p50),
        figure("healthz_p99", "/healthz p99", under.p99, alone.p99, `target < ${TARGET_P99_MS} ms: ${under.p99 < TARGET_P99_MS ? "met" : "MISSED"}`),
        figure("healthz_max", "/healthz max", under.max, alone.max, BEFORE),
        {
          id: "probes_answered",
          label: "probes answered",
          value: under.count - hostile.failed,
          unit: "probes",
          baseline: { label: "nobody sending", value: alone.count - quiet.failed, unit: "probes" },
          ratio: round((under.count - hostile.failed) / Math.max(1, alone.count - quiet.failed)),
        },
        figure("event_loop_p99", "Debrief's event-loop delay p99", hostileLoop.p99, quietLoop.p99, "its own stalls, measured inside it (perf_hooks)"),
        figure("event_loop_max", "Debrief's event-loop delay max", hostileLoop.max, quietLoop.max),
        { id: "hostile_requests", label: "hostile requests answered", value: round(hostileRequests / sendingSeconds), unit: "req/s" },
      ],
      notes: [
        `hostile answers: ${Object.entries(answered)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([what, n]) => `${what} × ${n}`)
          .join(", ")}`,
        `failed probes: ${hostile.failed} under the senders, ${quiet.failed} alone`,
      ],
      details: { quiet: alone, hostile: under, answered, eventLoop: { quiet: quietLoop, hostile: hostileLoop } },
    };
  } finally {
    await debrief.stop();
  }
}
