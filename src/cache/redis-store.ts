// The shared tier and cross-instance lock on Redis, built to read as "absent" rather than stall or crash when Redis is down.
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import type { Logger } from "../logger.js";
import type { KeyLock, LockAttempt, Store } from "./store.js";
import { throttleWarnings, type ThrottledWarn } from "../lib/throttled-warning.js";

export interface RedisStoreOptions {
  url: string;
  logger: Logger;
  /** Every key lives under it; locks under `<prefix>lock:`. Default "debrief:cache:". */
  keyPrefix?: string;
  /** A command that gets no reply in this time fails, and the request carries on with the other tiers. Default 500 ms. */
  commandTimeoutMs?: number;
  /** Bounds how long the first requests wait for the initial connection. Default 1 s. */
  connectTimeoutMs?: number;
}

export const DEFAULT_REDIS_KEY_PREFIX = "debrief:cache:";

// Compare-and-delete in one step: between a GET and a DEL the lock could expire and be taken by someone else.
const RELEASE_IF_OWNER = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`;

/**
 * Byte bounds are Redis's own business here (maxmemory and its eviction policy); every key carries its TTL.
 * While disconnected, reads are misses and writes are dropped without a round trip; ioredis reconnects in the background.
 */
export class RedisStore implements Store, KeyLock {
  readonly name = "redis";
  readonly #client: Redis;
  readonly #prefix: string;
  readonly #logger: Logger;
  readonly #warn: ThrottledWarn;
  /** Settles once the first connection attempt has succeeded or failed, so start-up requests do not all miss. */
  readonly #firstAttempt: Promise<void>;
  #down = false;
  #closed = false;

  constructor({
    url,
    logger,
    keyPrefix = DEFAULT_REDIS_KEY_PREFIX,
    commandTimeoutMs = 500,
    connectTimeoutMs = 1_000,
  }: RedisStoreOptions) {
    this.#prefix = keyPrefix;
    this.#logger = logger;
    this.#warn = throttleWarnings(logger);
    this.#client = new Redis(url, {
      // We start the connection ourselves below, so its failure is a promise we catch rather than an unhandled one.
      lazyConnect: true,
      // Without this, commands issued while Redis is down would queue until it returns: requests would hang.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: commandTimeoutMs,
      connectTimeout: connectTimeoutMs,
    });
    // ioredis emits "error" on every failed reconnect; without a listener Node would print each one as unhandled.
    this.#client.on("error", (error: Error) => {
      this.#down = true;
      this.#warn("redis-error", { tier: this.name, error: error.message }, "redis cache unreachable; serving from local tiers");
    });
    this.#client.on("ready", () => {
      if (this.#down) this.#logger.info({ tier: this.name }, "redis cache reachable again");
      this.#down = false;
    });
    const connected = this.#client.connect().catch(() => undefined);
    const gaveUp = new Promise<void>((resolve) => setTimeout(resolve, connectTimeoutMs + 100).unref());
    this.#firstAttempt = Promise.race([connected, gaveUp]);
  }

  async get(key: string): Promise<string | undefined> {
    if (!(await this.#ready())) return undefined;
    return (await this.#client.get(this.#prefix + key)) ?? undefined;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    if (ttlMs <= 0) return this.delete(key);
    if (!(await this.#ready())) return;
    await this.#client.set(this.#prefix + key, value, "PX", Math.ceil(ttlMs));
  }

  async delete(key: string): Promise<void> {
    if (!(await this.#ready())) return;
    await this.#client.del(this.#prefix + key);
  }

  async tryLock(key: string, ttlMs: number): Promise<LockAttempt> {
    if (!(await this.#ready())) return { status: "unavailable" };
    const token = randomUUID();
    const reply = await this.#client.set(this.#lockKey(key), token, "PX", Math.ceil(ttlMs), "NX");
    return reply === "OK" ? { status: "acquired", token } : { status: "held" };
  }

  async unlock(key: string, token: string): Promise<void> {
    // If Redis is unreachable the lock simply expires on its own.
    if (!(await this.#ready())) return;
    await this.#client.eval(RELEASE_IF_OWNER, 1, this.#lockKey(key), token);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#client.status === "ready") {
      // QUIT lets commands already sent finish; if it fails, drop the socket anyway.
      await this.#client.quit().catch(() => this.#client.disconnect());
    } else {
      // Also cancels the pending reconnect timer, so nothing keeps the process alive.
      this.#client.disconnect();
    }
  }

  async #ready(): Promise<boolean> {
    await this.#firstAttempt;
    return this.#client.status === "ready";
  }

  #lockKey(key: string): string {
    return `${this.#prefix}lock:${key}`;
  }
}
