// Priorities of the shared LLM budget when it is short: two instances on PostgreSQL and Redis, a loopback
// OpenAI-compatible server allowing 60 requests a minute (replenished continuously), DEBRIEF_LLM_RPM=60, and a budget
// another user of the account has just spent. A backfill started then waits while the live calls that arrive after it
// pass: they are extracted and delivered first, the backfill's calls after them.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLlmBudget, observedFromHeaders } from "../../src/llm/index.js";
import { autocallsPayload } from "../fixtures/calls.js";
import { answerFor, requestedVariables, startFakeLlm, userMessage, type FakeLlm, type RecordedRequest } from "../support/fake-llm.js";
import { parseExposition } from "../support/metrics.js";
import { until } from "../support/poll.js";
import { createTestDatabase, type TestDatabase } from "../support/postgres.js";
import { startReceiver, type Receiver } from "../support/receiver.js";
import { startTestService, type TestService } from "../support/service.js";

const REDIS_URL = "redis://127.0.0.1:6379";
const RPM = 60;
const BACKFILLED = ["old-1", "old-2", "old-3"];
const LIVE = ["live-1", "live-2", "live-3", "live-4"];

/** Each call says "call <tag>.": which call a request is for. */
const tagOf = (request: RecordedRequest) => /call ([\w-]+)\./.exec(userMessage(request))?.[1] ?? "?";

let llm: FakeLlm;
let crm: Receiver;
let database: TestDatabase;
const services: TestService[] = [];

beforeAll(async () => {
  llm = await startFakeLlm((request) => ({ json: answerFor(request, { status: true, summary: "Demo booked", ...(requestedVariables(request).includes("plan") ? { plan: "pro" } : {}) }) }));
  crm = await startReceiver();
  database = await createTestDatabase();
});
afterAll(async () => {
  await Promise.all(services.map((service) => service.close()));
  await Promise.all([llm.close(), crm.close()]);
  await database.drop();
});

/** What the receiver got, in order: each delivery's call tag and event. */
const deliveries = () =>
  crm.requests.map((request) => {
    const body = JSON.parse(request.body) as { id: string; debrief: { event: string } };
    return { tag: body.id.replace(/^prio-[0-9a-f]+-/, ""), event: body.debrief.event };
  });

describe("the shared LLM budget when it is short", () => {
  it("lets live calls pass while a backfill waits, then extracts the backfill's calls", { timeout: 120_000 }, async () => {
    llm.rateLimit = { rpm: RPM };
    // A model name of this run's own: the budget's Redis keys are per model, and other test files share this Redis.
    const model = `gpt-4o-mini-priorities-${randomBytes(4).toString("hex")}`;
    const run = randomBytes(4).toString("hex");
    const config = join(mkdtempSync(join(tmpdir(), "debrief-priorities-")), "debrief.json");
    const configure = (variables: unknown[]) =>
      writeFileSync(
        config,
        JSON.stringify({
          profiles: { booking: { model, variables, destinations: ["crm"] } },
          destinations: { crm: { url: crm.url } },
          extraction: { retry: { max_attempts: 10, initial_delay_ms: 100, max_delay_ms: 1_000 } },
        }),
      );
    configure([]);
    const env = {
      OPENAI_BASE_URL: llm.url,
      DEBRIEF_CONFIG: config,
      DEBRIEF_ALLOW_PRIVATE_DESTINATIONS: "true",
      DEBRIEF_DATABASE_URL: database.url,
      DEBRIEF_REDIS_URL: REDIS_URL,
      DEBRIEF_CACHE: "false",
      DEBRIEF_LLM_RPM: String(RPM),
    };
    const instances = [await startTestService(env), await startTestService(env)];
    services.push(...instances);
    const post = (tag: string, index: number) =>
      instances[index % 2]!.post(
        "/v1/calls?profile=booking",
        autocallsPayload({ id: `prio-${run}-${tag}`, transcript: `AI: Hello, this is call ${tag}.\nCustomer: I'd like a demo.\nAI: Booked.` }),
      );

    // The calls the backfill will re-extract, extracted and delivered once.
    for (const [index, tag] of BACKFILLED.entries()) expect((await post(tag, index)).status).toBe(202);
    await crm.waitForRequests(BACKFILLED.length, 30_000);

    // The minute's budget is spent (as the server's x-ratelimit-remaining-requests: 0 says when another application
    // on the account spent it): it refills at one request a second, and a backfill waits until a quarter is back.
    const other = await createLlmBudget({ limits: { byModel: {}, fallback: { rpm: RPM } }, redisUrl: REDIS_URL });
    other.learn(model, observedFromHeaders(new Headers({ "x-ratelimit-remaining-requests": "0" })));
    await other.close();
    const [requestsBefore, deliveriesBefore] = [llm.requests.length, crm.requests.length];
    // A new variable: a new version of the profile, whose answers differ, so the backfill re-extracts and redelivers.
    configure([{ name: "plan", type: "string", description: "The plan the customer wants a demo of" }]);
    for (const instance of instances) expect(instance.service.reload()).toMatchObject({ ok: true });

    const backfill = await instances[0]!.post("/v1/profiles/booking/backfill", { only_outdated: false, redeliver: true });
    expect(backfill.status).toBe(202);
    expect(backfill.body).toMatchObject({ state: "running", total: BACKFILLED.length });
    // Its progress says why it takes up no call, on either instance: it waits for the LLM budget to refill.
    const waiting = await instances[1]!.get(`/v1/backfills/${backfill.body.backfill_id}`);
    expect(waiting.body).toMatchObject({ state: "running", done: 0, paused: { reason: "llm_budget", until: expect.any(String) } });
    expect(Date.parse(waiting.body.paused.until)).toBeGreaterThan(Date.now());
    for (const [index, tag] of LIVE.entries()) expect((await post(tag, index)).status).toBe(202);

    await crm.waitForRequests(deliveriesBefore + LIVE.length + BACKFILLED.length, 90_000);
    const done = await until(
      () => instances[1]!.get(`/v1/backfills/${backfill.body.backfill_id}`),
      (res) => res.body.state !== "running",
    );
    expect(done.body).toMatchObject({ state: "done", total: BACKFILLED.length, done: BACKFILLED.length, failed: 0, changed: BACKFILLED.length, paused: null });

    // The server saw every live call's request before any of the backfill's, and refused none.
    const sent = llm.requests.slice(requestsBefore).map(tagOf);
    expect(sent.slice(0, LIVE.length).sort()).toEqual([...LIVE].sort());
    expect(sent.slice(LIVE.length).sort()).toEqual([...BACKFILLED].sort());
    expect(llm.refused).toBe(0);
    // The receiver got every live call's delivery first, then the backfill's redeliveries.
    const received = deliveries().slice(deliveriesBefore);
    expect(received.slice(0, LIVE.length)).toEqual(expect.arrayContaining(LIVE.map((tag) => ({ tag, event: "call.extracted" }))));
    expect(received.slice(LIVE.length)).toEqual(expect.arrayContaining(BACKFILLED.map((tag) => ({ tag, event: "call.reextracted" }))));

    // Both waits are in the histogram, each under its priority.
    const metrics = await Promise.all(instances.map(async (instance) => parseExposition(String((await instance.get("/metrics")).body))));
    const sum = (series: string) => metrics.reduce((total, each) => total + (each.get(series) ?? 0), 0);
    expect(sum('debrief_llm_budget_wait_seconds_count{priority="live"}')).toBeGreaterThan(0);
    expect(sum('debrief_llm_budget_wait_seconds_count{priority="backfill"}')).toBeGreaterThan(0);
    expect(sum('debrief_llm_budget_wait_seconds_sum{priority="backfill"}')).toBeGreaterThan(0);
  });
});
