// Section 4: a burst of distinct requests far above the LLM concurrency bound: every one must succeed, the wall time
// should be requests ÷ bound × latency, and the memory the burst costs is the process's peak resident set.
import { dataDir, expectOk, llmBaseUrl, llmStats, resetLlmStats, type BenchContext, type SectionResult } from "../lib/context.js";
import { mergeResults } from "../lib/interleave.js";
import { statusKiB } from "../lib/processes.js";
import { extractBody, generateTranscript, UNIQUE_MARKER } from "../lib/transcripts.js";

const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

export async function concurrencyBurst(context: BenchContext): Promise<SectionResult> {
  const { requests, llmConcurrency, latencyMs } = context.plan.concurrency;
  const transcript = generateTranscript({ seed: 400, tokens: 2_000, withMarker: true });
  const body = JSON.stringify(extractBody(transcript, 10));
  const idealMs = Math.ceil(requests / llmConcurrency) * latencyMs;
  const debrief = await context.startDebrief("concurrency", {
    OPENAI_API_KEY: "bench",
    OPENAI_BASE_URL: llmBaseUrl(context, latencyMs),
    LOG_LEVEL: "info",
    DEBRIEF_LLM_CONCURRENCY: String(llmConcurrency),
    DEBRIEF_LLM_TIMEOUT: "60s",
    DEBRIEF_DATA_DIR: dataDir(context, "concurrency"),
  });
  try {
    const idleRssKiB = statusKiB(debrief.pid, "VmRSS");
    await expectOk(debrief, body.replaceAll(UNIQUE_MARKER, "burst-warm"));
    await resetLlmStats(context);
    const result = await context.load.run({
      kind: "http",
      url: `${debrief.url}/v1/extract`,
      body,
      runId: "burst",
      // One connection per request: all of them are in flight at once.
      connections: requests,
      maxRequests: requests,
      maxSeconds: Math.ceil((idealMs * 4) / 1000) + 30,
      timeoutSeconds: Math.ceil((idealMs * 3) / 1000) + 30,
      marker: UNIQUE_MARKER,
    });
    const peakRssKiB = statusKiB(debrief.pid, "VmHWM");
    const llm = await llmStats(context);
    const wallMs = result.lastResponseMs;
    return {
      id: "concurrency",
      title: `4. Concurrency: ${requests} concurrent distinct requests, ${latencyMs} ms LLM, DEBRIEF_LLM_CONCURRENCY=${llmConcurrency}${context.mode === "quick" ? " (QUICK: scaled down from 1,000 against a 1 s LLM)" : ""}`,
      figures: [
        {
          id: "concurrency.succeeded",
          label: "requests answered 200",
          value: result.ok,
          unit: "requests",
          baseline: { label: "sent", value: requests, unit: "requests" },
          ratio: round(result.ok / requests, 3),
          note: result.ok === requests ? "all succeeded" : `FAILED: ${JSON.stringify(result.statusCodes)}, ${result.errors} errors, ${result.timeouts} timeouts`,
        },
        {
          id: "concurrency.wall",
          label: "wall time, first request to last answer",
          value: round(wallMs / 1000),
          unit: "s",
          baseline: { label: `ideal ${requests}/${llmConcurrency} × ${latencyMs} ms`, value: idealMs / 1000, unit: "s" },
          ratio: round(wallMs / idealMs, 3),
        },
        {
          id: "concurrency.peak_llm_in_flight",
          label: "peak LLM calls in flight (seen by the fake LLM)",
          value: llm.peakInFlight,
          unit: "calls",
          baseline: { label: "DEBRIEF_LLM_CONCURRENCY", value: llmConcurrency, unit: "calls" },
          ratio: round(llm.peakInFlight / llmConcurrency, 3),
          note: `${llm.requests} LLM calls for ${requests} requests`,
        },
        {
          id: "concurrency.peak_rss",
          label: "Debrief peak RSS (VmHWM) after the burst",
          value: round(peakRssKiB / 1024, 1),
          unit: "MiB",
          baseline: { label: "RSS when idle after start", value: round(idleRssKiB / 1024, 1), unit: "MiB" },
          ratio: round(peakRssKiB / idleRssKiB),
        },
      ],
      notes: [
        `Each request: a distinct ~${transcript.tokens}-token call (${Math.round(Buffer.byteLength(body) / 1024)} KB body), 10 variables, cache on (all misses).`,
        `Client p50/p99 latency: ${round(result.latency.p50 / 1000)} s / ${round(result.latency.p99 / 1000)} s (queueing for an LLM slot is most of it, as designed).`,
      ],
      details: { result: mergeResults([result]), llm, idealMs, idleRssKiB, peakRssKiB },
    };
  } finally {
    await debrief.stop();
  }
}
