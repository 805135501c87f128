// Answers a repeated request from the fastest tier that holds it, and makes concurrent identical requests share one computation.
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "../logger.js";
import { canonicalHash } from "../lib/canonical-hash.js";
import type { Clock, KeyLock, LockAttempt, Store } from "./store.js";
import { throttleWarnings, type ThrottledWarn } from "../lib/throttled-warning.js";

export interface ResultCacheOptions {
  /** Fastest first. A read stops at the first tier that has the key; a write goes to all of them. */
  tiers: readonly Store[];
  ttlMs: number;
  logger: Logger;
  /** A stored value that fails this is treated as corrupt: a miss, logged and deleted. A type guard fits too. */
  validate?: (value: unknown) => boolean;
  clock?: Clock;
  /** Single flight across instances (Redis). Without it, single flight is per process only. */
  coordination?: CrossInstanceCoordination;
}

export interface CrossInstanceCoordination {
  lock: KeyLock;
  /** How long a lock holder may compute before the others stop waiting for it and compute themselves. Default 30 s. */
  lockTtlMs?: number;
  /** How often a waiting instance looks for the holder's result. Default 100 ms. */
  pollIntervalMs?: number;
}

export interface GetOrComputeOptions {
  /** false: skip reading (the caller wants a fresh answer), but still store what is computed. */
  read: boolean;
  /**
   * The caller gives up when this aborts: it is rejected with the signal's reason at once. The computation it shares
   * is aborted only when every caller waiting for it has given up (a caller without a signal never does).
   */
  signal?: AbortSignal;
}

export interface CacheOutcome<T> {
  value: T;
  /** True when this call did not run `compute`: a stored hit, or a result it waited for from another caller. */
  cached: boolean;
}

/**
 * What the tiers hold. The absolute expiry travels with the value so a backfill copies the remaining lifetime, not
 * a fresh one: otherwise tiers refreshing each other would keep a result, and the personal data in it, alive forever.
 */
interface Envelope {
  expiresAt: number;
  value: unknown;
}

interface Flight<T> {
  value: T;
  computed: boolean;
}

/** A computation in progress and who still waits for it. */
interface Running<T> {
  flight: Promise<Flight<T>>;
  controller: AbortController;
  /** Callers with a signal still waiting. */
  waiting: number;
  /** A caller without a signal waits: the computation is never abandoned. */
  pinned: boolean;
}

export class ResultCache<T> {
  readonly #tiers: readonly Store[];
  readonly #ttlMs: number;
  readonly #logger: Logger;
  readonly #validate: ((value: unknown) => boolean) | undefined;
  readonly #clock: Clock;
  readonly #coordination: Required<CrossInstanceCoordination> | undefined;
  readonly #warn: ThrottledWarn;
  readonly #inFlight = new Map<string, Running<T>>();

  constructor({ tiers, ttlMs, logger, validate, clock = Date.now, coordination }: ResultCacheOptions) {
    this.#tiers = tiers;
    this.#ttlMs = ttlMs;
    this.#logger = logger;
    this.#validate = validate;
    this.#clock = clock;
    this.#coordination = coordination && {
      lock: coordination.lock,
      lockTtlMs: coordination.lockTtlMs ?? 30_000,
      pollIntervalMs: coordination.pollIntervalMs ?? 100,
    };
    this.#warn = throttleWarnings(logger);
  }

  /** The tier names, fastest first, e.g. ["memory", "redis", "sqlite"]. */
  get tierNames(): string[] {
    return this.#tiers.map((tier) => tier.name);
  }

  /** The stored value from the first tier that has a readable one, copied into the faster tiers; undefined on a miss. */
  async get(key: string): Promise<T | undefined> {
    return (await this.#read(key))?.value;
  }

  /**
   * The stored value, or the result of `compute`, which is then stored. Concurrent calls for one key share one
   * `compute`: the caller that runs it reports `cached: false`, the ones that waited report `cached: true` (they paid
   * nothing). A failed `compute` stores nothing and rejects every caller that waited for it.
   */
  async getOrCompute(key: string, compute: (signal: AbortSignal) => Promise<T>, { read, signal }: GetOrComputeOptions): Promise<CacheOutcome<T>> {
    if (read) {
      const running = this.#inFlight.get(key);
      if (running) return { value: (await this.#wait(running, signal)).value, cached: true };
    }
    // A bypass runs its own compute rather than joining one that may have started before the caller asked;
    // it still registers, so reading callers arriving meanwhile wait for its fresh result.
    const controller = new AbortController();
    const run = () => compute(controller.signal);
    const flight = read ? this.#lookUpOrCompute(key, run) : this.#computeAndStore(key, run);
    const running: Running<T> = { flight, controller, waiting: 0, pinned: false };
    this.#inFlight.set(key, running);
    // Removed when the computation settles, not when this caller leaves: later callers may still join it.
    const forget = () => {
      if (this.#inFlight.get(key) === running) this.#inFlight.delete(key);
    };
    flight.then(forget, forget);
    const { value, computed } = await this.#wait(running, signal);
    return { value, cached: !computed };
  }

  #wait(running: Running<T>, signal: AbortSignal | undefined): Promise<Flight<T>> {
    if (!signal) {
      running.pinned = true;
      return running.flight;
    }
    running.waiting += 1;
    return new Promise<Flight<T>>((resolve, reject) => {
      const leave = () => {
        running.waiting -= 1;
        if (running.waiting === 0 && !running.pinned) running.controller.abort(signal.reason);
        reject(signal.reason);
      };
      if (signal.aborted) return leave();
      signal.addEventListener("abort", leave, { once: true });
      running.flight.then(
        (flight) => {
          signal.removeEventListener("abort", leave);
          resolve(flight);
        },
        (error: unknown) => {
          signal.removeEventListener("abort", leave);
          reject(error);
        },
      );
    });
  }

  /** Stores `value` in every tier. Never rejects: a tier that fails is logged and skipped. */
  async set(key: string, value: T): Promise<void> {
    let text: string;
    try {
      text = JSON.stringify({ expiresAt: this.#clock() + this.#ttlMs, value } satisfies Envelope);
    } catch (error) {
      // The result was computed fine; failing to cache it must not fail the request.
      this.#logger.warn({ keyHash: keyHash(key), error: messageOf(error) }, "result is not JSON-serialisable; not cached");
      return;
    }
    await this.#writeTo(this.#tiers, key, text, this.#ttlMs);
  }

  async delete(key: string): Promise<void> {
    await Promise.all(this.#tiers.map((tier) => this.#attempt(tier.name, "delete", () => tier.delete(key))));
  }

  async close(): Promise<void> {
    await Promise.all(this.#tiers.map((tier) => this.#attempt(tier.name, "close", () => tier.close())));
  }

  async #lookUpOrCompute(key: string, compute: () => Promise<T>): Promise<Flight<T>> {
    const hit = await this.#read(key);
    if (hit) return { value: hit.value, computed: false };
    if (this.#coordination) return this.#computeOnceAcrossInstances(key, compute, this.#coordination);
    return this.#computeAndStore(key, compute);
  }

  /**
   * One instance takes the lock and computes; the others poll the tiers for its result. A waiter takes over when the
   * holder releases the lock without a result (its compute failed), and computes anyway once the lock's TTL is up.
   */
  async #computeOnceAcrossInstances(
    key: string,
    compute: () => Promise<T>,
    { lock, lockTtlMs, pollIntervalMs }: Required<CrossInstanceCoordination>,
  ): Promise<Flight<T>> {
    // Real time, not the injected clock: a frozen test clock must not make this wait forever.
    const giveUpAt = performance.now() + lockTtlMs;
    for (;;) {
      const attempt = await this.#tryLock(lock, key, lockTtlMs);
      if (attempt.status === "acquired") {
        try {
          // Another instance may have stored the result between our miss and our lock.
          const hit = await this.#read(key);
          if (hit) return { value: hit.value, computed: false };
          // The result is stored before the lock goes, so a waiter that sees the lock free also sees the result.
          return await this.#computeAndStore(key, compute);
        } finally {
          await this.#attempt("lock", "unlock", () => lock.unlock(key, attempt.token));
        }
      }
      if (attempt.status === "unavailable" || performance.now() >= giveUpAt) break;
      await sleep(pollIntervalMs);
      const hit = await this.#read(key);
      if (hit) return { value: hit.value, computed: false };
    }
    return this.#computeAndStore(key, compute);
  }

  async #computeAndStore(key: string, compute: () => Promise<T>): Promise<Flight<T>> {
    const value = await compute();
    await this.set(key, value);
    return { value, computed: true };
  }

  async #tryLock(lock: KeyLock, key: string, ttlMs: number): Promise<LockAttempt> {
    return (await this.#attempt("lock", "lock", () => lock.tryLock(key, ttlMs))) ?? { status: "unavailable" };
  }

  async #read(key: string): Promise<{ value: T } | undefined> {
    for (const [index, tier] of this.#tiers.entries()) {
      const text = await this.#attempt(tier.name, "get", () => tier.get(key));
      if (text === undefined) continue;
      const entry = this.#decode(text);
      if (!entry) {
        // Logged by hash: the key is derived from the transcript, and the text may hold personal data.
        this.#logger.warn({ tier: tier.name, keyHash: keyHash(key) }, "unreadable cache entry; a miss, deleting it");
        await this.#attempt(tier.name, "delete", () => tier.delete(key));
        continue;
      }
      const remainingMs = entry.expiresAt - this.#clock();
      if (remainingMs <= 0) {
        await this.#attempt(tier.name, "delete", () => tier.delete(key));
        continue;
      }
      await this.#writeTo(this.#tiers.slice(0, index), key, text, remainingMs);
      return { value: entry.value as T };
    }
    return undefined;
  }

  #decode(text: string): Envelope | undefined {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return undefined;
    }
    if (typeof parsed !== "object" || parsed === null || !("value" in parsed) || !("expiresAt" in parsed)) return undefined;
    if (typeof parsed.expiresAt !== "number") return undefined;
    if (this.#validate) {
      try {
        if (!this.#validate(parsed.value)) return undefined;
      } catch {
        return undefined;
      }
    }
    return { expiresAt: parsed.expiresAt, value: parsed.value };
  }

  async #writeTo(tiers: readonly Store[], key: string, text: string, ttlMs: number): Promise<void> {
    await Promise.all(tiers.map((tier) => this.#attempt(tier.name, "set", () => tier.set(key, text, ttlMs))));
  }

  /** Runs one tier operation; a failure is a throttled warning and an undefined result, never an error for the request. */
  async #attempt<R>(tier: string, operation: string, run: () => Promise<R>): Promise<R | undefined> {
    try {
      return await run();
    } catch (error) {
      const fields = { tier, operation, error: messageOf(error) };
      this.#warn(`${tier}:${operation}`, fields, "cache tier failed; carrying on with the others");
      return undefined;
    }
  }
}

function keyHash(key: string): string {
  return canonicalHash(key).slice(0, 16);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
