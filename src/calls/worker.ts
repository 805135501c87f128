// Extracts accepted calls in the background and hands the enriched payload to the delivery outbox.
// Failures are retried with backoff; the call stays in SQLite throughout, so a restart loses nothing.
import pLimit, { type LimitFunction } from "p-limit";
import { DebriefError } from "../errors.js";
import type { Extractor } from "../extract/index.js";
import { backoffDelayMs, enqueueCallDeliveries, type BodyRenderer, type DeliveryOutbox } from "../delivery/index.js";
import type { Logger } from "../logger.js";
import type { VariableLimits } from "../schema/index.js";
import type { PipelineConfig } from "./config-file.js";
import { callExtractJob, enrichPayload, CallPayloadSchema } from "./payload.js";
import type { CallRecord, CallStore } from "./store.js";
import { noTurns, type TurnTaking } from "../turn-taking.js";

export interface CallWorkerOptions {
  store: CallStore;
  extractor: Extractor;
  config: PipelineConfig;
  outbox: DeliveryOutbox;
  /** Told when deliveries were enqueued, so they go out now rather than at its next poll. */
  onEnqueued?: () => void;
  limits: VariableLimits;
  /** Renders delivery bodies; default: on this thread. */
  renderBodies?: BodyRenderer;
  /** Shared with the delivery worker: each step of a call waits for its turn, so HTTP requests are served between. */
  turns?: Pick<TurnTaking, "next">;
  logger: Logger;
  /** Calls extracted at once; the LLM client bounds the LLM calls themselves. Default 16. */
  concurrency?: number;
  pollIntervalMs?: number;
  /** How long a claimed call is ours before another worker may take it (covers a crash mid-extraction). */
  leaseMs?: number;
  clock?: () => number;
  random?: () => number;
}

/** Errors retrying cannot fix: the request itself is wrong for this deployment (e.g. over the prompt budget). */
function isPermanent(error: unknown): boolean {
  return error instanceof DebriefError && error.status >= 400 && error.status < 500;
}

export class CallWorker {
  readonly #options: Required<Omit<CallWorkerOptions, "onEnqueued" | "renderBodies">> & Pick<CallWorkerOptions, "onEnqueued" | "renderBodies">;
  readonly #limit: LimitFunction;
  readonly #inFlight = new Map<string, Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  #running = false;

  constructor(options: CallWorkerOptions) {
    this.#options = {
      concurrency: 16,
      pollIntervalMs: 1_000,
      leaseMs: 15 * 60_000,
      clock: Date.now,
      random: Math.random,
      turns: noTurns,
      ...options,
    };
    this.#limit = pLimit(this.#options.concurrency);
  }

  start(): void {
    this.#running = true;
    this.#schedule(0);
  }

  /** Look for due calls now (after an accept or a replay). */
  wake(): void {
    if (this.#running) this.#schedule(0);
  }

  /** Stops taking calls and waits up to `deadlineMs` for extractions in flight; unfinished ones are picked up after restart. */
  async stop(deadlineMs: number): Promise<void> {
    this.#running = false;
    clearTimeout(this.#timer);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.#inFlight.values()]),
      new Promise((resolve) => (timer = setTimeout(resolve, deadlineMs))),
    ]);
    clearTimeout(timer);
  }

  /** Processes every call due now and waits for them (tests, and a manual flush). */
  async tick(): Promise<void> {
    this.#pump();
    await Promise.allSettled([...this.#inFlight.values()]);
  }

  /**
   * Claims due calls and starts them, without waiting for them: a slow extraction (an LLM timing out) must not hold
   * back the next poll, or calls whose retry time has come would sit idle. At most twice the concurrency is claimed,
   * so a backlog stays in the store, not in memory.
   */
  #pump(): void {
    const { store, concurrency, leaseMs } = this.#options;
    const room = concurrency * 2 - this.#inFlight.size;
    if (room <= 0) return;
    for (const id of store.findDue(room + this.#inFlight.size)) {
      if (this.#inFlight.has(id) || this.#inFlight.size >= concurrency * 2) continue;
      const call = store.claim(id, leaseMs);
      if (!call) continue;
      const work = this.#limit(() => this.#process(call))
        // #process records its own failures; this is for the store itself failing (a closed or full database).
        .catch((error: unknown) => this.#options.logger.error({ err: error, call_id: id }, "could not record the outcome of a call"))
        .finally(() => this.#inFlight.delete(id));
      this.#inFlight.set(id, work);
    }
  }

  #schedule(delayMs: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      // Claiming reads and writes the store for each call: it waits for its turn like any other step.
      void this.#options.turns.next().then(() => {
        if (!this.#running) return;
        try {
          this.#pump();
        } catch (error) {
          this.#options.logger.error({ err: error }, "call worker poll failed");
        }
        this.#schedule(this.#options.pollIntervalMs);
      });
    }, delayMs);
    this.#timer.unref();
  }

  async #process(call: CallRecord): Promise<void> {
    const { store, extractor, config, outbox, limits, logger, clock, random, turns } = this.#options;
    const log = logger.child({ call_id: call.id, profile: call.profile });
    try {
      await turns.next();
      const profile = config.profiles.get(call.profile);
      if (!profile) throw new DebriefError("profile_missing", 409, `Profile "${call.profile}" is no longer configured`);
      const payload = CallPayloadSchema.parse(call.payload);
      const job = callExtractJob(payload, profile, limits);
      const result = await extractor.extract(job, { turns });
      await turns.next();
      const enriched = enrichPayload(payload, {
        callId: call.id,
        profile,
        turns: job.turns,
        extractedVariables: result.extracted_variables,
        meta: result.meta,
      });
      const report = await enqueueCallDeliveries({
        outbox,
        destinations: profile.destinations,
        callId: call.id,
        payload: enriched,
        render: this.#options.renderBodies,
      });
      await turns.next();
      // The message quotes the payload (JSONata names the value it choked on): it goes to the call record, not the log.
      for (const failure of report.errors) log.error({ destination: failure.destination, expression: failure.path }, "delivery not enqueued: its expression failed on this call");
      store.markExtracted(call.id, { extracted_variables: result.extracted_variables, meta: result.meta }, report.errors);
      log.info({ deliveries: report.enqueued.length, skipped: report.skipped.length, cached: result.meta.cached }, "call extracted");
      if (report.enqueued.length > 0) this.#options.onEnqueued?.();
    } catch (error) {
      const code = error instanceof DebriefError ? error.code : "internal_error";
      const message = error instanceof Error ? error.message : String(error);
      const attempts = call.attempts + 1;
      const policy = config.extractionRetry;
      const retry = !isPermanent(error) && attempts < policy.maxAttempts;
      const nextAttemptAt = retry ? clock() + backoffDelayMs(policy, attempts, random) : undefined;
      store.markAttemptFailed(call.id, { code, message }, nextAttemptAt);
      log.warn({ code, attempts, next_attempt_at: nextAttemptAt }, retry ? "extraction failed; will retry" : "extraction failed for good");
    }
  }
}
