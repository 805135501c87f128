// The call worker's polling: an idle worker sleeps its interval, wake-ups coalesce into one claim, a freed slot claims
// again only when work was left waiting for one, and a store that keeps failing is logged once per 10 s, with a count.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { CallStore } from "../../src/calls/index.js";
import { CallWorker } from "../../src/calls/worker.js";
import { compilePipelineConfig } from "../../src/configuration/config-file.js";
import { Extractor } from "../../src/extract/index.js";
import { createLlm } from "../../src/llm/index.js";
import { silentLogger, type Logger } from "../../src/logger.js";
import { loadSettings } from "../../src/settings.js";
import { autocallsPayload, UNKNOWN_FACTS } from "../fixtures/calls.js";
import { fakeClock } from "../delivery/fixtures.js";
import { answerFor, startFakeLlm, type FakeLlm } from "../support/fake-llm.js";
import { captureLogs } from "../support/log-capture.js";
import { until } from "../support/poll.js";
import { contractHarness, ENGINES, type Stores } from "../support/stores.js";

const [SQLITE, POSTGRES] = ENGINES as [(typeof ENGINES)[number], (typeof ENGINES)[number]];
/** Nothing in these tests waits for a poll: whatever happens within a test was woken. */
const IDLE_MS = 60_000;

let llm: FakeLlm;
const workers: CallWorker[] = [];
const sqlite = contractHarness(SQLITE);
const postgres = contractHarness(POSTGRES);

beforeAll(async () => {
  llm = await startFakeLlm((request) => ({ json: answerFor(request, { status: true, summary: "ok" }), delayMs: 30 }));
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.stop(1_000)));
  await Promise.all([sqlite.cleanup(), postgres.cleanup()]);
});
afterAll(async () => {
  await Promise.all([llm.close(), SQLITE.dispose(), POSTGRES.dispose()]);
});

/** The real store, with its claims counted (and, when `gate` is set, held until it resolves). */
function counted(store: CallStore) {
  const claims = { due: 0, backfill: 0, gate: undefined as Promise<void> | undefined };
  // A proxy, not a copy: the adapters keep their state in private fields, so every other method runs on the store itself.
  const wrapped = new Proxy(store, {
    get(target, key) {
      if (key === "claimDue") {
        return async (limit: number, leaseMs: number) => {
          claims.due++;
          await claims.gate;
          return target.claimDue(limit, leaseMs);
        };
      }
      if (key === "claimBackfillItems") {
        return (limit: number, leaseMs: number) => {
          claims.backfill++;
          return target.claimBackfillItems(limit, leaseMs);
        };
      }
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { store: wrapped, claims };
}

function worker(stores: Stores, options: { store?: CallStore; concurrency?: number; pollIntervalMs?: number; logger?: Logger; clock?: () => number } = {}) {
  const settings = loadSettings({ OPENAI_BASE_URL: llm.url, OPENAI_API_KEY: "test", DEBRIEF_LLM_MAX_RETRIES: "0", DEBRIEF_LOCAL_MODEL: "off" });
  const config = compilePipelineConfig({ profiles: { booking: { variables: [] } } }, {}, settings.limits);
  const created = new CallWorker({
    store: options.store ?? stores.store,
    outbox: stores.outbox,
    extractor: new Extractor({ llm: createLlm(settings.llm), settings: settings.llm }),
    config: { current: config },
    limits: settings.limits,
    logger: options.logger ?? silentLogger,
    pollIntervalMs: options.pollIntervalMs ?? IDLE_MS,
    concurrency: options.concurrency,
    clock: options.clock,
  });
  workers.push(created);
  return created;
}

async function accept(store: CallStore, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let n = 0; n < count; n++) {
    const { call } = await store.accept({ profile: "booking", source: "autocalls", call: UNKNOWN_FACTS, externalId: `c${n}`, payload: autocallsPayload({ id: `c${n}` }), state: "accepted" });
    ids.push(call.id);
  }
  return ids;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("the call worker's polling", () => {
  it("claims once on start and then sleeps its interval when nothing is due", async () => {
    const stores = await sqlite.open();
    const { store, claims } = counted(stores.store);
    worker(stores, { store }).start();
    await until(async () => claims.due, (n) => n >= 1);
    await pause(300);
    expect(claims.due).toBe(1);
  });

  it("answers a burst of wake-ups with one claim, and wake-ups during a claim with exactly one more", async () => {
    const stores = await sqlite.open();
    const { store, claims } = counted(stores.store);
    const calls = worker(stores, { store });
    calls.start();
    await until(async () => claims.due, (n) => n >= 1);
    await pause(50);

    for (let n = 0; n < 20; n++) calls.wake();
    await pause(100);
    expect(claims.due).toBe(2);

    let open!: () => void;
    claims.gate = new Promise((resolve) => (open = resolve));
    calls.wake();
    await until(async () => claims.due, (n) => n >= 3);
    for (let n = 0; n < 20; n++) calls.wake();
    claims.gate = undefined;
    open();
    await pause(150);
    expect(claims.due).toBe(4);
  });

  it("claims the next due call as each one finishes while more wait than it has slots", async () => {
    const stores = await sqlite.open();
    const ids = await accept(stores.store, 5);
    worker(stores, { concurrency: 2 }).start();
    // The interval is a minute: only finished calls freeing their slots can have claimed the other three.
    const calls = await until(
      () => Promise.all(ids.map((id) => stores.store.get(id))),
      (found) => found.every((call) => call?.state === "extracted"),
    );
    expect(calls.map((call) => call?.state)).toEqual(Array(5).fill("extracted"));
  });

  it("does not claim again when a call finishes and its claim had left nothing waiting", async () => {
    const stores = await sqlite.open();
    const { store, claims } = counted(stores.store);
    const ids = await accept(stores.store, 2);
    worker(stores, { store, concurrency: 4 }).start();
    await until(
      () => Promise.all(ids.map((id) => stores.store.get(id))),
      (found) => found.every((call) => call?.state === "extracted"),
    );
    await pause(200);
    expect(claims.due).toBe(1);
  });

  it("logs a store that fails every poll once, then once per 10 s with the number of failures it did not log", async () => {
    const stores = await postgres.open();
    const { store, claims } = counted(stores.store);
    await stores.close(); // the pool is gone: every claim fails the same way
    const logs = captureLogs();
    const clock = fakeClock();
    worker(stores, { store, pollIntervalMs: 5, logger: logs.logger, clock: clock.now }).start();
    const failures = () => logs.lines().filter((line) => line.msg === "call worker poll failed");

    await until(async () => claims.due, (n) => n >= 30);
    expect(failures()).toHaveLength(1);
    expect(failures()[0]).toMatchObject({ level: 50, err: expect.objectContaining({ message: expect.any(String) }) });
    expect(failures()[0]!.suppressed).toBeUndefined();

    clock.advance(9_999);
    const before = claims.due;
    await until(async () => claims.due, (n) => n >= before + 5);
    expect(failures()).toHaveLength(1);

    clock.advance(1);
    await until(async () => failures().length, (n) => n >= 2);
    const failed = claims.due;
    expect(failures()).toHaveLength(2);
    expect(failures()[1]!.suppressed).toBeGreaterThanOrEqual(30);
    expect(failures()[1]!.suppressed).toBeLessThan(failed);
  });
});
