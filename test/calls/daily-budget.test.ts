// A profile's daily LLM budget: where its day starts and ends, how today's spend is read (and not read too often), what
// a reload lets resume, and the call worker's pause and resume on both engines: a call of a profile whose budget is
// spent waits in waiting_for_budget without reaching the LLM, and is extracted once the profile's next day begins.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { CallStore } from "../../src/calls/index.js";
import { budgetChanged, budgetDay, DailyBudgets, resumeAffordable, SPEND_CACHE_MS } from "../../src/calls/daily-budget.js";
import { BUDGET_RESUME_INTERVAL_MS, CallWorker } from "../../src/calls/worker.js";
import { compilePipelineConfig, type Profile } from "../../src/configuration/config-file.js";
import { Extractor } from "../../src/extract/index.js";
import { createLlm } from "../../src/llm/index.js";
import { silentLogger } from "../../src/logger.js";
import { loadSettings } from "../../src/settings.js";
import { autocallsPayload, UNKNOWN_FACTS } from "../fixtures/calls.js";
import { fakeClock, type FakeClock } from "../delivery/fixtures.js";
import { answerFor, startFakeLlm, type FakeLlm } from "../support/fake-llm.js";
import { captureLogs } from "../support/log-capture.js";
import { contractHarness, ENGINES, type Stores } from "../support/stores.js";

const settings = loadSettings({ OPENAI_BASE_URL: "http://127.0.0.1:9", OPENAI_API_KEY: "test", DEBRIEF_LOCAL_MODEL: "off" });

/** A compiled profile with this `budget` (and time zone), as the configuration file gives them. */
function profileWith(budget: unknown, timezone?: string, name = "booking"): Profile {
  const config = compilePipelineConfig({ profiles: { [name]: { variables: [], ...(budget ? { budget } : {}), ...(timezone ? { timezone } : {}) } } }, {}, settings.limits);
  return config.profiles.get(name)!;
}

const at = (instant: string) => Date.parse(instant);

describe("a profile's budget day", () => {
  it.each([
    ["UTC", "2026-06-12T14:22:05Z", "2026-06-12T00:00:00.000Z", "2026-06-13T00:00:00.000Z"],
    ["UTC", "2026-06-13T00:00:00Z", "2026-06-13T00:00:00.000Z", "2026-06-14T00:00:00.000Z"],
    // Summer time, UTC+2: 01:30 on the 13th in Paris.
    ["Europe/Paris", "2026-06-12T23:30:00Z", "2026-06-12T22:00:00.000Z", "2026-06-13T22:00:00.000Z"],
    // The day clocks go forward: 23 hours.
    ["America/New_York", "2026-03-08T12:00:00Z", "2026-03-08T05:00:00.000Z", "2026-03-09T04:00:00.000Z"],
    // The day clocks go back: 25 hours.
    ["America/New_York", "2026-11-01T12:00:00Z", "2026-11-01T04:00:00.000Z", "2026-11-02T05:00:00.000Z"],
  ])("in %s, %s is in the day [%s, %s)", (zone, now, start, end) => {
    const day = budgetDay(at(now), zone);
    expect(new Date(day.start).toISOString()).toBe(start);
    expect(new Date(day.end).toISOString()).toBe(end);
  });
});

describe("which reloads change what a profile may spend", () => {
  const base = profileWith({ daily_usd: 20 });
  it.each([
    ["no budget before", profileWith(undefined), profileWith({ daily_usd: 5 }), false],
    ["the same budget", base, profileWith({ daily_usd: 20 }), false],
    ["raised", base, profileWith({ daily_usd: 30 }), true],
    ["lowered", base, profileWith({ daily_usd: 10 }), true],
    ["removed", base, profileWith(undefined), true],
    ["wait turned to continue", profileWith({ daily_usd: 20, on_exceeded: "wait" }), base, true],
    ["another time zone (another day)", base, profileWith({ daily_usd: 20 }, "Europe/Paris"), true],
  ])("%s: %s", (_label, before, after, changed) => {
    expect(budgetChanged(before, after)).toBe(changed);
  });
});

describe("today's spend (DailyBudgets)", () => {
  /** A store whose spend is set by the test, its reads counted. */
  function spendStore(initial = 0) {
    const store = { spent: initial, reads: [] as number[], failing: false };
    return {
      store,
      port: {
        spentSince: async (_profile: string, since: number) => {
          store.reads.push(since);
          if (store.failing) throw new Error("database down");
          return store.spent;
        },
      },
    };
  }

  it("is nothing for a profile without a budget, and the store is not asked", async () => {
    const { store, port } = spendStore(100);
    const budgets = new DailyBudgets({ store: port, clock: () => at("2026-06-12T10:00:00Z") });
    expect(await budgets.status(profileWith(undefined))).toBeUndefined();
    expect(store.reads).toEqual([]);
  });

  it("is exceeded once the spend reaches the budget, not before", async () => {
    const { store, port } = spendStore(19.99);
    const clock = fakeClock(at("2026-06-12T10:00:00Z"));
    const budgets = new DailyBudgets({ store: port, clock: clock.now, cacheMs: 0 });
    const profile = profileWith({ daily_usd: 20, on_exceeded: "wait" });
    expect(await budgets.status(profile)).toMatchObject({ spent: 19.99, dailyUsd: 20, onExceeded: "wait", exceeded: false });
    store.spent = 20;
    expect(await budgets.status(profile)).toMatchObject({ spent: 20, exceeded: true, day: { start: at("2026-06-12T00:00:00Z"), end: at("2026-06-13T00:00:00Z") } });
    expect(store.reads).toEqual([at("2026-06-12T00:00:00Z"), at("2026-06-12T00:00:00Z")]);
  });

  it("reads the store at most every 5 s, adds this instance's own extractions at once, and reads again when the day turns", async () => {
    const { store, port } = spendStore(1);
    const clock = fakeClock(at("2026-06-12T23:59:55Z"));
    const budgets = new DailyBudgets({ store: port, clock: clock.now });
    const profile = profileWith({ daily_usd: 2 });
    await Promise.all([budgets.status(profile), budgets.status(profile)]);
    expect(store.reads).toHaveLength(1);
    budgets.add("booking", 1.5);
    clock.advance(SPEND_CACHE_MS - 1);
    expect(await budgets.status(profile)).toMatchObject({ spent: 2.5, exceeded: true });
    expect(store.reads).toHaveLength(1);
    // 23:59:59.999 + 1 ms: a new day, whatever the cache's age.
    clock.advance(1);
    store.spent = 0;
    expect(await budgets.status(profile)).toMatchObject({ spent: 0, exceeded: false, day: { start: at("2026-06-13T00:00:00Z") } });
    expect(store.reads).toEqual([at("2026-06-12T00:00:00Z"), at("2026-06-13T00:00:00Z")]);
    clock.advance(SPEND_CACHE_MS);
    await budgets.status(profile);
    expect(store.reads).toHaveLength(3);
  });

  it("does not keep a failed read: the next look asks the store again", async () => {
    const { store, port } = spendStore(3);
    const budgets = new DailyBudgets({ store: port, clock: () => at("2026-06-12T10:00:00Z") });
    const profile = profileWith({ daily_usd: 2 });
    store.failing = true;
    await expect(budgets.status(profile)).rejects.toThrow("database down");
    store.failing = false;
    expect(await budgets.status(profile)).toMatchObject({ spent: 3, exceeded: true });
    expect(store.reads).toHaveLength(2);
  });

  it("counts a reload's new amount at once (the figure kept is the spend, not the verdict)", async () => {
    const { port } = spendStore(5);
    const budgets = new DailyBudgets({ store: port, clock: () => at("2026-06-12T10:00:00Z") });
    expect((await budgets.status(profileWith({ daily_usd: 5 })))!.exceeded).toBe(true);
    expect((await budgets.status(profileWith({ daily_usd: 50 })))!.exceeded).toBe(false);
  });
});

describe("what a reload lets resume (resumeAffordable)", () => {
  it("resumes calls of profiles under their budget or on continue, and backfills only of profiles under their budget", async () => {
    const resumed = { calls: [] as string[][], backfills: [] as string[] };
    const store = {
      resumeWaitingForBudget: async (which: { profiles?: readonly string[] }) => (resumed.calls.push([...which.profiles!]), which.profiles!.length),
      resumeBackfills: async (profile: string) => (resumed.backfills.push(profile), 1),
    };
    const spent: Record<string, number> = { raised: 5, still_over: 5, continuing: 5, removed: 5 };
    const budgets = new DailyBudgets({ store: { spentSince: async (profile) => spent[profile]! }, clock: () => at("2026-06-12T10:00:00Z") });
    const profiles = [
      profileWith({ daily_usd: 10, on_exceeded: "wait" }, undefined, "raised"),
      profileWith({ daily_usd: 4, on_exceeded: "wait" }, undefined, "still_over"),
      profileWith({ daily_usd: 4, on_exceeded: "continue" }, undefined, "continuing"),
      profileWith(undefined, undefined, "removed"),
    ];
    expect(await resumeAffordable({ store, budgets }, profiles)).toEqual({ calls: 3, items: 2 });
    expect(resumed.calls).toEqual([["raised", "continuing", "removed"]]);
    expect(resumed.backfills).toEqual(["raised", "removed"]);
  });
});

// The worker on both engines: a real store on a hand-driven clock, the real extractor against a loopback LLM.
const [SQLITE, POSTGRES] = ENGINES as [(typeof ENGINES)[number], (typeof ENGINES)[number]];
let llm: FakeLlm;
const workers: CallWorker[] = [];
const harnesses = { sqlite: contractHarness(SQLITE), postgres: contractHarness(POSTGRES) };

beforeAll(async () => {
  // gpt-4o-mini at $0.15 / $0.60 per 1M tokens: 100 prompt and 20 completion tokens cost $0.000027 a call.
  llm = await startFakeLlm((request) => ({ json: answerFor(request, { status: true, summary: "ok" }) }));
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.stop(1_000)));
  await Promise.all([harnesses.sqlite.cleanup(), harnesses.postgres.cleanup()]);
});
afterAll(async () => {
  await Promise.all([llm.close(), SQLITE.dispose(), POSTGRES.dispose()]);
});

/** The real store, with its resumes of ended budget days counted. */
function countingResumes(store: CallStore) {
  const resumes: { dueBy?: number; profiles?: readonly string[] }[] = [];
  const wrapped = new Proxy(store, {
    get(target, key) {
      if (key === "resumeWaitingForBudget") {
        return (which: { dueBy?: number; profiles?: readonly string[] }) => (resumes.push(which), target.resumeWaitingForBudget(which));
      }
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { store: wrapped, resumes };
}

describe.each(["sqlite", "postgres"] as const)("the call worker under a daily budget on %s", (engine) => {
  const harness = harnesses[engine];

  async function setUp(budget: Record<string, unknown>, start: string) {
    const stores: Stores = await harness.open();
    const clock: FakeClock = harness.clock;
    clock.advance(at(start) - clock.now());
    const { store, resumes } = countingResumes(stores.store);
    const llmSettings = loadSettings({ OPENAI_BASE_URL: llm.url, OPENAI_API_KEY: "test", DEBRIEF_LLM_MAX_RETRIES: "0", DEBRIEF_LOCAL_MODEL: "off", DEBRIEF_CACHE: "false" });
    const config = compilePipelineConfig({ profiles: { booking: { variables: [], budget } } }, {}, llmSettings.limits);
    const actions: string[] = [];
    const logs = captureLogs("info");
    const worker = new CallWorker({
      store,
      outbox: stores.outbox,
      extractor: new Extractor({ llm: createLlm(llmSettings.llm), settings: llmSettings.llm }),
      config: { current: config },
      limits: llmSettings.limits,
      logger: logs.logger,
      pollIntervalMs: 60_000,
      clock: clock.now,
      budgets: new DailyBudgets({ store, clock: clock.now }),
      onBudgetExceeded: (profile, action) => actions.push(`${profile}:${action}`),
    });
    workers.push(worker);
    let n = 0;
    const accept = async () => {
      n += 1;
      const { call } = await store.accept({ profile: "booking", source: "autocalls", call: UNKNOWN_FACTS, externalId: `${engine}-${n}`, payload: autocallsPayload({ id: `${engine}-${n}` }), state: "accepted" });
      return call.id;
    };
    return { store, clock, worker, accept, actions, logs, resumes };
  }

  it("puts the next call to wait once the budget is spent (the LLM never sees it) and extracts it when the profile's next day begins", async () => {
    const { store, clock, worker, accept, actions, resumes } = await setUp({ daily_usd: 0.00002, on_exceeded: "wait" }, "2026-06-12T23:59:00Z");
    const first = await accept();
    await worker.tick();
    expect((await store.get(first))!.state).toBe("extracted");
    const requests = llm.requests.length;

    const second = await accept();
    await worker.tick();
    const waiting = (await store.get(second))!;
    expect(waiting).toMatchObject({ state: "waiting_for_budget", reason: "daily_budget_reached", attempts: 0, next_attempt_at: at("2026-06-13T00:00:00Z") });
    expect((await store.list({ states: ["waiting_for_budget"], limit: 10 })).map((call) => call.id)).toEqual([second]);
    expect(llm.requests.length).toBe(requests);
    expect(actions).toEqual(["booking:wait"]);

    // Still the same day, and polled again: it stays put.
    clock.advance(30_000);
    await worker.tick();
    expect((await store.get(second))!.state).toBe("waiting_for_budget");

    // 00:00:30 the next day: the worker's next look at ended days (a minute after its last) makes it due, and it runs.
    clock.advance(60_000);
    await worker.tick();
    expect((await store.get(second))!.state).toBe("extracted");
    expect(llm.requests.length).toBe(requests + 1);
    expect(resumes.filter((which) => which.dueBy !== undefined).length).toBeGreaterThanOrEqual(2);
  });

  it("asks the store for ended budget days once a minute, not at each poll", async () => {
    const { clock, worker, resumes } = await setUp({ daily_usd: 1, on_exceeded: "wait" }, "2026-06-12T10:00:00Z");
    for (let poll = 0; poll < 5; poll++) {
      await worker.tick();
      clock.advance(1_000);
    }
    expect(resumes).toHaveLength(1);
    clock.advance(BUDGET_RESUME_INTERVAL_MS);
    await worker.tick();
    expect(resumes).toHaveLength(2);
  });

  it("extracts a call anyway under on_exceeded: continue, counting each and warning once a day", async () => {
    const { store, worker, accept, actions, logs } = await setUp({ daily_usd: 0.00002 }, "2026-06-12T10:00:00Z");
    await accept();
    await worker.tick();
    const requests = llm.requests.length;
    const later = [await accept(), await accept()];
    await worker.tick();
    for (const id of later) expect((await store.get(id))!.state).toBe("extracted");
    expect(llm.requests.length).toBe(requests + 2);
    expect(actions).toEqual(["booking:continue", "booking:continue"]);
    expect(logs.lines().filter((line) => String(line.msg).includes("extracted anyway"))).toHaveLength(1);
  });
});
