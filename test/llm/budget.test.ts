// The shared LLM budget: requests a minute per model, in one process and across instances on one Redis, priorities,
// what the server says of its limits, and Redis going away and coming back.
import { connect, createServer, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { createLlmBudget, observedFromHeaders, SharedLlmBudget, type LlmPriority } from "../../src/llm/budget.js";
import { parseLlmLimits, type LlmLimits } from "../../src/settings.js";
import { captureLogs } from "../support/log-capture.js";

const REDIS_URL = "redis://127.0.0.1:6379";
const open: { close(): Promise<void> }[] = [];
const aborts: AbortController[] = [];
afterEach(async () => {
  for (const abort of aborts.splice(0)) abort.abort(new Error("test over"));
  await Promise.all(open.splice(0).map((budget) => budget.close()));
});

/** A model name of its own, so budgets of tests running at the same time on the same Redis never meet. */
const freshModel = () => `test-model-${randomBytes(4).toString("hex")}`;
const rpm = (limit: number): LlmLimits => ({ byModel: {}, fallback: { rpm: limit } });

/** Starts an acquisition and reports whether it has been granted, without waiting for it. */
function ask(budget: SharedLlmBudget, model: string, priority: LlmPriority = "live") {
  const abort = new AbortController();
  aborts.push(abort);
  const state = { granted: false };
  const done = budget.acquire({ model, tokens: 10, priority, signal: abort.signal }).then(
    () => void (state.granted = true),
    () => undefined,
  );
  return { state, done, abort: () => abort.abort(new Error("given up")) };
}
/** Lets every Redis round trip and promise callback that can run now run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 150));

async function local(limits: LlmLimits) {
  const budget = new SharedLlmBudget({ limits });
  open.push(budget);
  return budget;
}
async function shared(limits: LlmLimits, redisUrl = REDIS_URL, logger?: Parameters<typeof createLlmBudget>[0]["logger"]) {
  const budget = await createLlmBudget({ limits, redisUrl, logger });
  open.push(budget);
  return budget;
}

describe("DEBRIEF_LLM_LIMITS", () => {
  it("reads limits per model and for every other model", () => {
    expect(parseLlmLimits("gpt-4o-mini=500rpm/200000tpm, *=60rpm")).toEqual({
      limits: { byModel: { "gpt-4o-mini": { rpm: 500, tpm: 200_000 } }, fallback: { rpm: 60 } },
    });
  });

  it("gives a model whose entry names only rpm the tpm every model has", async () => {
    const budget = await local({ byModel: { "gpt-4o-mini": { rpm: 500 } }, fallback: { rpm: 60, tpm: 100_000 } });
    expect(budget.capacities("gpt-4o-mini")).toEqual([500, 100_000]);
    expect(budget.capacities("gpt-4o")).toEqual([60, 100_000]);
  });

  it.each(["gpt-4o-mini", "gpt-4o-mini=fast", "=60rpm", "gpt-4o-mini=0rpm", "gpt-4o-mini=60rps"])("refuses %s, saying what it expects", (value) => {
    expect(parseLlmLimits(value)).toEqual({ error: expect.stringMatching(/rpm/) });
  });
});

describe("one process, no Redis", () => {
  it("says how long a request of each priority would wait, taking nothing", async () => {
    const budget = await local(rpm(4));
    const model = freshModel();
    expect(await budget.waitFor(model, "backfill")).toBe(0);
    for (let i = 0; i < 3; i++) await budget.acquire({ model, tokens: 10, priority: "live" });
    expect(await budget.waitFor(model, "backfill")).toBeGreaterThan(0);
    expect(await budget.waitFor(model, "live")).toBe(0);
    expect(await budget.waitFor(model, "live")).toBe(0);
    expect(await budget.waitFor(freshModel(), "backfill")).toBe(0);
    expect(await (await local({ byModel: {}, fallback: {} })).waitFor(model, "backfill")).toBe(0);
  });

  it("lets a minute's requests through and holds the next one", async () => {
    const budget = await local(rpm(3));
    const model = freshModel();
    const asks = [ask(budget, model), ask(budget, model), ask(budget, model), ask(budget, model)];
    await settle();
    expect(asks.map((a) => a.state.granted)).toEqual([true, true, true, false]);
  });

  it("lets live calls pass while a backfill waits for budget", async () => {
    const budget = await local(rpm(8));
    const model = freshModel();
    for (let i = 0; i < 6; i += 1) await budget.acquire({ model, tokens: 10, priority: "live" });
    // 2 of 8 left: what a backfill leaves for live calls (a quarter), so it waits for one more.
    const backfill = ask(budget, model, "backfill");
    const live = [ask(budget, model, "live"), ask(budget, model, "live")];
    await settle();
    expect(backfill.state.granted).toBe(false);
    expect(live.map((a) => a.state.granted)).toEqual([true, true]);
  });

  it("holds every request to a model after a 429's retry-after, with no limit configured", async () => {
    const budget = await local({ byModel: {}, fallback: {} });
    const model = freshModel();
    await budget.acquire({ model, tokens: 10, priority: "live" });
    budget.learn(model, observedFromHeaders(new Headers(), 60_000));
    const next = ask(budget, model);
    await settle();
    expect(next.state.granted).toBe(false);
  });

  it("learns the limit and what is left from x-ratelimit headers", async () => {
    const budget = await local({ byModel: {}, fallback: {} });
    const model = freshModel();
    budget.learn(model, observedFromHeaders(new Headers({ "x-ratelimit-limit-requests": "100", "x-ratelimit-remaining-requests": "0" })));
    expect(budget.capacities(model)).toEqual([100, 0]);
    const next = ask(budget, model);
    await settle();
    expect(next.state.granted).toBe(false);
  });

  it("gives back what a request reserved beyond its real tokens", async () => {
    const budget = await local({ byModel: {}, fallback: { tpm: 1_000 } });
    const model = freshModel();
    const ticket = await budget.acquire({ model, tokens: 900, priority: "live" });
    const blocked = ask(budget, model);
    await settle();
    expect(blocked.state.granted).toBe(true);
    const abort = new AbortController();
    aborts.push(abort);
    const big = { granted: false };
    const granted = budget.acquire({ model, tokens: 500, priority: "live", signal: abort.signal }).then(() => void (big.granted = true));
    await settle();
    expect(big.granted).toBe(false);
    // 900 reserved, 100 used: the 800 given back make room for it (at its next look, within a second).
    ticket.settle(100);
    await granted;
    expect(big.granted).toBe(true);
  });
});

describe("instances sharing Redis", () => {
  it("keep one budget between them", async () => {
    const [a, b] = [await shared(rpm(4)), await shared(rpm(4))];
    const model = freshModel();
    const asks = [ask(a, model), ask(b, model), ask(a, model), ask(b, model)];
    await settle();
    expect(asks.every((x) => x.state.granted)).toBe(true);
    const more = [ask(a, model), ask(b, model)];
    await settle();
    expect(more.map((x) => x.state.granted)).toEqual([false, false]);
  });

  it("tell any of them how long a backfill would wait, without taking from the budget", async () => {
    const [a, b] = [await shared(rpm(8)), await shared(rpm(8))];
    const model = freshModel();
    expect(await b.waitFor(model, "backfill")).toBe(0);
    for (let i = 0; i < 6; i++) await a.acquire({ model, tokens: 10, priority: "live" });
    // 2 of 8 left: a backfill leaves a quarter (2) to live calls, so it waits for one more; a live call would pass.
    const wait = await b.waitFor(model, "backfill");
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(60_000 / 8);
    expect(await b.waitFor(model, "live")).toBe(0);
    // Asking took nothing: the two requests left are still there for live calls.
    await a.acquire({ model, tokens: 10, priority: "live" });
    await b.acquire({ model, tokens: 10, priority: "live" });
    const next = ask(a, model);
    await settle();
    expect(next.state.granted).toBe(false);
  });

  it("share what one of them learned from a 429", async () => {
    const [a, b] = [await shared({ byModel: {}, fallback: { rpm: 100 } }), await shared({ byModel: {}, fallback: { rpm: 100 } })];
    const model = freshModel();
    await a.acquire({ model, tokens: 10, priority: "live" });
    a.learn(model, observedFromHeaders(new Headers(), 60_000));
    await settle();
    const next = ask(b, model);
    await settle();
    expect(next.state.granted).toBe(false);
  });
});

/** A TCP proxy in front of Redis that can be cut and restored: Redis going away without touching the real one. */
async function redisProxy() {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const start = async () => {
    server = createServer((client) => {
      const upstream = connect(6379, "127.0.0.1");
      sockets.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
      const end = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on("error", end).on("close", end);
      upstream.on("error", end).on("close", end);
    });
    await new Promise<void>((resolve) => server!.listen(port, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  };
  await start();
  return {
    url: () => `redis://127.0.0.1:${port}`,
    cut: async () => {
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      await new Promise<void>((resolve) => server!.close(() => resolve()));
    },
    restore: start,
  };
}

describe("Redis down and back", () => {
  it("falls back to this instance's share, logs it once, and shares the budget again once Redis is back", async () => {
    const proxy = await redisProxy();
    const logs = captureLogs();
    const [a, b] = [await shared(rpm(4), proxy.url(), logs.logger), await shared(rpm(4), proxy.url())];
    const model = freshModel();
    // Both seen through Redis (a asks again after b): each one's share while it is down is half the limit.
    await a.acquire({ model, tokens: 10, priority: "live" });
    await b.acquire({ model, tokens: 10, priority: "live" });
    await a.acquire({ model, tokens: 10, priority: "live" });
    await proxy.cut();
    const probe = freshModel();
    await until(async () => {
      await ask(a, probe).done;
      return logs.lines().some((line) => /Redis unreachable/.test(String(line.msg)));
    });
    const alone = [ask(a, model), ask(a, model), ask(a, model)];
    await settle();
    expect(alone.map((x) => x.state.granted)).toEqual([true, true, false]);
    expect(logs.lines().filter((line) => /Redis unreachable/.test(String(line.msg)))).toHaveLength(1);
    alone[2]!.abort();

    await proxy.restore();
    // Probed on another model, so the first one's shared bucket is left as the outage found it.
    const other = freshModel();
    await until(async () => {
      await ask(a, other).done;
      return logs.lines().some((line) => /Redis is back/.test(String(line.msg)));
    });
    // Redis still holds the request the outage left of the shared 4, where this instance's own share is spent.
    const back = [ask(a, model), ask(a, model)];
    await settle();
    expect(back.map((x) => x.state.granted)).toEqual([true, false]);
  });
});

async function until(probe: () => Promise<boolean>, tries = 60): Promise<void> {
  for (let i = 0; i < tries; i += 1) {
    if (await probe()) return;
    await settle();
  }
  throw new Error("never happened");
}
