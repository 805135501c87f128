// Section 11: one LLM budget for every instance — N Debrief instances × concurrency against an account limit.
// Figures: what the fake LLM admitted per second once the first minute's burst is spent, against its limit, and the
// requests it refused (429), with DEBRIEF_LLM_RPM set to the limit (every instance sharing one budget through Redis)
// beside the same run without it (today's default: each instance retries its own refusals). Needs the Redis at
// 127.0.0.1:6379 (as the tests do).
import { randomBytes } from "node:crypto";
import { accountStats, dataDir, limitedLlmBaseUrl, type BenchContext, type Figure, type SectionResult } from "../lib/context.js";
import type { DebriefProcess } from "../lib/processes.js";
import { extractBody, generateTranscript, UNIQUE_MARKER } from "../lib/transcripts.js";

const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

const INSTANCES = 2;
/** Clients per instance, each one POST /v1/extract at a time; the instance's DEBRIEF_LLM_CONCURRENCY too. */
const CONCURRENCY = 4;
/** The account's limit: requests a minute, replenished continuously (a bucket of RPM refilled at RPM/60 a second). */
const RPM = 60;
const LLM_LATENCY_MS = 500;
const REDIS_URL = "redis://127.0.0.1:6379";

interface Run {
  limiter: boolean;
  /** Requests the server admitted a second once the first minute's burst was spent (to the end of the run). */
  admittedPerSecond: number;
  /** Seconds from the start to the burst being spent, and from then to the end: the steady window. */
  burstSeconds: number;
  steadySeconds: number;
  admitted: number;
  refused: number;
  /** /v1/extract answered 200, and anything else (once an instance gave up retrying), over the whole run. */
  ok: number;
  failed: number;
  statusCodes: Record<string, number>;
}

/** `CONCURRENCY` clients per instance posting distinct extractions until `endAt`; a request still open then is dropped. */
async function drive(instances: DebriefProcess[], body: string, endAt: number) {
  const answers: { at: number; status: number }[] = [];
  let next = 0;
  const client = async (instance: DebriefProcess) => {
    while (Date.now() < endAt) {
      const distinct = body.replaceAll(UNIQUE_MARKER, `budget-${next++}`);
      try {
        const response = await fetch(`${instance.url}/v1/extract`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: distinct,
          signal: AbortSignal.timeout(Math.max(1, endAt - Date.now())),
        });
        await response.arrayBuffer();
        answers.push({ at: Date.now(), status: response.status });
      } catch {
        // Cut at the end of the run: neither an answer nor a failure.
      }
    }
  };
  await Promise.all(instances.flatMap((instance) => Array.from({ length: CONCURRENCY }, () => client(instance))));
  return answers;
}

export async function llmBudget(context: BenchContext): Promise<SectionResult> {
  const { seconds } = context.plan.llmBudget;
  const transcript = generateTranscript({ seed: 1100, tokens: 1_000, withMarker: true });
  const body = JSON.stringify(extractBody(transcript, 6));
  const running: DebriefProcess[] = [];
  const stopAll = async () => void (await Promise.all(running.splice(0).map((instance) => instance.stop())));

  const measure = async (limiter: boolean): Promise<Run> => {
    // An account and a model name of this run's own: a fresh bucket at the server, fresh budget keys in Redis.
    const tag = randomBytes(4).toString("hex");
    const account = `budget-${limiter ? "on" : "off"}-${tag}`;
    const instances = await Promise.all(
      Array.from({ length: INSTANCES }, (_, index) =>
        context.startDebrief(`budget-${limiter ? "on" : "off"}-${index}`, {
          OPENAI_API_KEY: "bench",
          OPENAI_BASE_URL: limitedLlmBaseUrl(context, LLM_LATENCY_MS, RPM, account),
          LOG_LEVEL: "info",
          DEBRIEF_DATA_DIR: dataDir(context, `budget-${index}`),
          DEBRIEF_MODEL: `gpt-4o-mini-bench-${tag}`,
          DEBRIEF_CACHE: "false",
          DEBRIEF_LLM_CONCURRENCY: String(CONCURRENCY),
          DEBRIEF_REDIS_URL: REDIS_URL,
          ...(limiter ? { DEBRIEF_LLM_RPM: String(RPM) } : {}),
        }),
      ),
    );
    running.push(...instances);
    const startedAt = Date.now();
    const endAt = startedAt + seconds * 1000;
    const answers = await drive(instances, body, endAt);
    await stopAll();
    const server = await accountStats(context, account);
    // The steady window: from the moment the server's bucket first ran dry (the burst spent) to the end of the run.
    const from = server.exhaustedAt ?? endAt;
    const steadySeconds = (endAt - from) / 1000;
    const statusCodes: Record<string, number> = {};
    for (const answer of answers) statusCodes[answer.status] = (statusCodes[answer.status] ?? 0) + 1;
    const ok = answers.filter((answer) => answer.status === 200).length;
    return {
      limiter,
      admittedPerSecond: steadySeconds > 0 ? server.admitted.filter((at) => at > from && at <= endAt).length / steadySeconds : Number.NaN,
      burstSeconds: (from - startedAt) / 1000,
      steadySeconds,
      admitted: server.admitted.length,
      refused: server.refused,
      ok,
      failed: answers.length - ok,
      statusCodes,
    };
  };

  try {
    // Limiter off first: were the limiter's run first, the same Redis would hold nothing of it anyway (fresh keys).
    const off = await measure(false);
    const on = await measure(true);
    const limit = RPM / 60;
    const figures: Figure[] = [
      {
        id: "llm_budget.admitted_per_second",
        label: `LLM requests admitted per second once the burst is spent, DEBRIEF_LLM_RPM=${RPM}`,
        value: round(on.admittedPerSecond),
        unit: "req/s",
        baseline: { label: `the server's limit, ${RPM}/min`, value: round(limit), unit: "req/s" },
        ratio: round(on.admittedPerSecond / limit),
        note: `over the last ${round(on.steadySeconds, 1)} s (burst spent at ${round(on.burstSeconds, 1)} s); without DEBRIEF_LLM_RPM: ${round(off.admittedPerSecond)} req/s over ${round(off.steadySeconds, 1)} s`,
      },
      {
        id: "llm_budget.refused",
        label: `LLM requests refused (429) over the run, DEBRIEF_LLM_RPM=${RPM}`,
        value: on.refused,
        unit: "requests",
        baseline: { label: "without DEBRIEF_LLM_RPM", value: off.refused, unit: "requests" },
        note: `of ${on.admitted + on.refused} sent, ${on.admitted} admitted (without: ${off.admitted + off.refused} sent, ${off.admitted} admitted)`,
      },
      {
        id: "llm_budget.extracted",
        label: `POST /v1/extract answered 200 over the run, DEBRIEF_LLM_RPM=${RPM}`,
        value: on.ok,
        unit: "calls",
        baseline: { label: "without DEBRIEF_LLM_RPM", value: off.ok, unit: "calls" },
        ratio: off.ok > 0 ? round(on.ok / off.ok) : undefined,
      },
      {
        id: "llm_budget.failed",
        label: `POST /v1/extract answered other than 200, DEBRIEF_LLM_RPM=${RPM}`,
        value: on.failed,
        unit: "requests",
        baseline: { label: "without DEBRIEF_LLM_RPM", value: off.failed, unit: "requests" },
        note: `with: ${JSON.stringify(on.statusCodes)}; without: ${JSON.stringify(off.statusCodes)}`,
      },
    ];
    return {
      id: "llm_budget",
      title: `11. One LLM budget: ${INSTANCES} instances × ${CONCURRENCY} concurrent extractions against an account allowing ${RPM} requests a minute (${LLM_LATENCY_MS} ms LLM, ${seconds} s a run)`,
      figures,
      notes: [
        `The server's limit is a bucket of ${RPM} requests refilled at ${round(limit)} a second, as OpenAI's: the first minute allows a burst of ${RPM}, spent in the first seconds at this load. Admitted per second counts from the moment the server's bucket first ran dry to the end of the run; requests cut at the run's end count neither way.`,
        `With DEBRIEF_LLM_RPM=${RPM} both instances take from one token bucket in Redis, and requests wait for the budget instead of being refused. Without it (today's default), each instance sends what its DEBRIEF_LLM_CONCURRENCY allows and backs off only after a 429 (its retry-after, shared through Redis, holds the model's requests for that long); after DEBRIEF_LLM_MAX_RETRIES=3 retries the extraction fails.`,
        "The same Redis, instances, load and transcript in both runs; only DEBRIEF_LLM_RPM differs. Each run has a server account and a model name of its own, so neither run's buckets carry over.",
      ],
      details: { instances: INSTANCES, concurrency: CONCURRENCY, rpm: RPM, latencyMs: LLM_LATENCY_MS, seconds, runs: [off, on] },
    };
  } finally {
    await stopAll();
  }
}
