// Section 7: delivery — the post-call pipeline (POST /v1/calls → extraction worker → outbox → signed webhook).
// Measured only when src/calls exists with a POST /calls route; otherwise the section says it is not measured yet.
// Figures: how long accepting a call takes beside a bare Express parse+echo of the same payload, and how long from
// accept to the webhook arriving at a loopback receiver, beside a synchronous POST /v1/extract of the same call.
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { dataDir, expectOk, llmBaseUrl, type BenchContext, type SectionResult } from "../lib/context.js";
import { mergeResults } from "../lib/interleave.js";
import { startReportingServer } from "../lib/processes.js";
import { summarize } from "../lib/stats.js";
import { extractBody, generateTranscript, UNIQUE_MARKER, VARIABLE_POOL } from "../lib/transcripts.js";
import { requireAllOk } from "./overhead.js";

/** Does src/calls exist with a route that answers POST /v1/calls? */
export function deliveryLanded(root: string): boolean {
  const calls = join(root, "src", "calls");
  if (!existsSync(calls)) return false;
  const sources = readdirSync(calls, { recursive: true, encoding: "utf8" }).filter((name) => name.endsWith(".ts"));
  return sources.some((name) => /\.post\(\s*["'`](?:\/v1)?\/calls["'`]/.test(readFileSync(join(calls, name), "utf8")));
}

const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

interface Received {
  id: string;
  at: number;
  signed: boolean;
}

/** The pipeline configuration of the bench: profile `bench` (10 variables), one signed destination at the receiver. */
export function writeBenchPipelineConfig(context: BenchContext, name: string, receiverUrl: string): string {
  const file = join(context.runDir, `${name}-config.json`);
  writeFileSync(
    file,
    JSON.stringify({
      profiles: { bench: { variables: VARIABLE_POOL.slice(0, 10), destinations: ["crm"] } },
      destinations: { crm: { url: `${receiverUrl}/hook`, secret: `whsec_${randomBytes(24).toString("base64")}` } },
    }),
  );
  return file;
}

async function postCall(url: string, body: unknown, path = "/v1/calls?profile=bench"): Promise<{ status: number; ms: number; acceptedAt: number }> {
  const sent = performance.now();
  const response = await fetch(`${url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  await response.arrayBuffer();
  const now = performance.now();
  return { status: response.status, ms: now - sent, acceptedAt: performance.timeOrigin + now };
}

export async function delivery(context: BenchContext): Promise<SectionResult> {
  if (!deliveryLanded(context.root)) {
    return { id: "delivery", title: "7. Delivery", figures: [], notes: ["delivery: not measured yet (pipeline not landed)"], details: { landed: false } };
  }
  const { sequential, calls, concurrency } = context.plan.delivery;
  const transcript = generateTranscript({ seed: 700, tokens: 2_000, withMarker: true });
  const payload = (id: string) => ({
    id,
    status: "completed",
    transcript: transcript.text.replaceAll(UNIQUE_MARKER, id),
    created_at: "2026-06-12T14:22:01Z",
    timezone: "America/New_York",
    customer_phone: "+15555550100",
  });

  const [receiver, echo] = await Promise.all([
    startReportingServer("webhook receiver", join(context.root, "bench", "webhook-receiver.ts")),
    startReportingServer("echo baseline", join(context.root, "bench", "echo-server.ts"), ["2mb"]),
  ]);
  const configFile = writeBenchPipelineConfig(context, "delivery", receiver.url);
  const debrief = await context.startDebrief("delivery", {
    OPENAI_API_KEY: "bench",
    OPENAI_BASE_URL: llmBaseUrl(context, 0),
    LOG_LEVEL: "info",
    DEBRIEF_CONFIG: configFile,
    DEBRIEF_ALLOW_PRIVATE_DESTINATIONS: "true",
    DEBRIEF_DATA_DIR: dataDir(context, "delivery"),
  });
  const extractBodyFor = (id: string) => JSON.stringify(extractBody(transcript, 10)).replaceAll(UNIQUE_MARKER, id);
  const waitFor = async (id: string): Promise<Received | null> => (await (await fetch(`${receiver.url}/__bench/wait?id=${id}`)).json()) as Received | null;
  try {
    // Warm both paths, then alternate: one call through the pipeline (waiting for its webhook), then the same call
    // through the synchronous API, so that the idle pipeline's latency sits beside what extraction alone takes.
    for (let i = 0; i < 5; i += 1) {
      await expectOk(debrief, extractBodyFor(`sync-warm-${i}`));
      const warm = await postCall(debrief.url, payload(`warm-${i}`));
      if (warm.status !== 202) throw new Error(`POST /v1/calls answered ${warm.status}`);
      if (!(await waitFor(`warm-${i}`))) throw new Error("a warm-up call's webhook never arrived");
    }
    const idleMs: number[] = [];
    const syncMs: number[] = [];
    for (let i = 0; i < sequential; i += 1) {
      const id = `idle-${i}`;
      const accepted = await postCall(debrief.url, payload(id));
      if (accepted.status !== 202) throw new Error(`POST /v1/calls answered ${accepted.status}`);
      const arrived = await waitFor(id);
      if (!arrived) throw new Error(`the webhook of ${id} did not arrive within 30 s`);
      idleMs.push(arrived.at - accepted.acceptedAt);
      syncMs.push((await expectOk(debrief, extractBodyFor(`sync-${i}`))).ms);
    }

    // Accept-path baseline: the echo server parsing the same payloads, same client count.
    const echoRun = await context.load.run({
      kind: "http",
      url: `${echo.url}/v1/extract`,
      body: JSON.stringify(payload(UNIQUE_MARKER)),
      runId: "echo-calls",
      connections: concurrency,
      maxRequests: calls,
      maxSeconds: 30,
      timeoutSeconds: 10,
      marker: UNIQUE_MARKER,
    });
    requireAllOk(echoRun, "echo baseline for calls");

    // The same burst against the echo baseline, from the same client code (fetch, `concurrency` loops in this process):
    // autocannon above costs the client less than fetch, so only this one is the burst's like-for-like baseline.
    const echoMs: number[] = [];
    let nextEcho = 0;
    const echoClient = async () => {
      while (nextEcho < calls) {
        const echoed = await postCall(echo.url, payload(`echo-${nextEcho++}`), "/v1/extract");
        if (echoed.status !== 200) throw new Error(`the echo baseline answered ${echoed.status}`);
        echoMs.push(echoed.ms);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, echoClient));

    // The burst: `calls` calls from `concurrency` clients as fast as they are accepted.
    const acceptedAt = new Map<string, number>();
    const acceptMs: number[] = [];
    const statuses: Record<string, number> = {};
    let next = 0;
    const burstStarted = performance.timeOrigin + performance.now();
    const client = async () => {
      while (next < calls) {
        const id = `burst-${next++}`;
        const accepted = await postCall(debrief.url, payload(id));
        acceptMs.push(accepted.ms);
        acceptedAt.set(id, accepted.acceptedAt);
        statuses[accepted.status] = (statuses[accepted.status] ?? 0) + 1;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, client));
    if ((statuses[202] ?? 0) !== calls) throw new Error(`POST /v1/calls answered ${JSON.stringify(statuses)} for ${calls} calls`);
    let delivered: Received[] = [];
    const deadline = performance.now() + 120_000;
    while (performance.now() < deadline) {
      const received = (await (await fetch(`${receiver.url}/__bench/received`)).json()) as Received[];
      delivered = received.filter((entry) => acceptedAt.has(entry.id));
      if (delivered.length >= calls) break;
      await sleep(50);
    }
    const burstMs = Math.max(...delivered.map((entry) => entry.at)) - burstStarted;
    const endToEnd = delivered.map((entry) => entry.at - acceptedAt.get(entry.id)!);
    const idle = summarize(idleMs);
    const sync = summarize(syncMs);
    const accept = summarize(acceptMs);
    const echoBurst = summarize(echoMs);
    const burst = summarize(endToEnd);
    const calls_s = (calls * 1000) / burstMs;
    return {
      id: "delivery",
      title: `7. Delivery: POST /v1/calls → extraction worker → outbox → signed webhook to a loopback receiver (0 ms LLM)`,
      figures: [
        {
          id: "delivery.idle_p50",
          label: `one call at a time: accepted → webhook received, median`,
          value: round(idle.p50),
          unit: "ms",
          baseline: { label: "POST /v1/extract of the same call, p50", value: round(sync.p50), unit: "ms" },
          ratio: round(idle.p50 / sync.p50),
          note: `${sequential} calls, alternating with the baseline`,
        },
        {
          id: "delivery.idle_p99",
          label: "one call at a time: accepted → webhook received, p99",
          value: round(idle.p99),
          unit: "ms",
          baseline: { label: "POST /v1/extract of the same call, p99", value: round(sync.p99), unit: "ms" },
          ratio: round(idle.p99 / sync.p99),
        },
        {
          id: "delivery.burst_delivered",
          label: `burst of ${calls} calls from ${concurrency} clients: webhooks received`,
          value: delivered.length,
          unit: "calls",
          baseline: { label: "accepted (202)", value: calls, unit: "calls" },
          ratio: round(delivered.length / calls, 3),
          note: `${delivered.filter((entry) => entry.signed).length} signed; ${round(calls_s, 1)} calls/s delivered`,
        },
        {
          id: "delivery.burst_accept_p50",
          label: "burst: POST /v1/calls → 202, median",
          value: round(accept.p50),
          unit: "ms",
          baseline: { label: "bare Express parse+echo of the payload, same client, p50", value: round(echoBurst.p50), unit: "ms" },
          ratio: round(accept.p50 / echoBurst.p50),
          note: `autocannon against the echo: p50 ${round(echoRun.latency.p50)} ms`,
        },
        {
          id: "delivery.burst_accept_p99",
          label: "burst: POST /v1/calls → 202, p99",
          value: round(accept.p99),
          unit: "ms",
          baseline: { label: "bare Express parse+echo, same client, p99", value: round(echoBurst.p99), unit: "ms" },
          ratio: round(accept.p99 / echoBurst.p99),
          note: `autocannon against the echo: p99 ${round(echoRun.latency.p99)} ms`,
        },
        {
          id: "delivery.burst_end_to_end_p99",
          label: "burst: accepted → webhook received, p99",
          value: round(burst.p99),
          unit: "ms",
          note: `median ${round(burst.p50)} ms; the calls queue in the worker, so this is mostly waiting`,
        },
      ],
      notes: [
        `A ~${transcript.tokens}-token call, 10 variables, a profile with one signed (Standard Webhooks) destination at bench/webhook-receiver.ts, its own process; times are the receiver's arrival clock minus the client's 202 clock.`,
      ],
      details: { idle, syncExtract: sync, accept, echoBurst, burstEndToEnd: burst, burstMs, echo: mergeResults([echoRun]), statuses },
    };
  } finally {
    await debrief.stop();
    receiver.child.kill("SIGTERM");
    echo.child.kill("SIGTERM");
  }
}
