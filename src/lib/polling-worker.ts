// The loop every background worker runs: poll for due work on an interval, sooner when woken, one poll at a time.
import { noPacing, type LoopPacer } from "./loop-pacer.js";

export interface PollingWorkerOptions {
  /**
   * Claims due work and starts it without waiting for it to finish (the way pg-boss's worker takes `fetch`): a slow job
   * must not hold back the next poll. Its in-flight bookkeeping is the caller's.
   */
  poll: () => Promise<void>;
  /**
   * How long an idle worker sleeps between polls. Required, with no default here: an interval left unset upstream must
   * fail to compile rather than become a loop that polls without pause.
   */
  intervalMs: number;
  /** Each poll waits for its turn of the event loop, so HTTP requests are served between background steps. */
  pacer?: Pick<LoopPacer, "next">;
  /** A poll failed (the store unreachable): told once per failed poll; the loop sleeps its interval and tries again. */
  onError: (error: unknown) => void;
}

/**
 * start / wake / stop / tick around a caller's poll. Wake-ups coalesce: those arriving before a poll starts are answered
 * by it, those arriving during one by exactly one more after it, so waking every instance for every NOTIFY costs each
 * at most one claim per burst, and a woken worker that finds nothing goes back to sleep.
 */
export class PollingWorker {
  readonly #poll: () => Promise<void>;
  readonly #intervalMs: number;
  readonly #pacer: Pick<LoopPacer, "next">;
  readonly #onError: (error: unknown) => void;
  #running = false;
  #timer: NodeJS.Timeout | undefined;
  /** A cycle is under way: its timer fired and it waits for its turn, or it is polling. */
  #cycling = false;
  /** Woken after the current cycle's poll started: what was signalled may have been missed by it. */
  #again = false;
  /** The poll in progress (the loop's or a tick's): polls never overlap, so each claims against counts it has read. */
  #polling: Promise<void> | undefined;

  constructor(options: PollingWorkerOptions) {
    if (!Number.isFinite(options.intervalMs) || options.intervalMs <= 0) {
      throw new RangeError(`a polling worker needs a positive interval (got ${String(options.intervalMs)})`);
    }
    this.#poll = options.poll;
    this.#intervalMs = options.intervalMs;
    this.#pacer = options.pacer ?? noPacing;
    this.#onError = options.onError;
  }

  get running(): boolean {
    return this.#running;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#schedule(0);
  }

  /** Work may be due now (an accept, an enqueue, a NOTIFY, a slot freed): poll soon instead of at the interval. */
  wake(): void {
    if (!this.#running) return;
    if (this.#cycling) this.#again = true;
    else this.#schedule(0);
  }

  /** Stops polling; resolves once the poll in progress (if any) has claimed, so the caller can wait for what it started. */
  async stop(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#timer);
    await this.#polling?.catch(() => undefined);
  }

  /** One poll now, outside the schedule (tests, a manual flush): after the one in progress; its errors are the caller's. */
  tick(): Promise<void>;
  /** Runs `claim` in place of the usual poll, alone (a flush with bookkeeping of its own). */
  tick<T>(claim: () => Promise<T>): Promise<T>;
  tick<T>(claim?: () => Promise<T>): Promise<T | void> {
    return claim ? this.#alone(claim) : this.#alone(this.#poll);
  }

  #alone<T>(run: () => Promise<T>): Promise<T> {
    const previous = this.#polling ?? Promise.resolve();
    const mine = previous.catch(() => undefined).then(run);
    const settled = mine.then(
      () => undefined,
      () => undefined,
    );
    this.#polling = settled;
    void settled.then(() => {
      if (this.#polling === settled) this.#polling = undefined;
    });
    return mine;
  }

  #schedule(delayMs: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#cycle(), delayMs);
    this.#timer.unref();
  }

  async #cycle(): Promise<void> {
    this.#cycling = true;
    try {
      do {
        await this.#pacer.next();
        if (!this.#running) return;
        await this.#alone(() => {
          // From here on, what a wake-up signals is visible to this poll's claim.
          this.#again = false;
          return this.#poll();
        });
      } while (this.#again && this.#running);
    } catch (error) {
      // Not again at once: while the store is down, a retry per wake-up would only add failures.
      this.#onError(error);
    } finally {
      this.#cycling = false;
      this.#again = false;
      if (this.#running) this.#schedule(this.#intervalMs);
    }
  }
}
