// The one polling loop both workers run: it needs an interval, sleeps it when idle, coalesces wake-ups, never overlaps polls.
import { afterEach, describe, expect, it } from "vitest";
import { LoopPacer } from "../../src/lib/loop-pacer.js";
import { PollingWorker, type PollingWorkerOptions } from "../../src/lib/polling-worker.js";

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const loops: PollingWorker[] = [];
afterEach(async () => void (await Promise.all(loops.splice(0).map((loop) => loop.stop()))));

/** A loop whose polls are counted, each held until `release()` when `hold` is on. */
function loop(options: Partial<PollingWorkerOptions> = {}) {
  const state = { polls: 0, active: 0, maxActive: 0, errors: [] as unknown[], hold: false, releases: [] as (() => void)[] };
  const created = new PollingWorker({
    intervalMs: 60_000,
    onError: (error) => state.errors.push(error),
    poll: async () => {
      state.polls++;
      state.active++;
      state.maxActive = Math.max(state.maxActive, state.active);
      if (state.hold) await new Promise<void>((resolve) => state.releases.push(resolve));
      state.active--;
    },
    ...options,
  });
  loops.push(created);
  const release = () => state.releases.splice(0).forEach((resolve) => resolve());
  return { loop: created, state, release };
}

describe("PollingWorker", () => {
  it("refuses to start without an interval, rather than polling without pause", () => {
    for (const intervalMs of [undefined, 0, Number.NaN]) {
      expect(() => new PollingWorker({ intervalMs: intervalMs as unknown as number, poll: async () => {}, onError: () => {} })).toThrow(RangeError);
    }
  });

  it("polls at start, then sleeps its interval when nothing wakes it", async () => {
    const { loop: idle, state } = loop({ intervalMs: 60_000 });
    idle.start();
    await pause(200);
    expect(state.polls).toBe(1);

    const { loop: short, state: often } = loop({ intervalMs: 40 });
    short.start();
    await pause(300);
    // Every 40 ms at most: a handful, never hundreds.
    expect(often.polls).toBeGreaterThanOrEqual(2);
    expect(often.polls).toBeLessThanOrEqual(9);
  });

  it("answers wake-ups that arrive before a poll starts with that poll", async () => {
    const { loop: worker, state } = loop();
    worker.start();
    await pause(50);
    for (let n = 0; n < 50; n++) worker.wake();
    await pause(100);
    expect(state.polls).toBe(2);
  });

  it("runs exactly one more poll after one that wake-ups arrived during, and never two at once", async () => {
    const { loop: worker, state, release } = loop();
    state.hold = true;
    worker.start();
    await pause(50);
    for (let n = 0; n < 50; n++) worker.wake();
    release();
    await pause(50);
    expect(state.polls).toBe(2);
    release();
    await pause(100);
    expect(state.polls).toBe(2);
    expect(state.maxActive).toBe(1);
  });

  it("takes each poll's turn from the pacer, so requests are served between background steps", async () => {
    const pacer = new LoopPacer();
    let turns = 0;
    const counting = { next: () => (turns++, pacer.next()) };
    const { loop: worker, state } = loop({ pacer: counting });
    worker.start();
    await pause(50);
    worker.wake();
    await pause(50);
    expect(state.polls).toBe(2);
    expect(turns).toBe(2);
  });

  it("reports a failed poll and waits its interval before the next, even when woken during it", async () => {
    let fail = true;
    let polls = 0;
    const errors: unknown[] = [];
    const { loop: worker } = loop({
      intervalMs: 60_000,
      onError: (error) => errors.push(error),
      poll: async () => {
        polls++;
        await pause(20);
        if (fail) throw new Error("database is down");
      },
    });
    worker.start();
    await pause(5);
    worker.wake();
    await pause(100);
    expect(polls).toBe(1);
    expect(errors).toEqual([new Error("database is down")]);
    fail = false;
    worker.wake();
    await pause(100);
    expect(polls).toBe(2);
    expect(errors).toHaveLength(1);
  });

  it("runs a tick after the poll in progress, never beside it, and stop waits for that poll", async () => {
    const { loop: worker, state, release } = loop();
    state.hold = true;
    worker.start();
    await pause(20);
    let ticked = false;
    const tick = worker.tick(async () => {
      ticked = true;
      return "flushed";
    });
    await pause(20);
    expect(ticked).toBe(false);
    const stopped = worker.stop();
    let done = false;
    void stopped.then(() => (done = true));
    await pause(20);
    expect(done).toBe(false);
    release();
    expect(await tick).toBe("flushed");
    await stopped;
    worker.wake();
    await pause(50);
    expect(state.polls).toBe(1);
    expect(state.maxActive).toBe(1);
  });
});
