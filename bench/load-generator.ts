// The load generator, forked by the bench as its own process: drives Debrief (or the echo baseline) with autocannon,
// and drives the fake LLM directly with the `openai` SDK for the bare-call baseline. Jobs arrive over IPC.
import autocannon from "autocannon";
import OpenAI from "openai";
import type { ChatCompletionCreateParamsNonStreaming } from "openai/resources/chat/completions";
import type { JobBounds, LoadJob, LoadResult } from "./lib/load-job.js";
import { summarize } from "./lib/stats.js";

type Message = { id: number; job: LoadJob };
type Reply = { id: number; ok: true; result: LoadResult } | { id: number; ok: false; error: string };

function bodyFor(job: JobBounds & { body: string }, n: number): string {
  return job.marker ? job.body.replaceAll(job.marker, `${job.runId}-${n}`) : job.body;
}

async function runHttp(job: Extract<LoadJob, { kind: "http" }>): Promise<LoadResult> {
  const latencies: number[] = [];
  const statusCodes: Record<string, number> = {};
  let issued = 0;
  let completed = 0;
  let lastResponseAt = 0;
  const started = performance.now();
  let finish: (outcome: { error: unknown; result: autocannon.Result }) => void = () => {};
  const finished = new Promise<{ error: unknown; result: autocannon.Result }>((resolve) => (finish = resolve));
  const options: autocannon.Options = {
    url: job.url,
    connections: job.connections,
    amount: job.maxRequests,
    timeout: job.timeoutSeconds,
    headers: { "content-type": "application/json" },
    requests: [
      {
        method: "POST",
        setupRequest: (request) => {
          request.body = bodyFor(job, issued++);
          return request;
        },
      },
    ],
  };
  const instance = autocannon(options, (error: unknown, result: autocannon.Result) => finish({ error, result }));
  // autocannon's own histogram rounds to whole milliseconds; these are the exact times it measured.
  instance.on("response", (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
    completed += 1;
    lastResponseAt = performance.now();
    statusCodes[statusCode] = (statusCodes[statusCode] ?? 0) + 1;
    if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
  });
  const timer = setTimeout(() => instance.stop(), job.maxSeconds * 1000);
  const { error, result } = await finished;
  clearTimeout(timer);
  if (error) throw error instanceof Error ? error : new Error(String(error));
  const wallMs = performance.now() - started;
  return {
    completed,
    ok: latencies.length,
    non2xx: completed - latencies.length,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
    wallMs,
    lastResponseMs: lastResponseAt ? lastResponseAt - started : 0,
    rps: latencies.length / (wallMs / 1000),
    latency: summarize(latencies),
    samples: latencies,
  };
}

async function runSdk(job: Extract<LoadJob, { kind: "sdk" }>): Promise<LoadResult> {
  const client = new OpenAI({ baseURL: job.baseURL, apiKey: "bench", maxRetries: 0, timeout: job.timeoutSeconds * 1000 });
  const latencies: number[] = [];
  let issued = 0;
  let errors = 0;
  let lastResponseAt = 0;
  const started = performance.now();
  const deadline = started + job.maxSeconds * 1000;
  const worker = async () => {
    while (issued < job.maxRequests && performance.now() < deadline) {
      const params = JSON.parse(bodyFor(job, issued++)) as ChatCompletionCreateParamsNonStreaming;
      const sent = performance.now();
      try {
        await client.chat.completions.create(params);
        lastResponseAt = performance.now();
        latencies.push(lastResponseAt - sent);
      } catch {
        errors += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: job.connections }, worker));
  const wallMs = performance.now() - started;
  return {
    completed: latencies.length + errors,
    ok: latencies.length,
    non2xx: 0,
    errors,
    timeouts: 0,
    statusCodes: { 200: latencies.length },
    wallMs,
    lastResponseMs: lastResponseAt ? lastResponseAt - started : 0,
    rps: latencies.length / (wallMs / 1000),
    latency: summarize(latencies),
    samples: latencies,
  };
}

process.on("message", (message: Message) => {
  const run = message.job.kind === "http" ? runHttp(message.job) : runSdk(message.job);
  run.then(
    (result) => process.send?.({ id: message.id, ok: true, result } satisfies Reply),
    (error: unknown) => process.send?.({ id: message.id, ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) } satisfies Reply),
  );
});
process.on("disconnect", () => process.exit(0));
