// Sections 1 and 2: what Debrief adds to one LLM call, measured beside a bare `openai` SDK call sending the very
// same request to the same fake LLM, at a realistic latency (ratios) and at zero latency (absolute ms and CPU ms).
import {
  dataDir,
  expectOk,
  lastLlmRequest,
  llmBaseUrl,
  type BenchContext,
  type Figure,
  type SectionResult,
} from "../lib/context.js";
import { interleave } from "../lib/interleave.js";
import type { DebriefProcess } from "../lib/processes.js";
import { CALL_SIZES, extractBody, generateTranscript, UNIQUE_MARKER, type Transcript } from "../lib/transcripts.js";

export const OVERHEAD_VARIABLES = 10;

interface CallCase {
  name: "10-minute" | "60-minute";
  transcript: Transcript;
  /** The request body, with UNIQUE_MARKER in the transcript's first line. */
  body: string;
}

export function overheadCases(): CallCase[] {
  return (["10-minute", "60-minute"] as const).map((name, index) => {
    const transcript = generateTranscript({ seed: 100 + index, tokens: CALL_SIZES[name].tokens, withMarker: true });
    return { name, transcript, body: JSON.stringify(extractBody(transcript, OVERHEAD_VARIABLES)) };
  });
}

/** Debrief settings for the overhead runs: enough LLM slots that nothing queues, the cache on (every request a miss). */
export function overheadEnv(context: BenchContext, name: string, latencyMs: number): Record<string, string> {
  return {
    OPENAI_API_KEY: "bench",
    OPENAI_BASE_URL: llmBaseUrl(context, latencyMs),
    LOG_LEVEL: "info",
    DEBRIEF_LLM_CONCURRENCY: "64",
    DEBRIEF_MAX_BODY: "2mb",
    DEBRIEF_DATA_DIR: dataDir(context, name),
  };
}

/**
 * Warms Debrief with distinct requests, then sends one whose transcript still holds the marker (cache bypassed) and
 * returns the chat request Debrief made of it: the bare-SDK baseline replays exactly that, with the marker replaced.
 */
export async function warmAndCapture(context: BenchContext, debrief: DebriefProcess, call: CallCase, warmup: number): Promise<string> {
  for (let i = 0; i < warmup; i += 1) await expectOk(debrief, call.body.replaceAll(UNIQUE_MARKER, `warm-${call.name}-${i}`));
  const body = JSON.parse(call.body) as Record<string, unknown>;
  await expectOk(debrief, { ...body, options: { cache: false } });
  const chat = await lastLlmRequest(context);
  if (!chat.includes(UNIQUE_MARKER)) throw new Error("the captured LLM request does not hold the transcript marker");
  return chat;
}

export function requireAllOk(result: { ok: number; non2xx: number; errors: number; statusCodes: Record<string, number> }, what: string): void {
  if (result.ok === 0 || result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${what}: ${result.ok} ok, ${result.non2xx} non-2xx (${JSON.stringify(result.statusCodes)}), ${result.errors} errors`);
  }
}

const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

export async function overheadAtLatency(context: BenchContext): Promise<SectionResult> {
  const latencyMs = 500;
  const plan = context.plan.overhead500;
  const debrief = await context.startDebrief("overhead-500ms", overheadEnv(context, "overhead-500ms", latencyMs));
  const figures: Figure[] = [];
  const details: Record<string, unknown> = {};
  try {
    for (const call of overheadCases()) {
      const chat = await warmAndCapture(context, debrief, call, plan.warmup);
      const bounds = { connections: plan.connections, maxRequests: plan.maxRequests, maxSeconds: plan.seconds, timeoutSeconds: 30, marker: UNIQUE_MARKER };
      const { sdk, service } = await interleave(
        context.load,
        {
          sdk: { kind: "sdk", baseURL: llmBaseUrl(context, latencyMs), body: chat, runId: `sdk500-${call.name}`, ...bounds },
          service: { kind: "http", url: `${debrief.url}/v1/extract`, body: call.body, runId: `d500-${call.name}`, ...bounds },
        },
        { rounds: context.plan.rounds },
      );
      requireAllOk(sdk, `bare SDK, ${call.name}`);
      requireAllOk(service, `Debrief, ${call.name}`);
      details[call.name] = { transcriptTokens: call.transcript.tokens, debrief: service, bareSdk: sdk };
      for (const p of ["p50", "p99"] as const) {
        figures.push({
          id: `overhead_500ms.${call.name}.${p}`,
          label: `${call.name} call (~${call.transcript.tokens} tok), ${p === "p50" ? "median" : "p99"} end-to-end`,
          value: round(service.latency[p], 1),
          unit: "ms",
          baseline: { label: `bare SDK call, ${p}`, value: round(sdk.latency[p], 1), unit: "ms" },
          ratio: round(service.latency[p] / sdk.latency[p], 3),
        });
      }
    }
  } finally {
    await debrief.stop();
  }
  return {
    id: "overhead_500ms",
    title: `1. Overhead at ${latencyMs} ms LLM latency (POST /v1/extract ÷ bare openai SDK call, same request, same LLM server)`,
    figures,
    notes: [
      `${OVERHEAD_VARIABLES} request variables (+ the status and summary defaults), ${context.plan.overhead500.connections} concurrent clients, every request a distinct transcript (cache on, all misses), LOG_LEVEL=info; ${plan.seconds} s per side in ${context.plan.rounds} alternating slice(s).`,
      "Ideal ratio: 1.00. The baseline replays the exact chat request Debrief sent (captured from the fake LLM).",
    ],
    details,
  };
}

export async function overheadAtZero(context: BenchContext): Promise<SectionResult> {
  const plan = context.plan.overhead0;
  const debrief = await context.zeroLatencyDebrief();
  const figures: Figure[] = [];
  const details: Record<string, unknown> = {};
  for (const call of overheadCases()) {
    const chat = await warmAndCapture(context, debrief, call, plan.warmup);
    const bounds = { connections: 1, maxRequests: plan.maxRequests, maxSeconds: plan.seconds, timeoutSeconds: 30, marker: UNIQUE_MARKER };
    const { sdk, service } = await interleave(
      context.load,
      {
        sdk: { kind: "sdk", baseURL: llmBaseUrl(context, 0), body: chat, runId: `sdk0-${call.name}`, ...bounds },
        service: { kind: "http", url: `${debrief.url}/v1/extract`, body: call.body, runId: `d0-${call.name}`, ...bounds },
      },
      { rounds: context.plan.rounds, cpuPids: { service: debrief.pid } },
    );
    requireAllOk(sdk, `bare SDK, ${call.name}`);
    requireAllOk(service, `Debrief, ${call.name}`);
    const cpuMs = service.cpuMs ?? Number.NaN;
    const cpuPerRequest = cpuMs / service.completed;
    details[call.name] = { transcriptTokens: call.transcript.tokens, debrief: service, bareSdk: sdk, debriefCpuMs: cpuMs };
    const tokens = `~${call.transcript.tokens} tok`;
    figures.push(
      {
        id: `overhead_0ms.${call.name}.p50`,
        label: `${call.name} call (${tokens}), median end-to-end`,
        value: round(service.latency.p50),
        unit: "ms",
        baseline: { label: "bare SDK call, p50", value: round(sdk.latency.p50), unit: "ms" },
        ratio: round(service.latency.p50 / sdk.latency.p50),
      },
      {
        id: `overhead_0ms.${call.name}.p99`,
        label: `${call.name} call, p99 end-to-end`,
        value: round(service.latency.p99),
        unit: "ms",
        baseline: { label: "bare SDK call, p99", value: round(sdk.latency.p99), unit: "ms" },
        ratio: round(service.latency.p99 / sdk.latency.p99),
      },
      {
        id: `overhead_0ms.${call.name}.added_p50`,
        label: `${call.name} call, time Debrief adds (median)`,
        value: round(service.latency.p50 - sdk.latency.p50),
        unit: "ms/request",
        baseline: { label: "bare SDK call, p50", value: round(sdk.latency.p50), unit: "ms" },
      },
      {
        id: `overhead_0ms.${call.name}.cpu`,
        label: `${call.name} call, Debrief CPU (user+sys)`,
        value: round(cpuPerRequest),
        unit: "CPU ms/request",
        baseline: { label: "per 1k transcript tokens", value: round((cpuPerRequest * 1000) / call.transcript.tokens), unit: "CPU ms" },
        note: `${service.completed} requests; /proc/<pid>/stat utime+stime`,
      },
    );
  }
  return {
    id: "overhead_0ms",
    title: "2. Overhead at 0 ms LLM latency (one client at a time)",
    figures,
    notes: [
      `${OVERHEAD_VARIABLES} request variables, distinct transcripts (cache on, all misses), LOG_LEVEL=info; ${plan.seconds} s per side in ${context.plan.rounds} alternating slice(s). CPU is Debrief's whole process (every thread), from /proc/<pid>/stat, over Debrief's slices only.`,
      "On 2 cores the fake LLM and the load generator run beside Debrief, so these are upper bounds of a quiet machine's cost.",
    ],
    details,
  };
}
