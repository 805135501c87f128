// The background sender: claims due deliveries from the outbox under leases, sends them with bounded concurrency, records the outcome.
import pLimit, { type LimitFunction } from "p-limit";
import type { Dispatcher } from "undici";
import type { Logger } from "../logger.js";
import { createDeliveryDispatcher, refusedUrlReason } from "./address-guard.js";
import type { CompiledDestination } from "./compile-destinations.js";
import type { ClaimedDelivery, DeliveryOutbox } from "./outbox/port.js";
import { decideAfterAttempt, type RetryDecision } from "./retry-policy.js";
import { sendWebhook, type SendResult } from "./send-webhook.js";
import type { AttemptOutcome, Delivery } from "./types.js";
import { noPacing, type LoopPacer } from "../lib/loop-pacer.js";
import { PollingWorker } from "../lib/polling-worker.js";
import { errorKind, OUTAGE_LOG_INTERVAL_MS, throttleLogs } from "../lib/throttled-warning.js";

/** How long past an attempt's own timeout a lease lasts by default: room to record the result before anyone may reclaim it. */
export const LEASE_GRACE_MS = 30_000;

export interface DeliveryMetrics {
  /** One call per finished attempt; outcome is delivered, retry, failed or interrupted. */
  attempt(destination: string, outcome: string, latencyMs: number): void;
}

export interface DeliveryWorkerOptions {
  outbox: DeliveryOutbox;
  /** The destinations now: a function when a reload may replace them, read at each use. */
  destinations: Map<string, CompiledDestination> | (() => Map<string, CompiledDestination>);
  logger: Logger;
  allowPrivate: boolean;
  /** Attempts in flight across all destinations. Default 16. */
  globalConcurrency?: number;
  /** Attempts in flight per destination, so one slow receiver cannot take every slot. Default 4. */
  perDestinationConcurrency?: number;
  /** How often the outbox is checked for due deliveries. Default 1000 ms. */
  pollIntervalMs?: number;
  /** A claim lasts the destination's timeout plus this. Default LEASE_GRACE_MS. */
  leaseGraceMs?: number;
  /** Scheduling and signing time; defaults to the outbox's clock so both always agree. */
  clock?: () => number;
  /** Jitter source in [0, 1); injectable for tests. */
  random?: () => number;
  onDelivered?: (delivery: Delivery) => void;
  /** Awaited after an attempt delivered or dead-lettered a delivery (the call store records the fate). */
  onStatusChanged?: (delivery: Delivery) => Promise<void>;
  metrics?: DeliveryMetrics;
  /** The HTTP client; default: one guarded by the SSRF rules unless allowPrivate. */
  dispatcher?: Dispatcher;
  /** Shared with the call worker: each attempt signs, sends and records in turns, so HTTP requests are served between. */
  pacer?: Pick<LoopPacer, "next">;
}

function describeFailure(result: SendResult, decision: RetryDecision, attemptsMade: number): string | null {
  const what = result.error ?? (result.status !== undefined ? `HTTP ${result.status}` : "no response");
  switch (decision.kind) {
    case "delivered":
      return null;
    case "retry":
    case "interrupted":
      return what;
    case "failed":
      if (decision.reason === "exhausted") return `gave up after ${attemptsMade} attempts; last: ${what}`;
      if (decision.reason === "refused") return what;
      if (result.status !== undefined && result.status >= 300 && result.status < 400) return `HTTP ${result.status}: redirects are not followed`;
      return `HTTP ${result.status}: not retried`;
  }
}

export class DeliveryWorker {
  private readonly outbox: DeliveryOutbox;
  private readonly destinationsNow: () => Map<string, CompiledDestination>;
  private readonly logger: Logger;
  private readonly allowPrivate: boolean;
  private readonly globalConcurrency: number;
  private readonly perDestinationConcurrency: number;
  private readonly leaseGraceMs: number;
  private readonly clock: () => number;
  private readonly random: () => number;
  private readonly onDelivered: ((delivery: Delivery) => void) | undefined;
  private readonly onStatusChanged: ((delivery: Delivery) => Promise<void>) | undefined;
  private readonly metrics: DeliveryMetrics | undefined;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly pacer: Pick<LoopPacer, "next">;

  private readonly globalLimit: LimitFunction;
  private readonly destinationLimits = new Map<string, LimitFunction>();
  /** Counted synchronously at launch, so a pump never claims more than it can start right away. */
  private active = 0;
  private readonly activeByDestination = new Map<string, number>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly shutdown = new AbortController();
  private readonly loop: PollingWorker;
  private started = false;
  private stopping: Promise<void> | undefined;

  constructor(options: DeliveryWorkerOptions) {
    this.outbox = options.outbox;
    const { destinations } = options;
    this.destinationsNow = typeof destinations === "function" ? destinations : () => destinations;
    this.logger = options.logger;
    this.allowPrivate = options.allowPrivate;
    this.globalConcurrency = options.globalConcurrency ?? 16;
    this.perDestinationConcurrency = options.perDestinationConcurrency ?? 4;
    this.leaseGraceMs = options.leaseGraceMs ?? LEASE_GRACE_MS;
    this.clock = options.clock ?? options.outbox.now;
    this.random = options.random ?? Math.random;
    this.onDelivered = options.onDelivered;
    this.onStatusChanged = options.onStatusChanged;
    this.metrics = options.metrics;
    this.ownsDispatcher = options.dispatcher === undefined;
    this.dispatcher = options.dispatcher ?? createDeliveryDispatcher({ allowPrivate: options.allowPrivate });
    this.globalLimit = pLimit(this.globalConcurrency);
    this.pacer = options.pacer ?? noPacing;
    // One line per kind of failure every 10 s: while the database is down every poll fails the same way.
    const warn = throttleLogs(this.logger, { level: "error", intervalMs: OUTAGE_LOG_INTERVAL_MS, clock: this.clock });
    this.loop = new PollingWorker({
      // Finding and claiming due deliveries waits for its turn like any other step.
      poll: async () => void (await this.claimAndLaunch()),
      intervalMs: options.pollIntervalMs ?? 1_000,
      pacer: this.pacer,
      onError: (error) => warn(`poll:${errorKind(error)}`, { err: error }, "could not read due deliveries from the outbox"),
    });
  }

  /** Attempts it could start now, across all destinations: none once it is stopping. */
  get idleSlots(): number {
    return this.started && !this.stopping ? this.globalConcurrency - this.active : 0;
  }

  private get destinations(): Map<string, CompiledDestination> {
    return this.destinationsNow();
  }

  start(): void {
    if (this.started || this.stopping) return;
    this.started = true;
    for (const destination of this.destinations.values()) {
      const reason = refusedUrlReason(destination.url, this.allowPrivate);
      if (reason) this.logger.warn({ destination: destination.name }, `deliveries to this destination will fail: ${reason}`);
    }
    this.loop.start();
  }

  /** Look for due deliveries now rather than at the next poll (after an enqueue or a replay). */
  wake(): void {
    if (!this.stopping) this.loop.wake();
  }

  /** Stop accepting new attempts, wait for in-flight ones up to deadlineMs, then abort the rest (they stay in the outbox). */
  stop(deadlineMs: number): Promise<void> {
    this.stopping ??= this.drain(deadlineMs);
    return this.stopping;
  }

  /** Run every due delivery now, each at most once, and wait for them (tests, and a manual flush). */
  async tick(): Promise<void> {
    const seen = new Set<string>();
    const mine = new Set<Promise<void>>();
    for (;;) {
      for (const attempt of await this.loop.tick(() => this.claimAndLaunch(seen))) {
        mine.add(attempt);
        void attempt.then(() => mine.delete(attempt));
      }
      if (mine.size === 0) return;
      await Promise.race(mine);
    }
  }

  private async drain(deadlineMs: number): Promise<void> {
    // Attempts a claim in progress is about to start must be among those waited for.
    await this.loop.stop();
    const settled = Promise.allSettled([...this.inFlight]);
    let deadline: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      settled.then(() => false),
      new Promise<boolean>((resolve) => (deadline = setTimeout(resolve, deadlineMs, true))),
    ]);
    clearTimeout(deadline);
    if (timedOut) {
      this.logger.warn({ in_flight: this.inFlight.size }, "delivery shutdown deadline reached; interrupting attempts still in flight");
      this.shutdown.abort();
      await settled;
    }
    if (this.ownsDispatcher) await this.dispatcher.close().catch(() => undefined);
  }

  private limitFor(destination: string): LimitFunction {
    let limit = this.destinationLimits.get(destination);
    if (!limit) {
      limit = pLimit(this.perDestinationConcurrency);
      this.destinationLimits.set(destination, limit);
    }
    return limit;
  }

  /**
   * Claims as many due deliveries as there are free slots and starts them; returns their promises. The loop runs one
   * claim at a time (a poll, a wake-up and a tick may overlap): the counts it reserves against must be the ones it reads.
   */
  private async claimAndLaunch(seen?: Set<string>): Promise<Promise<void>[]> {
    const launched: Promise<void>[] = [];
    while (!this.stopping) {
      const free = this.globalConcurrency - this.active;
      if (free <= 0) break;
      const room = (name: string) => this.perDestinationConcurrency - (this.activeByDestination.get(name) ?? 0);
      const destinations = new Map<string, { room: number; leaseMs: number }>();
      for (const [name, target] of this.destinations) destinations.set(name, { room: room(name), leaseMs: target.timeoutMs + this.leaseGraceMs });
      // Deliveries to a destination no longer configured are claimed only to be failed; they too count per destination.
      for (const name of this.activeByDestination.keys()) {
        if (!this.destinations.has(name)) destinations.set(name, { room: room(name), leaseMs: this.leaseGraceMs });
      }
      const claims = await this.outbox.claimDue({
        limit: free,
        destinations,
        other: { room: this.perDestinationConcurrency, leaseMs: this.leaseGraceMs },
        excludeIds: seen ? [...seen] : [],
      });
      for (const claim of claims) {
        seen?.add(claim.id);
        launched.push(this.launch(claim, this.destinations.get(claim.destination)));
      }
      // Fewer claims than free slots means nothing else was due, unless this batch filled a destination: the claim
      // then skipped that destination's other rows, and others' due rows may lie beyond its window.
      if (!claims.some((claim) => room(claim.destination) <= 0)) break;
    }
    return launched;
  }

  private launch(claim: ClaimedDelivery, target: CompiledDestination | undefined): Promise<void> {
    this.active++;
    this.activeByDestination.set(claim.destination, (this.activeByDestination.get(claim.destination) ?? 0) + 1);
    const run = this.limitFor(claim.destination)(() => this.globalLimit(() => this.attempt(claim, target)));
    const tracked: Promise<void> = run
      .catch((error: unknown) => {
        // The lease makes this safe: the attempt is retried once it expires.
        this.logger.error({ err: error, delivery_id: claim.id, destination: claim.destination }, "could not record a delivery attempt");
      })
      .finally(() => {
        const running = this.activeByDestination.get(claim.destination) ?? 1;
        // Only a claim made while every slot (or this destination's) was taken can have left due work behind: then a
        // freed slot polls at once. Anything new arrives with a wake-up, and retries come due at the next poll.
        const full = this.active >= this.globalConcurrency || running >= this.perDestinationConcurrency;
        this.active--;
        if (running === 1) this.activeByDestination.delete(claim.destination);
        else this.activeByDestination.set(claim.destination, running - 1);
        this.inFlight.delete(tracked);
        if (full) this.loop.wake();
      });
    this.inFlight.add(tracked);
    return tracked;
  }

  private async attempt(claim: ClaimedDelivery, target: CompiledDestination | undefined): Promise<void> {
    await this.pacer.next();
    const result: SendResult = target
      ? await sendWebhook({
          target,
          body: claim.body,
          webhookId: claim.webhookId,
          timestampMs: this.clock(),
          dispatcher: this.dispatcher,
          allowPrivate: this.allowPrivate,
          signal: this.shutdown.signal,
        })
      : {
          kind: "refused",
          status: undefined,
          latencyMs: 0,
          error: `destination "${claim.destination}" is no longer configured`,
          responseSnippet: undefined,
          retryAfterMs: undefined,
        };
    const decision = target
      ? decideAfterAttempt(
          target.retry,
          claim.runAttempt,
          { status: result.status, refused: result.kind === "refused", interrupted: result.kind === "aborted", retryAfterMs: result.retryAfterMs },
          this.random,
        )
      : ({ kind: "failed", reason: "refused" } as const);
    const outcome: AttemptOutcome = decision.kind;
    const error = describeFailure(result, decision, claim.runAttempt);
    await this.pacer.next();
    const delivery = await this.outbox.recordAttempt(claim, {
      outcome,
      nextAttemptAt: decision.kind === "retry" ? this.clock() + decision.delayMs : undefined,
      status: result.status ?? null,
      latencyMs: result.latencyMs,
      error,
      responseSnippet: result.responseSnippet ?? null,
    });
    this.metrics?.attempt(claim.destination, outcome, result.latencyMs);
    const fields = {
      delivery_id: claim.id,
      call_id: claim.callId,
      destination: claim.destination,
      attempt: claim.attempt,
      status: result.status,
      latency_ms: result.latencyMs,
      outcome,
      next_attempt_at: delivery?.next_attempt_at,
    };
    if (!delivery) this.logger.warn(fields, "delivery lease was lost before the attempt was recorded; the newer attempt owns it");
    else if (outcome === "failed") this.logger.warn({ ...fields, error }, "delivery failed and was dead-lettered");
    else this.logger.info(outcome === "delivered" ? fields : { ...fields, error }, "delivery attempt");
    if (delivery && (outcome === "delivered" || outcome === "failed")) {
      // A failure here leaves the change unconfirmed in the outbox: the fate sweep records it later.
      await this.onStatusChanged?.(delivery).catch((error: unknown) =>
        this.logger.error({ err: error, delivery_id: claim.id }, "could not record the delivery's fate on its call; the fate sweep will"),
      );
    }
    if (delivery && outcome === "delivered") {
      try {
        this.onDelivered?.(delivery);
      } catch (error) {
        this.logger.error({ err: error, delivery_id: claim.id }, "onDelivered callback failed");
      }
    }
  }
}
