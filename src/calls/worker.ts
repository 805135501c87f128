// Extracts accepted calls in the background and hands the enriched payload to the delivery outbox.
// Failures are retried with backoff; the call stays in the store throughout, so a restart loses nothing.
import pLimit, { type LimitFunction } from "p-limit";
import { DebriefError } from "../errors.js";
import type { Extractor } from "../extract/index.js";
import { backoffDelayMs, type BodyRenderer, type DeliveryOutbox } from "../delivery/index.js";
import type { Logger } from "../logger.js";
import type { VariableLimits } from "../schema/index.js";
import type { ConfigSource } from "../configuration/config-holder.js";
import type { Profile } from "../configuration/config-file.js";
import { sourceNamed } from "../sources/index.js";
import { routedFates } from "./fates.js";
import { runBackfillItem, type BackfillReextractor } from "./backfill.js";
import type { BudgetStatus, DailyBudgets } from "./daily-budget.js";
import { extractCall, routeCall, type ExtractedCall } from "./extract-call.js";
import type { BackfillItem, CallRecord, CallStore } from "./store/port.js";
import { noPacing, type LoopPacer } from "../lib/loop-pacer.js";
import { PollingWorker } from "../lib/polling-worker.js";
import { errorKind, OUTAGE_LOG_INTERVAL_MS, throttleLogs } from "../lib/throttled-warning.js";

export interface CallWorkerOptions {
  store: CallStore;
  extractor: Extractor;
  /** The configuration now: each call is extracted under the one current when it starts (a reload replaces it). */
  config: ConfigSource;
  outbox: DeliveryOutbox;
  /** Told when deliveries were enqueued, so they go out now rather than at its next poll. */
  onEnqueued?: () => void;
  /** Told when a call is held for review (for metrics). */
  onHeld?: () => void;
  /** Told of each call's first extraction once it is stored, with the values it found (for metrics). */
  onExtracted?: (profile: Profile, values: Record<string, unknown>) => void;
  limits: VariableLimits;
  /** Renders delivery bodies; default: on this thread. */
  renderBodies?: BodyRenderer;
  /** Shared with the delivery worker: each step of a call waits for its turn, so HTTP requests are served between. */
  pacer?: Pick<LoopPacer, "next">;
  logger: Logger;
  /** Calls claimed and extracted at once; the LLM client bounds the LLM calls themselves. Default 16. */
  concurrency?: number;
  /** How long an idle worker sleeps between polls when nothing wakes it. Required: the caller decides. */
  pollIntervalMs: number;
  /** How long a claimed call is ours before another worker may take it (covers a crash mid-extraction). */
  leaseMs?: number;
  clock?: () => number;
  random?: () => number;
  /**
   * Backfills' calls (issue 14) run in the room live calls leave: an item is only claimed when no live call is due, in
   * the same slots, and never in the last one (with 2+ slots), so a live call arriving finds one free. Absent: none.
   */
  backfills?: { reextractor: BackfillReextractor };
  /**
   * Profiles' daily LLM budgets (`budget.daily_usd`): a live call of a profile whose budget is spent is extracted anyway
   * (`continue`, warned once a day) or waits in waiting_for_budget for the profile's next day (`wait`), and its
   * backfills' items are deferred to then. Absent: no budget is looked at.
   */
  budgets?: Pick<DailyBudgets, "status" | "add" | "forget">;
  /** Told each time a spent daily budget changed what happened to a call (continue, wait) or a backfill (pause), for metrics. */
  onBudgetExceeded?: (profile: string, action: "continue" | "wait" | "pause") => void;
}

/**
 * How often the worker makes calls whose profile's day has ended due again (while a profile has a budget): a call waits
 * at most this long into its next day, and an idle worker asks the store once a minute, not at every poll.
 */
export const BUDGET_RESUME_INTERVAL_MS = 60_000;

/** An idle worker looks for backfill items every this many polls (10 s at the default interval), and at every wake-up. */
const BACKFILL_IDLE_POLLS = 10;

/** In-flight keys of backfill items (live calls are keyed by their call id). */
const BACKFILL_KEY = "backfill:";

/** Whether any profile has a daily budget: without one, nothing about budgets costs a query. */
const anyBudget = (config: ConfigSource["current"]) => [...config.profiles.values()].some((profile) => profile.budget !== undefined);

/** What a log line about a spent budget says of it. */
const budgetFigures = (status: BudgetStatus) => ({
  spent_usd: status.spent,
  daily_usd: status.dailyUsd,
  until: new Date(status.day.end).toISOString(),
});

/** Errors retrying cannot fix: the request itself is wrong for this deployment (e.g. over the prompt budget). */
function isPermanent(error: unknown): boolean {
  return error instanceof DebriefError && error.status >= 400 && error.status < 500;
}

type OptionalOption = "onEnqueued" | "onHeld" | "onExtracted" | "renderBodies" | "backfills" | "budgets" | "onBudgetExceeded";

export class CallWorker {
  readonly #options: Required<Omit<CallWorkerOptions, OptionalOption>> & Pick<CallWorkerOptions, OptionalOption>;
  readonly #limit: LimitFunction;
  readonly #inFlight = new Map<string, Promise<void>>();
  readonly #loop: PollingWorker;
  /** The last claim was cut short by free slots: due work may be waiting for one, so a finished call polls again. */
  #full = false;
  /**
   * Idle polls since a backfill claim found nothing. A backfill starting anywhere wakes every worker, so an idle
   * worker asks for backfill items only every BACKFILL_IDLE_POLLS polls (for items whose retry time came), not at each.
   */
  #pollsSinceEmptyBackfill: number | undefined;
  /** When calls whose budget day ended were last made due (BUDGET_RESUME_INTERVAL_MS). */
  #budgetResumedAt = -Infinity;
  /** Per profile (and per kind: live calls, backfills), the start of the day its spent budget was last logged. */
  readonly #budgetLogged = new Map<string, number>();

  constructor(options: CallWorkerOptions) {
    // `??`, not a spread of defaults: an option passed as undefined (a setting left unset upstream) gets the default.
    this.#options = {
      ...options,
      concurrency: options.concurrency ?? 16,
      leaseMs: options.leaseMs ?? 15 * 60_000,
      clock: options.clock ?? Date.now,
      random: options.random ?? Math.random,
      pacer: options.pacer ?? noPacing,
    };
    this.#limit = pLimit(this.#options.concurrency);
    const { logger, pacer, pollIntervalMs, clock } = this.#options;
    // One line per kind of failure every 10 s: while the database is down every poll fails the same way.
    const warn = throttleLogs(logger, { level: "error", intervalMs: OUTAGE_LOG_INTERVAL_MS, clock });
    this.#loop = new PollingWorker({
      // Claiming reads and writes the store for each call: it waits for its turn like any other step.
      poll: () => this.#claimAndStart(),
      intervalMs: pollIntervalMs,
      pacer,
      onError: (error) => warn(`poll:${errorKind(error)}`, { err: error }, "call worker poll failed"),
    });
  }

  start(): void {
    this.#loop.start();
  }

  /** Look for due calls now (after an accept or a replay), and for backfill items (a backfill started). */
  wake(): void {
    this.#pollsSinceEmptyBackfill = undefined;
    this.#loop.wake();
  }

  /** Stops taking calls and waits up to `deadlineMs` for extractions in flight; unfinished ones are picked up after restart. */
  async stop(deadlineMs: number): Promise<void> {
    // Calls a claim in progress is about to start must be among those waited for.
    await this.#loop.stop();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.#inFlight.values()]),
      new Promise((resolve) => (timer = setTimeout(resolve, deadlineMs))),
    ]);
    clearTimeout(timer);
  }

  /** Processes every call due now and waits for them (tests, and a manual flush). */
  async tick(): Promise<void> {
    await this.#loop.tick();
    await Promise.allSettled([...this.#inFlight.values()]);
  }

  /**
   * Claims due calls and starts them, without waiting for them: a slow extraction (an LLM timing out) must not hold
   * back the next poll, or calls whose retry time has come would sit idle. Only as many are claimed as can start now:
   * a backlog stays in the store, where another instance's idle worker can take it.
   */
  async #claimAndStart(): Promise<void> {
    const { store, concurrency, leaseMs } = this.#options;
    await this.#resumeEndedBudgetDays();
    const room = concurrency - this.#inFlight.size;
    this.#full = room <= 0;
    if (this.#full) return;
    const due = await store.claimDue(room, leaseMs);
    for (const call of due) {
      // Ours already: its lease ran out while it was still extracting here (claimDue renewed it).
      if (this.#inFlight.has(call.id)) continue;
      this.#track(
        call.id,
        this.#limit(() => this.#process(call))
          // #process records its own failures; this is for the store itself failing (a closed or unreachable database).
          .catch((error: unknown) => this.#options.logger.error({ err: error, call_id: call.id }, "could not record the outcome of a call")),
      );
    }
    this.#full = due.length >= room;
    // Fewer due calls than room: no live call waits, so backfills may have what is left.
    if (!this.#full) await this.#claimBackfillItems(room - due.length);
  }

  async #claimBackfillItems(room: number): Promise<void> {
    const { store, concurrency, leaseMs, backfills, config, clock, random, logger } = this.#options;
    if (!backfills) return;
    if (this.#pollsSinceEmptyBackfill !== undefined && ++this.#pollsSinceEmptyBackfill < BACKFILL_IDLE_POLLS) return;
    const running = [...this.#inFlight.keys()].filter((key) => key.startsWith(BACKFILL_KEY)).length;
    const limit = Math.min(room, Math.max(1, concurrency - 1) - running);
    // Backfills' slots are taken: one of them finishing is what lets the next item start.
    this.#full = limit <= 0;
    if (this.#full) return;
    const deps = {
      store,
      reextractor: backfills.reextractor,
      logger,
      clock,
      retryDelayMs: (attempt: number) => backoffDelayMs(config.current.extractionRetry, attempt, random),
    };
    const claimed = await store.claimBackfillItems(limit, leaseMs);
    this.#full = claimed.length >= limit;
    const items = await this.#itemsWithinBudget(claimed);
    this.#pollsSinceEmptyBackfill = items.length === 0 && running === 0 ? 0 : undefined;
    for (const { item, profile } of items) {
      const key = `${BACKFILL_KEY}${item.backfill_id}:${item.call_id}`;
      if (this.#inFlight.has(key)) continue;
      this.#track(
        key,
        this.#limit(() => runBackfillItem(item, deps))
          // Its cost is in the store now: the next look at the budget reads it.
          .finally(() => profile && this.#options.budgets?.forget(profile))
          .catch((error: unknown) =>
            logger.error({ err: error, backfill_id: item.backfill_id, call_id: item.call_id }, "could not record a backfill item's outcome"),
          ),
      );
    }
  }

  /**
   * The claimed items whose profile may spend today, with that profile's name. The others' backfills are deferred to the
   * profile's next day (their claims here released), so no worker takes them up before.
   */
  async #itemsWithinBudget(items: readonly BackfillItem[]): Promise<{ item: BackfillItem; profile?: string }[]> {
    const { budgets, store, config, logger } = this.#options;
    if (!budgets || items.length === 0 || !anyBudget(config.current)) return items.map((item) => ({ item }));
    const profileOf = new Map<string, string | undefined>();
    for (const id of new Set(items.map((item) => item.backfill_id))) profileOf.set(id, (await store.getBackfill(id))?.profile);
    const spent = new Map<string, BudgetStatus>();
    for (const name of new Set(profileOf.values())) {
      const profile = name === undefined ? undefined : config.current.profiles.get(name);
      const status = profile === undefined ? undefined : await budgets.status(profile);
      if (status?.exceeded) spent.set(name!, status);
    }
    for (const [name, status] of spent) {
      const claimed = items.filter((item) => profileOf.get(item.backfill_id) === name);
      const deferred = await store.deferBackfills(name, status.day.end, claimed);
      this.#options.onBudgetExceeded?.(name, "pause");
      if (this.#firstToday(`backfill:${name}`, status)) {
        logger.warn(
          { profile: name, ...budgetFigures(status), deferred },
          "daily LLM budget reached: the profile's backfills pause until its next day (or a reload raises the budget)",
        );
      }
    }
    return items.flatMap((item) => {
      const profile = profileOf.get(item.backfill_id);
      return profile !== undefined && spent.has(profile) ? [] : [{ item, profile }];
    });
  }

  /** Calls whose profile's day ended while they waited for its budget are due again, looked for once a minute. */
  async #resumeEndedBudgetDays(): Promise<void> {
    const { budgets, store, config, clock, logger } = this.#options;
    const now = clock();
    if (!budgets || now - this.#budgetResumedAt < BUDGET_RESUME_INTERVAL_MS) return;
    // Without a budget anywhere nothing can be waiting (a reload or start-up resumed what waited): no query at all.
    if (!anyBudget(config.current)) return;
    this.#budgetResumedAt = now;
    const resumed = await store.resumeWaitingForBudget({ dueBy: now });
    if (resumed > 0) logger.info({ resumed }, "calls that waited for their profile's daily LLM budget are due again: a new day began");
  }

  /** True once per key and budget day: what a spent budget does is logged when it starts, not for every call. */
  #firstToday(key: string, status: BudgetStatus): boolean {
    if (this.#budgetLogged.get(key) === status.day.start) return false;
    this.#budgetLogged.set(key, status.day.start);
    return true;
  }

  /**
   * Whether the call waits for its profile's budget instead of being extracted now (`wait`, its day's budget spent):
   * then it is stored as waiting_for_budget until the profile's next day. Under `continue` it is extracted, and logged.
   */
  async #waitsForBudget(call: CallRecord, profile: Profile, log: Logger): Promise<boolean> {
    const status = await this.#options.budgets?.status(profile);
    if (!status?.exceeded) return false;
    if (status.onExceeded === "wait") {
      const { store, config } = this.#options;
      await store.markWaitingForBudget(call.id, status.day.end);
      log.info({ ...budgetFigures(status) }, "daily LLM budget reached: the call waits for its profile's next day");
      this.#options.onBudgetExceeded?.(profile.name, "wait");
      // A reload since the budget was looked at may have raised it, its resume done before this call waited: due again
      // now, the next claim looks at the budget anew (it waits again if it is still spent).
      if (config.current.profiles.get(profile.name) !== profile) await store.resumeWaitingForBudget({ profiles: [profile.name] });
      return true;
    }
    this.#options.onBudgetExceeded?.(profile.name, "continue");
    if (this.#firstToday(`live:${profile.name}`, status)) {
      this.#options.logger.warn(
        { profile: profile.name, ...budgetFigures(status) },
        "daily LLM budget reached: the profile's calls are extracted anyway (budget.on_exceeded: continue)",
      );
    }
    return false;
  }

  #track(key: string, work: Promise<void>): void {
    const tracked = work.finally(() => {
      this.#inFlight.delete(key);
      // A slot is free. Only a claim that was cut short left due work behind; anything new arrives with a wake-up,
      // and retries come due at the next poll.
      if (this.#full) this.#loop.wake();
    });
    this.#inFlight.set(key, tracked);
  }

  async #process(call: CallRecord): Promise<void> {
    const { store, extractor, outbox, limits, logger, clock, random, pacer } = this.#options;
    const config = this.#options.config.current;
    const log = logger.child({ call_id: call.id, profile: call.profile, source: call.source });
    try {
      await pacer.next();
      const profile = config.profiles.get(call.profile);
      if (!profile) throw new DebriefError("profile_missing", 409, `Profile "${call.profile}" is no longer configured`);
      // A reviewer approved it: routed with their corrections, from the extraction they reviewed (never extracted again).
      if (call.reviewed?.approved && call.extraction) {
        const source = sourceNamed(call.source);
        const normalized = source.normalize(call.payload as Record<string, unknown>);
        await this.#route(call, { profile, source, normalized, extraction: call.extraction }, log);
        return;
      }
      if (await this.#waitsForBudget(call, profile, log)) return;
      const extracted = await extractCall(call, profile, { extractor, limits }, { pacer });
      const cost = extracted.extraction.meta.cost_usd;
      if (typeof cost === "number") this.#options.budgets?.add(profile.name, cost);
      await pacer.next();
      if (extracted.hold) {
        await store.markHeld(call.id, extracted.extraction, extracted.holdReason ?? null);
        log.info({ flagged: Object.keys(extracted.extraction.review?.fields ?? {}) }, "call held for review");
        this.#options.onHeld?.();
        this.#options.onExtracted?.(profile, extracted.extraction.extracted_variables);
        return;
      }
      await this.#route(call, extracted, log);
      this.#options.onExtracted?.(profile, extracted.extraction.extracted_variables);
    } catch (error) {
      const code = error instanceof DebriefError ? error.code : "internal_error";
      const message = error instanceof Error ? error.message : String(error);
      const attempts = call.attempts + 1;
      const policy = config.extractionRetry;
      const retry = !isPermanent(error) && attempts < policy.maxAttempts;
      const nextAttemptAt = retry ? clock() + backoffDelayMs(policy, attempts, random) : undefined;
      await store.markAttemptFailed(call.id, { code, message }, nextAttemptAt);
      log.warn({ code, attempts, next_attempt_at: nextAttemptAt }, retry ? "extraction failed; will retry" : "extraction failed for good");
    }
  }

  /**
   * Hands the enriched payload to the outbox for each destination that applies, then records the extraction and the
   * fates. An approved review is routed with the reviewer's corrections, as `call.reviewed`.
   */
  async #route(call: CallRecord, extracted: Pick<ExtractedCall, "profile" | "source" | "normalized" | "extraction">, log: Logger): Promise<void> {
    const { store, outbox, pacer } = this.#options;
    const reviewed = call.reviewed?.approved ? call.reviewed : null;
    // A first extraction is event 1. A reviewed one goes out as the event its hold reserved in the call's history (1,
    // or a re-extraction's next event, sent with what receivers had before): a replay or a crash sends the same again.
    const event = reviewed ? ((await store.listExtractions(call.id, 1))[0]?.event ?? 1) : 1;
    const previousValues = event > 1 ? (extracted.extraction.previous_values ?? null) : undefined;
    const report = await routeCall(
      call,
      extracted,
      { outbox, renderBodies: this.#options.renderBodies },
      { number: event, name: reviewed ? "call.reviewed" : "call.extracted", reviewed, ...(previousValues !== undefined ? { previousValues } : {}) },
    );
    await pacer.next();
    // The message quotes the payload (JSONata names the value it choked on): it goes to the call record, not the log.
    for (const failure of report.errors) log.error({ destination: failure.destination, expression: failure.path }, "delivery not enqueued: its expression failed on this call");
    // Pending, at the version before any outcome: an outcome the delivery worker already recorded is newer and stays.
    await store.markExtracted(call.id, extracted.extraction, routedFates(report, event), reviewed ? { event } : undefined);
    log.info(
      { deliveries: report.enqueued.length, skipped: report.skipped.length, cached: extracted.extraction.meta.cached, reviewed: reviewed !== null },
      "call extracted",
    );
    if (report.enqueued.length > 0) this.#options.onEnqueued?.();

  }
}
