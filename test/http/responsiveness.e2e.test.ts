// Hostile input must not stall the service: while a 2 MB transcript of one repeated character is being extracted
// (through /v1/extract, and through /v1/calls and its background worker), the event loop keeps answering /healthz,
// and the request itself ends. Tokenising such a run used to hold the loop for tens of seconds.
import { mkdtempSync, writeFileSync } from "node:fs";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { answerFor, startFakeLlm, type FakeLlm } from "../support/fake-llm.js";
import { until } from "../support/poll.js";
import { startReceiver, type Receiver } from "../support/receiver.js";
import { startTestService, type TestService } from "../support/service.js";
import { tokenCounter } from "../../src/transcript/index.js";

/**
 * Generous bounds on a shared 2-core machine (the targets are 50 ms and 3 s; on a quiet machine the worst probe is about
 * 60-100 ms, under a load average of 8 it reached 240 ms): a probe and the loop's worst delay under 1 s, the request
 * within 15 s. Before the fix the loop was held for over 30 s, so the bounds still tell the two apart.
 */
const MAX_PROBE_MS = 1_000;
const MAX_LOOP_DELAY_MS = 1_000;

const HUGE = "A".repeat(2_000_000);

let llm: FakeLlm;
let crm: Receiver;
let service: TestService;

beforeAll(async () => {
  llm = await startFakeLlm((request) => ({ json: answerFor(request, { status: true, summary: "long call" }) }));
  crm = await startReceiver();
  const dir = mkdtempSync(join(tmpdir(), "debrief-responsive-"));
  const config = join(dir, "debrief.json");
  writeFileSync(config, JSON.stringify({ profiles: { p: { destinations: ["crm"] } }, destinations: { crm: { url: crm.url } } }));
  service = await startTestService({ OPENAI_BASE_URL: llm.url, DEBRIEF_CONFIG: config, DEBRIEF_ALLOW_PRIVATE_DESTINATIONS: "true" });
  // Warm the worker pool and the tokenizer, so their one-off start-up is not what is measured.
  expect((await service.post("/v1/extract", { transcript: `Customer: ${"word ".repeat(30_000)}` })).status).toBe(200);
}, 60_000);

afterAll(async () => {
  await service?.close();
  await Promise.all([llm?.close(), crm?.close()]);
});

/** Runs `work` while probing /healthz every 20 ms and watching the event loop's delay; returns what it saw. */
async function whileProbing<T>(work: () => Promise<T>) {
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const probes: number[] = [];
  let done = false;
  const prober = (async () => {
    while (!done) {
      const started = performance.now();
      const response = await fetch(`${service.url}/healthz`);
      await response.arrayBuffer();
      probes.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  const started = performance.now();
  const result = await work();
  const elapsedMs = performance.now() - started;
  done = true;
  await prober;
  loop.disable();
  return { result, elapsedMs, probes, worstProbeMs: Math.max(...probes), loopMaxMs: loop.max / 1e6 };
}

describe("a 2 MB transcript of one repeated character", () => {
  it("through POST /v1/extract: /healthz keeps answering, and the extraction ends in chunks that fit the budget", async () => {
    llm.requests.length = 0;
    const seen = await whileProbing(() => service.post("/v1/extract", { transcript: `Customer: ${HUGE}` }));
    expect(seen.result.status).toBe(200);
    expect(seen.result.body.meta.chunks).toBeGreaterThan(1);
    expect(seen.probes.length).toBeGreaterThan(3);
    expect(seen.worstProbeMs).toBeLessThan(MAX_PROBE_MS);
    expect(seen.loopMaxMs).toBeLessThan(MAX_LOOP_DELAY_MS);
    expect(seen.elapsedMs).toBeLessThan(15_000);
    // Every prompt stayed within the default budget of 100,000 tokens: the run of "A" in it has at most a token a byte,
    // and the rest of it is counted exactly.
    const count = tokenCounter("gpt-4o-mini");
    for (const request of llm.requests.filter((r) => r.body.response_format?.json_schema?.name === "call_extraction")) {
      const prompt = request.body.messages.map((message) => message.content).join("\n");
      const run = /A{1000,}/.exec(prompt)?.[0] ?? "";
      expect(count(prompt.replace(run, "")) + run.length).toBeLessThanOrEqual(100_000);
    }
  }, 60_000);

  it("through POST /v1/calls: /healthz keeps answering while the call is accepted, extracted and delivered", async () => {
    const seen = await whileProbing(async () => {
      const accepted = await service.post("/v1/calls?profile=p", { id: "huge-1", transcript: `Customer: ${HUGE}` });
      expect(accepted.status).toBe(202);
      await crm.waitForRequests(1, 15_000);
      return accepted;
    });
    const call = await until(() => service.get(`/v1/calls/${seen.result.body.call_id}`), (r) => r.body.state === "delivered");
    expect(call.body.state).toBe("delivered");
    expect(call.body.meta.chunks).toBeGreaterThan(1);
    expect(seen.worstProbeMs).toBeLessThan(MAX_PROBE_MS);
    expect(seen.loopMaxMs).toBeLessThan(MAX_LOOP_DELAY_MS);
    expect(seen.elapsedMs).toBeLessThan(15_000);
  }, 60_000);
});
