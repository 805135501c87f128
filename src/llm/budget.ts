// One LLM request and token budget per model for every instance sharing Redis (per process without it): token buckets
// replenished continuously, as an OpenAI organisation's limits are, lowered by what the server's headers say.
import { Redis } from "ioredis";
import type { LlmLimits, ModelLimit } from "../settings.js";
import type { Logger } from "../logger.js";

/** Who waits when the budget is short: live calls and /v1/extract pass first, then single re-extractions, then backfills. */
export type LlmPriority = "live" | "single" | "backfill";

/**
 * The share of a bucket a priority leaves untouched for the ones above it: a backfill waits while less than a quarter
 * of the minute's budget is left, so live calls arriving meanwhile still find some.
 */
const RESERVE: Record<LlmPriority, number> = { live: 0, single: 0.1, backfill: 0.25 };

const MINUTE_MS = 60_000;
/** How long an instance counts as seen (its share while Redis is down is the limit divided by those seen). */
const INSTANCE_TTL_MS = 60_000;
/** A wait is re-checked at least this often: another instance's refund, or a lowered limit, may free the budget sooner. */
const MAX_SLEEP_MS = 1_000;

/** What the server said about its limits: `x-ratelimit-*` headers, and a 429's `retry-after`. */
export interface ObservedLimits {
  requests?: { limit?: number; remaining?: number };
  tokens?: { limit?: number; remaining?: number };
  retryAfterMs?: number;
}

export interface BudgetRequest {
  model: string;
  /**
   * The prompt's tokens plus the answer's estimate (none when the model has no token limit): corrected by `settle` once
   * the usage is known.
   */
  tokens: number;
  priority: LlmPriority;
  signal?: AbortSignal;
}

export interface BudgetTicket {
  /** The request's real token count: the difference to the reservation is given back (or taken). */
  settle(tokens: number): void;
}

export interface LlmBudget {
  acquire(request: BudgetRequest): Promise<BudgetTicket>;
  /** Whether `model` has a token limit (configured or learned): without one, a request's tokens need no counting. */
  limitsTokens(model: string): boolean;
  /**
   * How long a request of `priority` to `model` would wait for the budget now, in ms (0: it would pass), taking nothing:
   * what a backfill's progress says while its requests wait.
   */
  waitFor(model: string, priority: LlmPriority): Promise<number>;
  learn(model: string, observed: ObservedLimits): void;
  close(): Promise<void>;
}

/** `x-ratelimit-limit-requests`, `x-ratelimit-remaining-tokens`… as OpenAI (and servers copying it) send them. */
export function observedFromHeaders(headers: Headers | undefined, retryAfterMs?: number): ObservedLimits {
  const number = (name: string) => {
    const value = headers?.get(name);
    return value !== null && value !== undefined && value.trim() !== "" && Number.isFinite(Number(value)) ? Number(value) : undefined;
  };
  const dimension = (kind: "requests" | "tokens") => {
    const limit = number(`x-ratelimit-limit-${kind}`);
    const remaining = number(`x-ratelimit-remaining-${kind}`);
    return limit === undefined && remaining === undefined ? undefined : { limit, remaining };
  };
  const requests = dimension("requests");
  const tokens = dimension("tokens");
  return { ...(requests ? { requests } : {}), ...(tokens ? { tokens } : {}), ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
}

interface Bucket {
  level: number;
  at: number;
}

/** The same arithmetic as the Redis script, for one process: the fallback, and the budget without Redis. */
class LocalBuckets {
  readonly #buckets = new Map<string, Bucket>();
  readonly #blockedUntil = new Map<string, number>();

  #level(key: string, capacity: number, now: number): number {
    const bucket = this.#buckets.get(key);
    if (!bucket) return capacity;
    return Math.min(capacity, bucket.level + ((now - bucket.at) * capacity) / MINUTE_MS);
  }

  /** How long a request of `tokens` would wait now (0: not at all), and the buckets' levels it was judged on. */
  #judge(model: string, capacities: [number, number], tokens: number, reserve: number, now: number): { wait: number; levels: number[] } {
    const blocked = this.#blockedUntil.get(model) ?? 0;
    if (blocked > now) return { wait: blocked - now, levels: [] };
    const costs = [1, tokens];
    let wait = 0;
    const levels = capacities.map((capacity, index) => {
      if (capacity <= 0) return 0;
      const level = this.#level(`${model}:${index}`, capacity, now);
      const need = Math.min(costs[index]!, capacity) + reserve * capacity;
      if (level < need) wait = Math.max(wait, Math.ceil(((need - level) * MINUTE_MS) / capacity));
      return level;
    });
    return { wait, levels };
  }

  /** 0: taken; else how long to wait before asking again. */
  take(model: string, capacities: [number, number], tokens: number, reserve: number, now = Date.now()): number {
    const { wait, levels } = this.#judge(model, capacities, tokens, reserve, now);
    if (wait > 0) return wait;
    capacities.forEach((capacity, index) => {
      if (capacity > 0) this.#buckets.set(`${model}:${index}`, { level: levels[index]! - Math.min(index === 0 ? 1 : tokens, capacity), at: now });
    });
    return 0;
  }

  /** How long a request would wait now, taking nothing. */
  peek(model: string, capacities: [number, number], tokens: number, reserve: number, now = Date.now()): number {
    return this.#judge(model, capacities, tokens, reserve, now).wait;
  }

  adjust(model: string, capacities: [number, number], tokenDelta: number, remaining: [number, number], blockMs: number, now = Date.now()): void {
    capacities.forEach((capacity, index) => {
      if (capacity <= 0) return;
      let level = this.#level(`${model}:${index}`, capacity, now) + (index === 1 ? tokenDelta : 0);
      if (remaining[index]! >= 0) level = Math.min(level, remaining[index]!);
      this.#buckets.set(`${model}:${index}`, { level: Math.max(level, -capacity), at: now });
    });
    if (blockMs > 0) this.#blockedUntil.set(model, Math.max(this.#blockedUntil.get(model) ?? 0, now + blockMs));
  }
}

/**
 * One atomic script per request. KEYS: requests bucket, tokens bucket, block key, instances. Redis's own clock, so
 * instances whose clocks differ agree. A capacity of 0 is a dimension nobody limits.
 */
const BUDGET_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local mode = ARGV[1]
local caps = { tonumber(ARGV[2]), tonumber(ARGV[3]) }
local function level(key, cap)
  local v = redis.call('HMGET', key, 'l', 't')
  local l = tonumber(v[1])
  if not l then return cap end
  l = l + (now - tonumber(v[2])) * cap / ${MINUTE_MS}
  if l > cap then l = cap end
  return l
end
local function store(key, l)
  redis.call('HSET', key, 'l', tostring(l), 't', tostring(now))
  redis.call('PEXPIRE', key, ${2 * MINUTE_MS})
end
if mode == 'take' or mode == 'peek' then
  if mode == 'take' then
    redis.call('ZADD', KEYS[4], now, ARGV[6])
    redis.call('ZREMRANGEBYSCORE', KEYS[4], 0, now - ${INSTANCE_TTL_MS})
    redis.call('PEXPIRE', KEYS[4], ${2 * INSTANCE_TTL_MS})
  end
  local seen = redis.call('ZCARD', KEYS[4])
  local blocked = tonumber(redis.call('GET', KEYS[3]) or '0')
  if blocked > now then return { blocked - now, seen } end
  local costs = { 1, tonumber(ARGV[4]) }
  local reserve = tonumber(ARGV[5])
  local levels = {}
  local wait = 0
  for i = 1, 2 do
    if caps[i] > 0 then
      local cost = math.min(costs[i], caps[i])
      levels[i] = level(KEYS[i], caps[i])
      local need = cost + reserve * caps[i]
      if levels[i] < need then wait = math.max(wait, math.ceil((need - levels[i]) * ${MINUTE_MS} / caps[i])) end
    end
  end
  if wait > 0 or mode == 'peek' then return { wait, seen } end
  for i = 1, 2 do
    if caps[i] > 0 then store(KEYS[i], levels[i] - math.min(costs[i], caps[i])) end
  end
  return { 0, seen }
end
local delta = tonumber(ARGV[4])
local remaining = { tonumber(ARGV[5]), tonumber(ARGV[6]) }
for i = 1, 2 do
  if caps[i] > 0 then
    local l = level(KEYS[i], caps[i])
    if i == 2 then l = l + delta end
    if remaining[i] >= 0 and remaining[i] < l then l = remaining[i] end
    if l < -caps[i] then l = -caps[i] end
    store(KEYS[i], l)
  end
end
local block = tonumber(ARGV[7])
if block > 0 then
  local current = tonumber(redis.call('GET', KEYS[3]) or '0')
  if now + block > current then redis.call('SET', KEYS[3], tostring(now + block), 'PX', block) end
end
return { 0, 0 }
`;

type BudgetRedis = Redis & { debriefLlmBudget(...args: (string | number)[]): Promise<[number, number]> };

export interface BudgetOptions {
  limits: LlmLimits;
  /** Shared by every instance; absent: this process alone. */
  redis?: Redis;
  keyPrefix?: string;
  logger?: Logger;
  /** Each wait, by priority (the metric `debrief_llm_budget_wait_seconds`). */
  onWait?(priority: LlmPriority, seconds: number): void;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });

/** Limits, configured or learned, per model: requests and tokens per minute (0: not limited). */
export class SharedLlmBudget implements LlmBudget {
  readonly #options: BudgetOptions;
  readonly #redis: BudgetRedis | undefined;
  readonly #local = new LocalBuckets();
  readonly #learned = new Map<string, ModelLimit>();
  readonly #instance = `${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  /** Instances seen through Redis lately: this one's share of the limit while Redis is down. */
  #instances = 1;
  #redisDown = false;

  constructor(options: BudgetOptions) {
    this.#options = options;
    if (options.redis) {
      options.redis.defineCommand("debriefLlmBudget", { numberOfKeys: 4, lua: BUDGET_SCRIPT });
      this.#redis = options.redis as BudgetRedis;
    }
  }

  /**
   * Requests and tokens per minute for `model`: configured first (its own entry, then `*` and DEBRIEF_LLM_RPM/TPM for a
   * dimension its entry does not name), else what the server's headers said.
   */
  capacities(model: string): [number, number] {
    const { byModel, fallback } = this.#options.limits;
    const configured = { ...fallback, ...byModel[model] };
    const learned = this.#learned.get(model) ?? {};
    return [configured.rpm ?? learned.rpm ?? 0, configured.tpm ?? learned.tpm ?? 0];
  }

  limitsTokens(model: string): boolean {
    return this.capacities(model)[1] > 0;
  }

  async acquire(request: BudgetRequest): Promise<BudgetTicket> {
    const started = performance.now();
    const tokens = Math.max(1, Math.ceil(request.tokens));
    for (;;) {
      const wait = await this.#take(request.model, tokens, RESERVE[request.priority]);
      if (wait <= 0) break;
      // A little jitter: instances that waited for the same refill do not all ask in the same millisecond.
      await sleep(Math.min(wait, MAX_SLEEP_MS) + Math.random() * 25, request.signal);
    }
    const waited = (performance.now() - started) / 1000;
    if (waited > 0.001) this.#options.onWait?.(request.priority, waited);
    let settled = false;
    return {
      settle: (actual: number) => {
        if (settled) return;
        settled = true;
        const delta = tokens - Math.max(0, Math.ceil(actual));
        if (delta !== 0 && this.limitsTokens(request.model)) void this.#adjust(request.model, { tokenDelta: delta });
      },
    };
  }

  async waitFor(model: string, priority: LlmPriority): Promise<number> {
    const [rpm, tpm] = this.capacities(model);
    if (rpm <= 0 && tpm <= 0) return 0;
    if (this.#redis) {
      try {
        const [wait] = await this.#redis.debriefLlmBudget(...this.#keys(model), "peek", rpm, tpm, 1, RESERVE[priority], this.#instance);
        return Number(wait);
      } catch (error) {
        this.#down(error);
      }
    }
    return this.#local.peek(model, this.#localCapacities(model), 1, RESERVE[priority]);
  }

  learn(model: string, observed: ObservedLimits): void {
    const limits = { ...this.#learned.get(model) };
    if (observed.requests?.limit) limits.rpm = observed.requests.limit;
    if (observed.tokens?.limit) limits.tpm = observed.tokens.limit;
    this.#learned.set(model, limits);
    const remaining: [number, number] = [observed.requests?.remaining ?? -1, observed.tokens?.remaining ?? -1];
    if (remaining[0] < 0 && remaining[1] < 0 && !observed.retryAfterMs) return;
    void this.#adjust(model, { remaining, blockMs: observed.retryAfterMs ?? 0 });
  }

  /** Closes the Redis connection it was given. */
  async close(): Promise<void> {
    const redis = this.#redis;
    if (!redis) return;
    if (redis.status === "ready") await redis.quit().catch(() => redis.disconnect());
    else redis.disconnect();
  }

  #keys(model: string): string[] {
    const prefix = `${this.#options.keyPrefix ?? "debrief:llm-budget:"}`;
    return [`${prefix}${model}:requests`, `${prefix}${model}:tokens`, `${prefix}${model}:blocked`, `${prefix}${model}:instances`];
  }

  /** This instance's share while it counts alone: the whole limit without Redis, its part of it with Redis down. */
  #localCapacities(model: string): [number, number] {
    const [rpm, tpm] = this.capacities(model);
    const share = this.#redis ? this.#instances : 1;
    return [rpm > 0 ? Math.max(1, rpm / share) : 0, tpm > 0 ? Math.max(1, tpm / share) : 0];
  }

  async #take(model: string, tokens: number, reserve: number): Promise<number> {
    if (this.#redis) {
      try {
        const [rpm, tpm] = this.capacities(model);
        const [wait, seen] = await this.#redis.debriefLlmBudget(...this.#keys(model), "take", rpm, tpm, tokens, reserve, this.#instance);
        this.#recovered();
        this.#instances = Math.max(1, Number(seen));
        return Number(wait);
      } catch (error) {
        this.#down(error);
      }
    }
    return this.#local.take(model, this.#localCapacities(model), tokens, reserve);
  }

  async #adjust(model: string, change: { tokenDelta?: number; remaining?: [number, number]; blockMs?: number }): Promise<void> {
    const remaining = change.remaining ?? [-1, -1];
    if (this.#redis) {
      try {
        const [rpm, tpm] = this.capacities(model);
        await this.#redis.debriefLlmBudget(...this.#keys(model), "adjust", rpm, tpm, change.tokenDelta ?? 0, remaining[0], remaining[1], change.blockMs ?? 0);
        this.#recovered();
        return;
      } catch (error) {
        this.#down(error);
      }
    }
    this.#local.adjust(model, this.#localCapacities(model), change.tokenDelta ?? 0, remaining, change.blockMs ?? 0);
  }

  #down(error: unknown): void {
    if (this.#redisDown) return;
    this.#redisDown = true;
    this.#options.logger?.warn(
      { err: error instanceof Error ? error.message : String(error), instances: this.#instances },
      "LLM budget: Redis unreachable; this instance keeps to its share of the limits (the limit divided by the instances seen) until it is back",
    );
  }

  #recovered(): void {
    if (!this.#redisDown) return;
    this.#redisDown = false;
    this.#options.logger?.info("LLM budget: Redis is back; the budget is shared again");
  }
}

/**
 * The budget of this process: shared through Redis when there is one (commands fail at once while it is down, and the
 * budget falls back to this instance's share), else this process's alone.
 */
export async function createLlmBudget(options: Omit<BudgetOptions, "redis"> & { redisUrl?: string }): Promise<SharedLlmBudget> {
  if (!options.redisUrl) return new SharedLlmBudget(options);
  const redis = new Redis(options.redisUrl, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 500, connectTimeout: 1_000 });
  // Reconnection is ioredis's; each failure is already logged once by the budget, not once per attempt.
  redis.on("error", () => undefined);
  // The first requests wait for the first connection attempt (at most ~1 s) rather than start on the fallback.
  await Promise.race([redis.connect().catch(() => undefined), new Promise<void>((resolve) => setTimeout(resolve, 1_100).unref())]);
  return new SharedLlmBudget({ ...options, redis });
}
