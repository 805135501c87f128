// Runs the fuzzer: starts Debrief as its own process (on SQLite, or on a PostgreSQL database of its own) against a
// loopback LLM that always answers and a loopback receiver, sends the generated requests, and reports every answer by
// status and the service's event-loop delay. Any 5xx, any request unanswered after 10 s, a crash, an accepted call that
// later fails, or a request answered other than it must be (a forged signature not a 401) is a failure.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { Agent, request as send } from "undici";
import { answerFor, startFakeLlm } from "../test/support/fake-llm.js";
import { startReceiver } from "../test/support/receiver.js";
import { createTestDatabase, type TestDatabase } from "../test/support/postgres.js";
import { spawnService } from "../test/support/spawn-service.js";
import { callRequests, extractRequests, SIGNED_PROFILES, toSend, type FuzzRequest } from "./generators.js";

export interface FuzzOptions {
  extract: number;
  calls: number;
  seed: number;
  /** `dist`: the build `npm start` runs (npm run fuzz); `src`: TypeScript through tsx (the test suite's slice). */
  entry: "src" | "dist";
  /** Requests in flight at once (default 4). */
  concurrency?: number;
  /** Store calls and deliveries in a PostgreSQL database of the run's own (at 127.0.0.1:5432, as the tests use) instead of SQLite. */
  postgres?: boolean;
  /** Progress lines, or nothing. */
  log?: (line: string) => void;
}

export interface FuzzFailure {
  kind: "5xx" | "hang" | "connection" | "crash" | "call_failed" | "call_stuck" | "unexpected_status" | "generator";
  what: string;
  detail: string;
}

export interface FuzzReport {
  seed: number;
  engine: "sqlite" | "postgres";
  /** route → status → count. */
  statuses: Record<string, Record<string, number>>;
  /** Of POST /v1/calls, those to the profiles with a secret: status → count. */
  signedProfiles: Record<string, number>;
  /** Final states of the calls answered 202. */
  calls: Record<string, number>;
  /** The service's own event-loop delay over the run (perf_hooks.monitorEventLoopDelay, via /metrics), in ms. */
  eventLoop: { p99: number; max: number };
  /** The five slowest requests, with what they were. */
  slowest: { ms: number; what: string }[];
  failures: FuzzFailure[];
  seconds: number;
}

const HANG_MS = 10_000;
const BATCH = 250;
const PROFILE = "fuzz";

/** p99 and max of the service's event-loop delay since the last reading, from its Prometheus metrics. */
async function eventLoopDelay(url: string): Promise<{ p99: number; max: number }> {
  const res = await send(`${url}/metrics`);
  const text = await res.body.text();
  const read = (name: string) => Number(new RegExp(`^debrief_nodejs_eventloop_lag_${name}_seconds (\\S+)$`, "m").exec(text)?.[1]) * 1_000;
  return { p99: read("p99"), max: read("max") };
}

/** Generates in batches with seeds derived from the run's, so a 2 MB string is never held 12,000 times over. */
function* generate(arbitrary: fc.Arbitrary<FuzzRequest>, count: number, seed: number): Generator<FuzzRequest> {
  for (let done = 0, batch = 0; done < count; batch += 1) {
    const size = Math.min(BATCH, count - done);
    yield* fc.sample(arbitrary, { seed: seed + batch * 7_919, numRuns: size });
    done += size;
  }
}

function* interleave<T>(a: Iterator<T>, b: Iterator<T>, ratio: number): Generator<T> {
  for (let i = 0; ; i += 1) {
    const first = i % (ratio + 1) === ratio ? b : a;
    const next = first.next();
    if (!next.done) {
      yield next.value;
      continue;
    }
    const other = (first === a ? b : a).next();
    if (other.done) return;
    yield other.value;
  }
}

export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const log = options.log ?? (() => undefined);
  const started = performance.now();
  const dir = mkdtempSync(join(tmpdir(), "debrief-fuzz-"));
  // Always a valid answer: every variable null (and, when evidence is asked for, no evidence either).
  const llm = await startFakeLlm((request) => {
    const schema = request.body.response_format?.json_schema?.schema as { properties?: Record<string, unknown> } | undefined;
    const answer = answerFor(request);
    return { json: schema?.properties?.evidence ? answerFor(request, {}, Object.fromEntries(Object.keys(answer.values).map((name) => [name, null]))) : answer };
  });
  const receiver = await startReceiver();
  const database: TestDatabase | undefined = options.postgres ? await createTestDatabase() : undefined;
  const config = join(dir, "debrief.json");
  writeFileSync(
    config,
    JSON.stringify({
      profiles: {
        [PROFILE]: {
          system_prompt: "Qualify the caller and book a visit.",
          variables: [
            { name: "budget", type: "number", description: "Budget the customer states, in USD" },
            { name: "service_type", type: "enum", options: ["cleaning", "repair"], description: "What the customer needs" },
            { name: "appointment_date", type: "date", description: "The date the visit is booked for" },
          ],
          destinations: ["crm", "slack"],
        },
        ...Object.fromEntries(
          Object.values(SIGNED_PROFILES).map((profile) => [profile.name, { source: profile.source, inbound: { secret: profile.secret }, destinations: ["crm"] }]),
        ),
      },
      destinations: {
        crm: { url: receiver.url },
        slack: { url: receiver.url, when: "$exists(extracted_variables)", transform: "{ 'text': 'Call ' & debrief.call_id & ': ' & $string(extracted_variables.summary) }" },
      },
      extraction: { retry: { max_attempts: 2, initial_delay_ms: 100, max_delay_ms: 200 } },
    }),
  );
  const service = await spawnService(
    {
      OPENAI_BASE_URL: llm.url,
      OPENAI_API_KEY: "fuzz",
      DEBRIEF_CONFIG: config,
      DEBRIEF_ALLOW_PRIVATE_DESTINATIONS: "true",
      DEBRIEF_DATA_DIR: join(dir, "data"),
      DEBRIEF_RATE_LIMIT: "0",
      DEBRIEF_LLM_MAX_RETRIES: "0",
      LOG_LEVEL: "error",
      ...(database ? { DEBRIEF_DATABASE_URL: database.url } : {}),
    },
    { entry: options.entry },
  );
  let crashed = false;
  void service.exited.then(() => (crashed = true));
  // Warm up (modules load, the worker pool starts) before anything is measured.
  for (const path of ["/v1/extract", `/v1/calls?profile=${PROFILE}`]) {
    const res = await send(`${service.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id: "warm-up", transcript: `AI: Hi.\nCustomer: ${"Yes. ".repeat(30_000)}` }),
    });
    await res.body.dump();
  }

  const statuses: Record<string, Record<string, number>> = { "/v1/extract": {}, "/v1/calls": {} };
  const signedProfiles: Record<string, number> = {};
  // Idle connections are let go well before the server's keep-alive timeout (5 s) would close them under us.
  const client = new Agent({ keepAliveTimeout: 1_000, keepAliveMaxTimeout: 1_000 });
  const failures: FuzzFailure[] = [];
  const accepted: string[] = [];
  const slowest: { ms: number; what: string }[] = [];

  // Reading the metrics resets the event-loop delay histogram: the second reading covers the run alone.
  await eventLoopDelay(service.url);
  const requests = interleave(
    generate(extractRequests, options.extract, options.seed),
    generate(callRequests(PROFILE), options.calls, options.seed + 1),
    Math.max(1, Math.round(options.extract / Math.max(1, options.calls))),
  );
  let sentCount = 0;
  const total = options.extract + options.calls;
  const retried = new Set<FuzzRequest>();
  const pendingRetries: FuzzRequest[] = [];
  const nextRequest = (): FuzzRequest | undefined => pendingRetries.shift() ?? requests.next().value ?? undefined;
  const worker = async () => {
    for (let req = nextRequest(); req && !crashed; req = nextRequest()) {
      const path = req.route === "extract" ? "/v1/extract" : "/v1/calls";
      let sending: { headers: Record<string, string>; body: Buffer };
      try {
        sending = toSend(req);
      } catch (error) {
        // The generator's own bug: reported, and the run goes on to stop the service as it should.
        failures.push({ kind: "generator", what: req.describe, detail: String(error) });
        continue;
      }
      const { headers, body } = sending;
      const sent = performance.now();
      try {
        const res = await send(`${service.url}${path}${req.query}`, {
          method: "POST",
          headers,
          body,
          signal: AbortSignal.timeout(HANG_MS),
          dispatcher: client,
        });
        const text = await res.body.text();
        slowest.push({ ms: performance.now() - sent, what: `${res.statusCode} ${req.describe}` });
        slowest.sort((a, b) => b.ms - a.ms).splice(5);
        statuses[path]![res.statusCode] = (statuses[path]![res.statusCode] ?? 0) + 1;
        if (req.signing) signedProfiles[res.statusCode] = (signedProfiles[res.statusCode] ?? 0) + 1;
        if (res.statusCode >= 500) failures.push({ kind: "5xx", what: req.describe, detail: `${res.statusCode} ${text.slice(0, 500)}` });
        else if (req.expect && !req.expect.includes(res.statusCode)) {
          failures.push({ kind: "unexpected_status", what: req.describe, detail: `${res.statusCode}, expected ${req.expect.join(" or ")}: ${text.slice(0, 300)}` });
        }
        if (req.route === "calls" && res.statusCode === 202) accepted.push((JSON.parse(text) as { call_id: string }).call_id);
      } catch (error) {
        const name = (error as Error).name;
        const kind = crashed ? "crash" : name === "TimeoutError" || name === "AbortError" ? "hang" : "connection";
        // A kept-alive connection the server closed as idle just as it was reused fails before the service saw the
        // request: sent again once, on a new connection, it is the service's failure only if it fails again.
        if (kind === "connection" && !retried.has(req)) {
          retried.add(req);
          pendingRetries.push(req);
        } else {
          failures.push({ kind, what: req.describe, detail: String(error) });
        }
      }
      if (retried.has(req) && pendingRetries.includes(req)) continue;
      sentCount += 1;
      if (sentCount % 1_000 === 0) log(`  ${sentCount} / ${total} sent, ${failures.length} failures`);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 4 }, worker));

  // Every call answered 202 must end extracted (delivered, or skipped when it did not complete), never failed.
  const calls: Record<string, number> = {};
  const deadline = Date.now() + 120_000;
  for (const id of crashed ? [] : accepted) {
    let state = "accepted";
    while (Date.now() < deadline) {
      const res = await send(`${service.url}/v1/calls/${id}`);
      const call = (await res.body.json()) as { state: string; last_error?: string; reason?: string };
      state = call.state;
      if (state === "extraction_failed") failures.push({ kind: "call_failed", what: id, detail: `${call.reason}: ${call.last_error}` });
      if (!["accepted", "extracting", "delivering"].includes(state)) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    if (["accepted", "extracting", "delivering"].includes(state)) failures.push({ kind: "call_stuck", what: id, detail: `still ${state} after 120 s` });
    calls[state] = (calls[state] ?? 0) + 1;
  }

  const eventLoop = crashed ? { p99: Number.NaN, max: Number.NaN } : await eventLoopDelay(service.url);
  if (crashed) failures.push({ kind: "crash", what: "the service process", detail: service.output().slice(-2_000) });
  else {
    service.child.kill("SIGTERM");
    const code = await service.exited;
    if (code !== 0) failures.push({ kind: "crash", what: "shutdown", detail: `exit ${code}: ${service.output().slice(-2_000)}` });
  }
  await Promise.all([llm.close(), receiver.close(), client.close()]);
  await database?.drop();
  rmSync(dir, { recursive: true, force: true });
  return {
    seed: options.seed,
    engine: database ? "postgres" : "sqlite",
    statuses,
    signedProfiles,
    calls,
    eventLoop,
    slowest,
    failures,
    seconds: Math.round((performance.now() - started) / 100) / 10,
  };
}

export function formatReport(report: FuzzReport): string {
  const line = (counts: Record<string, number>) =>
    Object.entries(counts)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([status, n]) => `${status} × ${n}`)
      .join(", ");
  const sent = Object.values(report.statuses).reduce((sum, counts) => sum + Object.values(counts).reduce((a, b) => a + b, 0), 0);
  const fiveXX = report.failures.filter((failure) => failure.kind === "5xx").length;
  const lines = [
    `seed ${report.seed}, ${report.engine}, ${report.seconds} s`,
    ...Object.entries(report.statuses).map(([route, counts]) => `POST ${route.padEnd(12)} ${line(counts)}`),
    `  of which to signed profiles: ${line(report.signedProfiles) || "none"}`,
    `accepted calls, final state: ${line(report.calls) || "none"}`,
    `the service's event-loop delay during the run: p99 ${report.eventLoop.p99.toFixed(1)} ms, max ${report.eventLoop.max.toFixed(1)} ms`,
    `slowest: ${report.slowest.map((entry) => `${Math.round(entry.ms)} ms (${entry.what.slice(0, 160)})`).join("\n         ")}`,
    `${fiveXX} × 5xx of ${sent}; ${report.failures.length} failures in all`,
  ];
  for (const failure of report.failures.slice(0, 20)) lines.push(`  ${failure.kind}: ${failure.detail.slice(0, 300)}\n    request: ${failure.what}`);
  return lines.join("\n");
}
