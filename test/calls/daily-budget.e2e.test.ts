// A profile's daily LLM budget end to end, on both engines: real HTTP into the service, the real openai SDK out to the
// loopback LLM (gpt-4o-mini, priced from the shipped table), deliveries to a loopback receiver. Once a profile's
// spend reaches `budget.daily_usd`: with `on_exceeded: wait` its next call waits in waiting_for_budget, never reaching
// the LLM, until a reload raises the budget; with `continue` it is extracted anyway and counted; its backfills pause
// (no item is re-extracted) until a reload raises the budget. The profile's API answer shows today's spend.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { autocallsPayload } from "../fixtures/calls.js";
import { answerFor, startFakeLlm, userMessage, type FakeLlm, type RecordedRequest } from "../support/fake-llm.js";
import { metricValue } from "../support/metrics.js";
import { until } from "../support/poll.js";
import { createTestDatabase, type TestDatabase } from "../support/postgres.js";
import { startReceiver, type Receiver } from "../support/receiver.js";
import { startTestService, type TestService } from "../support/service.js";

// gpt-4o-mini at $0.15 / $0.60 per 1M tokens: 100 prompt and 20 completion tokens (the fake LLM's usage) cost this.
const CALL_COST = 0.000027;
/** Less than one call: the first call of a day spends the budget. */
const TINY = 0.00002;

const variables = [{ name: "plan", type: "enum", options: ["basic", "pro"], description: "The plan the customer wants a demo of" }];

/** Each call says "call <tag>.": which call a request is for. */
const tagOf = (request: RecordedRequest) => /call ([\w-]+)\./.exec(userMessage(request))?.[1] ?? "?";

let llm: FakeLlm;
let crm: Receiver;

beforeAll(async () => {
  [llm, crm] = await Promise.all([startFakeLlm((request) => ({ json: answerFor(request, { status: true, summary: "Demo booked", plan: "pro" }) })), startReceiver()]);
});
afterAll(async () => {
  await Promise.all([llm.close(), crm.close()]);
});

describe.each(["sqlite", "postgres"] as const)("a profile's daily budget on %s", (engine) => {
  let api: TestService;
  let database: TestDatabase | undefined;
  const file = join(mkdtempSync(join(tmpdir(), "debrief-daily-budget-")), "debrief.json");
  /** The configuration file's profiles; `reload` writes them and reloads. */
  const profiles: Record<string, Record<string, unknown>> = {
    waits: { variables, destinations: ["crm"], budget: { daily_usd: TINY, on_exceeded: "wait" } },
    continues: { variables, destinations: ["crm"], budget: { daily_usd: TINY }, timezone: "Europe/Paris" },
    backfilled: { variables, destinations: [], budget: { daily_usd: TINY } },
  };
  const write = () => writeFileSync(file, JSON.stringify({ profiles, destinations: { crm: { url: crm.url } }, extraction: { retry: { max_attempts: 1 } } }));
  const reload = async () => {
    write();
    const res = await api.post("/v1/admin/reload", {});
    expect(res.status).toBe(200);
    expect(res.body.changed).toBe(true);
  };

  /** Each engine's calls get their own tags: the LLM and the receiver are shared. */
  const tag = (name: string) => `${engine}-${name}`;
  const seen = (name: string) => llm.requests.filter((request) => tagOf(request) === tag(name)).length;
  const delivered = (callId: string) => crm.requests.some((request) => JSON.parse(request.body).debrief.call_id === callId);

  async function postCall(profile: string, name: string): Promise<string> {
    const transcript = `AI: Hello, this is call ${tag(name)}.\nCustomer: I'd like a demo of the Pro plan.\nAI: Booked.`;
    const res = await api.post(`/v1/calls?profile=${profile}`, autocallsPayload({ id: tag(name), transcript }));
    expect(res.status).toBe(202);
    return res.body.call_id as string;
  }

  const stateOf = (callId: string, state: string) => until(() => api.get(`/v1/calls/${callId}`), (res) => res.body.state === state);

  beforeAll(async () => {
    database = engine === "postgres" ? await createTestDatabase() : undefined;
    write();
    api = await startTestService({
      OPENAI_BASE_URL: llm.url,
      DEBRIEF_CONFIG: file,
      DEBRIEF_ALLOW_PRIVATE_DESTINATIONS: "true",
      DEBRIEF_LLM_MAX_RETRIES: "0",
      // Every call and re-extraction reaches the LLM, and costs.
      DEBRIEF_CACHE: "false",
      ...(database ? { DEBRIEF_DATABASE_URL: database.url } : {}),
    });
  });
  afterAll(async () => {
    await api.close();
    await database?.drop();
  });

  it("with on_exceeded: wait, holds the next call in waiting_for_budget without extracting it, until a reload raises the budget", async () => {
    const first = await postCall("waits", "w1");
    expect((await stateOf(first, "delivered")).body.state).toBe("delivered");

    const second = await postCall("waits", "w2");
    const waiting = await stateOf(second, "waiting_for_budget");
    expect(waiting.body).toMatchObject({ state: "waiting_for_budget", reason: "daily_budget_reached" });
    expect((await api.get("/v1/calls?state=waiting_for_budget&profile=waits")).body.calls.map((call: { call_id: string }) => call.call_id)).toEqual([second]);
    // Polled for a while: still waiting, and the LLM never saw it.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await api.get(`/v1/calls/${second}`)).body.state).toBe("waiting_for_budget");
    expect(seen("w2")).toBe(0);
    expect(delivered(second)).toBe(false);
    expect(await metricValue(api, 'debrief_llm_budget_exceeded_total{profile="waits",action="wait"}')).toBe(1);

    const profile = await api.get("/v1/profiles/waits");
    expect(profile.body.budget).toMatchObject({ daily_usd: TINY, on_exceeded: "wait", today: { exceeded: true } });
    expect(profile.body.budget.today.spent_usd).toBeCloseTo(CALL_COST, 9);
    const today = new Date().toISOString().slice(0, 10);
    expect(profile.body.budget.today.since).toBe(`${today}T00:00:00.000Z`);

    profiles.waits = { ...profiles.waits, budget: { daily_usd: 1, on_exceeded: "wait" } };
    await reload();
    expect((await stateOf(second, "delivered")).body.state).toBe("delivered");
    expect(seen("w2")).toBe(1);
    expect(delivered(second)).toBe(true);
    expect((await api.get("/v1/profiles/waits")).body.budget.today.exceeded).toBe(false);
  });

  it("with on_exceeded: continue (the default), extracts and delivers the next call anyway, and counts it", async () => {
    const first = await postCall("continues", "c1");
    await stateOf(first, "delivered");
    const second = await postCall("continues", "c2");
    expect((await stateOf(second, "delivered")).body.state).toBe("delivered");
    expect(seen("c2")).toBe(1);
    expect(await metricValue(api, 'debrief_llm_budget_exceeded_total{profile="continues",action="continue"}')).toBe(1);
    expect(await metricValue(api, 'debrief_llm_budget_exceeded_total{profile="continues",action="wait"}')).toBe(0);

    const { body } = await api.get("/v1/profiles/continues");
    expect(body.budget).toMatchObject({ daily_usd: TINY, on_exceeded: "continue", today: { exceeded: true } });
    expect(body.budget.today.spent_usd).toBeCloseTo(2 * CALL_COST, 9);
    // The day is Paris's: it starts at 22:00 or 23:00 UTC.
    expect(body.budget.today.since).toMatch(/T2[23]:00:00\.000Z$/);
    const listed = (await api.get("/v1/profiles")).body.profiles.find((entry: { name: string }) => entry.name === "continues");
    expect(listed.budget.today.exceeded).toBe(true);
  });

  it("pauses a backfill of a profile whose budget is spent (no item re-extracted), and resumes it when a reload raises the budget", async () => {
    const ids = [await postCall("backfilled", "b1"), await postCall("backfilled", "b2")];
    for (const id of ids) await stateOf(id, "extracted");
    // A sharper description: a new profile version, every call outdated; the budget is the same, still spent.
    profiles.backfilled = { ...profiles.backfilled, variables: [{ ...variables[0], description: "The plan (basic or pro) the customer asks to see a demo of" }] };
    await reload();

    const started = await api.post("/v1/profiles/backfilled/backfill", {});
    expect(started.status).toBe(202);
    expect(started.body.total).toBe(2);
    const paused = await until(() => api.get(`/v1/backfills/${started.body.backfill_id}`), (res) => res.body.paused !== null);
    expect(paused.body).toMatchObject({ state: "running", done: 0, paused: { reason: "daily_budget_reached" } });
    await until(
      () => metricValue(api, 'debrief_llm_budget_exceeded_total{profile="backfilled",action="pause"}'),
      (count) => count >= 1,
    );
    // The worker was woken by the start and has polled since: no item reached the LLM.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect([seen("b1"), seen("b2")]).toEqual([1, 1]);
    expect((await api.get(`/v1/backfills/${started.body.backfill_id}`)).body).toMatchObject({ state: "running", done: 0 });

    profiles.backfilled = { ...profiles.backfilled, budget: { daily_usd: 1 } };
    await reload();
    const done = await until(() => api.get(`/v1/backfills/${started.body.backfill_id}`), (res) => res.body.state === "done");
    expect(done.body).toMatchObject({ state: "done", done: 2, failed: 0, paused: null });
    expect([seen("b1"), seen("b2")]).toEqual([2, 2]);
    // The re-extractions count towards today's spend.
    expect((await api.get("/v1/profiles/backfilled")).body.budget.today.spent_usd).toBeCloseTo(4 * CALL_COST, 9);
  });
});
