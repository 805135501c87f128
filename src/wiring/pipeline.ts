// Assembles the post-call pipeline from its configuration file: call store, extraction worker, outbox, delivery worker, routes.
// The role decides which halves run here: `api` accepts and answers, `worker` extracts and delivers, `all` does both.
import type { Request, Router } from "express";
import type { Settings } from "../settings.js";
import {
  createDeliveryDispatcher,
  DeliveryWorker,
  deliveriesApiDocs,
  deliveriesRouter,
  type BodyRenderer,
  type DeliveryMetrics,
  type DeliveryOutbox,
} from "../delivery/index.js";
import type { Extractor } from "../extract/index.js";
import type { ApiDocs } from "../http/openapi.js";
import type { Logger } from "../logger.js";
import { callsApiDocs } from "../calls/api/docs/calls.js";
import { backfillApiDocs } from "../calls/api/docs/backfills.js";
import { backfillRouter } from "../calls/api/backfill-router.js";
import { profilesApiDocs } from "../calls/api/docs/profiles.js";
import { insightsApiDocs } from "../calls/api/docs/insights.js";
import { profilesRouter } from "../calls/api/profiles-router.js";
import { profileVersion } from "../configuration/profile-version.js";
import { syncFates } from "../calls/fate-sync.js";
import type { PipelineConfig } from "../configuration/config-file.js";
import { holdPipelineConfig, type ReloadReport } from "../configuration/config-holder.js";
import { selfAuthenticating } from "../calls/api/inbound.js";
import { openPipelineStores } from "./open-stores.js";
import { callsReadRouter } from "../calls/api/read-router.js";
import { callsRouter, type CallsRouterDeps } from "../calls/api/router.js";
import { CallReextractor, type Reextractor } from "../calls/reextract.js";
import { reextractRouter } from "../calls/api/reextract-router.js";
import { reloadRouter } from "../configuration/reload-router.js";
import { auditRecorder, auditRouter } from "../calls/api/audit.js";
import { pruneFinished } from "../calls/retention.js";
import type { CallStore } from "../calls/store/port.js";
import type { SqliteInsightsReader } from "../calls/store/sqlite.js";
import { CallWorker, type CallWorkerOptions } from "../calls/worker.js";
import { budgetChanged, DailyBudgets, resumeAffordable } from "../calls/daily-budget.js";
import { LoopPacer } from "../lib/loop-pacer.js";
import type { LlmBudget } from "../llm/index.js";

const PRUNE_INTERVAL_MS = 60 * 60_000;
/** How long an idle worker sleeps when nothing wakes it: work signals (NOTIFY, in-process) cover new work sooner. */
const POLL_INTERVAL_MS = 1_000;
/** How long a delivery's fate can lag behind the outbox after a crash between the two writes. */
const FATE_SWEEP_INTERVAL_MS = 30_000;

export interface Pipeline {
  /** The configuration now. */
  readonly config: PipelineConfig;
  /** Reloads the configuration file on SIGHUP, audited as the key `signal`; a bad file keeps the running one. */
  reload(): ReloadReport;
  /** Empty on a worker instance. */
  routers: Router[];
  /** The routers' paths in the OpenAPI document. */
  apiDocs: ApiDocs[];
  store: CallStore;
  outbox: DeliveryOutbox;
  /** Re-extracts one call under its profile's current version (the API's reextract route, backfills). */
  reextractor: Reextractor;
  /** POST /v1/calls requests whose profile authenticates them (signature, URL token) instead of an API key. */
  selfAuthenticating: (req: Request) => boolean;
  /** Stops both workers (in-flight work may finish until the deadline; the rest stays stored) and closes the stores. */
  close(deadlineMs: number): Promise<void>;
}

export interface PipelineOptions {
  settings: Settings;
  /** Where `${NAME}` references in the configuration file are looked up. */
  env: Record<string, string | undefined>;
  extractor: Extractor;
  logger: Logger;
  deliveryMetrics?: DeliveryMetrics;
  /** Told of every call a platform posted that was recognised, by source and outcome. */
  onCallReceived?: CallsRouterDeps["onReceived"];
  /** Told of every call held for review, and of every decision on one (metrics). */
  onCallHeld?: () => void;
  onCallReviewed?: CallsRouterDeps["onReviewed"];
  /** Told of each call's first extraction, with its values (metrics: debrief_extracted_values_total). */
  onCallExtracted?: CallWorkerOptions["onExtracted"];
  /** The LLM budget the extractor's requests take from (absent without one): a backfill's progress says when it waits for it. */
  llmBudget?: LlmBudget;
  /** Told each time a profile's spent daily budget changed what happened to work (metrics: debrief_llm_budget_exceeded_total). */
  onBudgetExceeded?: CallWorkerOptions["onBudgetExceeded"];
  /** Renders delivery bodies (JSONata, serialising); default: on the calling thread. */
  renderBodies?: BodyRenderer;
  /** Reads insights from the SQLite call store off the event loop; default: on the calling thread. */
  sqliteInsights?: SqliteInsightsReader;
  /** The workers' poll interval; default POLL_INTERVAL_MS (undefined means the default, never "no pause"). Tests shorten it. */
  pollIntervalMs?: number;
  /** How often workers push fates the call store has not confirmed (see fate-sync.ts); tests shorten it. */
  fateSweepIntervalMs?: number;
}

/**
 * How long a claimed call is a worker's before another may take it: long enough that its LLM calls have surely
 * timed out (every retry of a chunk round and of the final pass, with a repair round each), plus a margin.
 */
export function extractionLeaseMs(llm: Settings["llm"]): number {
  return llm.timeoutMs * (llm.maxRetries + 1) * 4 + Math.min(60_000, llm.timeoutMs);
}

/**
 * Throws ConfigError (naming each bad path) when the file is invalid, DatabaseSetupError when the store cannot be
 * used: a bad file or database stops start-up, never a call.
 */
export async function startPipeline(options: PipelineOptions): Promise<Pipeline> {
  const { settings, env, extractor, logger } = options;
  const config = holdPipelineConfig({
    file: settings.configFile!,
    env,
    limits: settings.limits,
    allowPrivate: settings.allowPrivateDestinations,
    apiKeys: settings.apiKeys,
    answers: extractor,
    logger: logger.child({ module: "config" }),
  });
  const { store, outbox, signals, close: closeStores } = await openPipelineStores(settings, logger, { sqliteInsights: options.sqliteInsights });
  // Another instance on the same database reloaded: so does this one (its own file; the same text changes nothing).
  signals.subscribe("config", () => {
    try {
      config.reload();
    } catch (error) {
      // A signal handler must never throw into the LISTEN connection's event loop: the running configuration stays.
      logger.error({ err: error }, "configuration reload failed; the previous configuration keeps running");
    }
  });
  /** A reload asked of this instance (the API, SIGHUP): a good one reaches every instance sharing the database. */
  const reload = (): ReloadReport => {
    const report = config.reload();
    if (report.ok) signals.notify("config");
    return report;
  };
  const serves = settings.role !== "worker";
  const works = settings.role !== "api";
  // Profiles' daily LLM budgets: the worker looks before each extraction, the profile API shows today's spend.
  const budgets = new DailyBudgets({ store, clock: Date.now });
  /** What waits for a budget that no longer stops it (raised, removed, or `continue`) is due now, and the workers told. */
  const resumeWithinBudget = async (profiles: Parameters<typeof resumeAffordable>[1]) => {
    try {
      const resumed = await resumeAffordable({ store, budgets }, profiles);
      if (resumed.calls + resumed.items === 0) return;
      logger.info({ ...resumed, profiles: profiles.map((profile) => profile.name) }, "work that waited for a daily LLM budget is due again");
      signals.notify("calls");
    } catch (error) {
      logger.error({ err: error }, "could not resume work that waited for a daily LLM budget; it resumes when the profile's day ends");
    }
  };
  // Every instance sees every reload (its own, or another's through the database): each resumes what the new file allows.
  let previousProfiles = config.current.profiles;
  config.onChange((next) => {
    const changed = [...next.profiles.values()].filter((profile) => budgetChanged(previousProfiles.get(profile.name), profile));
    previousProfiles = next.profiles;
    if (changed.length > 0) void resumeWithinBudget(changed);
  });
  // A budget raised or removed while the service was down: what waits need not wait for the day's end. (Only budgeted
  // profiles' backfills: resuming the others' would cut their items' retry delays short.)
  const profiles = [...config.current.profiles.values()];
  await resumeWithinBudget(profiles.filter((profile) => profile.budget !== undefined));
  const unbudgeted = profiles.filter((profile) => profile.budget === undefined).map((profile) => profile.name);
  if (unbudgeted.length > 0) {
    const resumed = await store.resumeWaitingForBudget({ profiles: unbudgeted });
    if (resumed > 0) logger.info({ calls: resumed, profiles: unbudgeted }, "calls that waited for a daily LLM budget the file no longer sets are due again");
  }
  // Re-extraction: the API's reextract route, and each call of a backfill (which the call worker runs).
  const reextractor = new CallReextractor({
    store,
    outbox,
    extractor,
    config,
    limits: settings.limits,
    renderBodies: options.renderBodies,
    onEnqueued: () => signals.notify("deliveries"),
    onHeld: options.onCallHeld,
  });

  let stopWorkers = async (_deadlineMs: number) => {};
  let pruning: NodeJS.Timeout | undefined;
  let sweeping: NodeJS.Timeout | undefined;
  const pushFates = (ids: readonly string[]) =>
    syncFates(store, outbox, { ids }).then(
      () => undefined,
      (error: unknown) => logger.error({ err: error }, "could not record deliveries' fates on their calls; the fate sweep will"),
    );
  if (works) {
    const interrupted = { calls: await store.releaseAbandonedClaims(), deliveries: await outbox.releaseAbandonedClaims() };
    if (interrupted.calls + interrupted.deliveries > 0) logger.warn(interrupted, "resuming work a previous process left unfinished");
    // Both workers' steps are paced between HTTP requests: a burst of accepted calls never waits behind their extraction.
    const pacer = new LoopPacer();
    const pollIntervalMs = options.pollIntervalMs ?? POLL_INTERVAL_MS;
    const deliveryWorker = new DeliveryWorker({
      outbox,
      destinations: () => config.current.destinations,
      logger: logger.child({ module: "delivery" }),
      allowPrivate: settings.allowPrivateDestinations,
      metrics: options.deliveryMetrics,
      pollIntervalMs,
      leaseGraceMs: settings.deliveryLeaseGraceMs,
      pacer,
      onStatusChanged: (delivery) => pushFates([delivery.id]),
    });
    const callWorker = new CallWorker({
      store,
      extractor,
      config,
      outbox,
      limits: settings.limits,
      renderBodies: options.renderBodies,
      pacer,
      logger: logger.child({ module: "calls" }),
      // This instance's own delivery worker sends what it enqueued, unless all its slots are taken: waking every
      // instance for every call would have each of them claim, and all but one find nothing.
      onEnqueued: () => (deliveryWorker.idleSlots > 0 ? deliveryWorker.wake() : signals.notify("deliveries")),
      onHeld: options.onCallHeld,
      onExtracted: options.onCallExtracted,
      budgets,
      onBudgetExceeded: options.onBudgetExceeded,
      pollIntervalMs,
      // Each extraction needs an LLM slot: more would wait on the LLM while holding their claim, work another
      // instance's idle worker could be doing.
      concurrency: settings.llm.concurrency,
      leaseMs: extractionLeaseMs(settings.llm),
      backfills: { reextractor },
    });
    signals.subscribe("calls", () => callWorker.wake());
    signals.subscribe("deliveries", () => deliveryWorker.wake());
    deliveryWorker.start();
    callWorker.start();
    // Every worker instance prunes; on a shared database they may overlap, which is safe (see pruneFinished).
    const prune = async () => {
      try {
        const pruned = await pruneFinished(store, outbox, Date.now() - settings.retentionMs);
        if (pruned.calls + pruned.deliveries > 0) logger.info(pruned, "pruned finished calls and delivered deliveries past retention");
      } catch (error) {
        logger.error({ err: error }, "pruning failed");
      }
    };
    void prune();
    pruning = setInterval(() => void prune(), PRUNE_INTERVAL_MS).unref();
    // Fates a crash left unconfirmed (and, after an upgrade, every delivery the outbox already had) reach their calls.
    const sweep = async () => {
      try {
        const pushed = await syncFates(store, outbox);
        if (pushed > 0) logger.info({ pushed }, "recorded deliveries' fates on their calls");
      } catch (error) {
        logger.error({ err: error }, "the fate sweep failed; it runs again shortly");
      }
    };
    void sweep();
    sweeping = setInterval(() => void sweep(), options.fateSweepIntervalMs ?? FATE_SWEEP_INTERVAL_MS).unref();
    stopWorkers = async (deadlineMs) => void (await Promise.all([callWorker.stop(deadlineMs), deliveryWorker.stop(deadlineMs)]));
  }
  // Test requests get their own guarded client, so a slow test never occupies the worker's connections.
  const testDispatcher = serves ? createDeliveryDispatcher({ allowPrivate: settings.allowPrivateDestinations }) : undefined;
  logger.info(
    { role: settings.role, store: store.engine, profiles: config.profiles(), destinations: [...config.current.destinations.keys()] },
    "post-call pipeline started",
  );
  // The routers are mounted under /v1, behind the app's API-key check and rate limiter when those are on.
  // Keys in DEBRIEF_API_KEYS or the file's `keys:` switch authentication on.
  const authOn = settings.apiKeys.length > 0 || config.current.keys.length > 0;
  const guards = { auth: authOn, rateLimited: settings.rateLimit.limit > 0 };

  return {
    get config() {
      return config.current;
    },
    // The API's reload is audited by the route's recorder; this one is the signal's (issue 25).
    reload: () => {
      const before = config.profiles();
      const report = reload();
      store
        .recordAudit({
          actor: "signal",
          action: "config.reload",
          target: null,
          outcome: report.ok ? "ok" : "invalid_config",
          details: report.ok ? { before, after: report.profiles, changed: report.changed } : { before, problems: report.issues.length },
        })
        .catch((error: unknown) => logger.error({ err: error }, "could not record an audit entry"));
      return report;
    },
    store,
    outbox,
    reextractor,
    selfAuthenticating: selfAuthenticating(config, authOn),
    routers: serves
      ? [
          // First: it watches the audited actions the routers below answer (issue 25).
          auditRecorder({ store, profiles: () => config.profiles(), onError: (error) => logger.error({ err: error }, "could not record an audit entry") }),
          auditRouter({ store }),
          callsRouter({
            store,
            config,
            limits: settings.limits,
            extractor,
            onAccepted: () => signals.notify("calls"),
            onReceived: options.onCallReceived,
            onReviewed: options.onCallReviewed,
          }),
          callsReadRouter({ store, outbox, config, extractor, limits: settings.limits }),
          reextractRouter({ reextractor, store }),
          reloadRouter({ reload }),
          profilesRouter({
            store,
            config,
            budgets,
            profileVersion: (profile) => profileVersion(profile, extractor),
            effectiveModel: (model) => extractor.effectiveModel(model),
          }),
          backfillRouter({
            store,
            config,
            limits: settings.limits,
            extractor,
            reextractor,
            prices: extractor.prices,
            profileVersion: (profile) => profileVersion(profile, extractor),
            onStarted: () => signals.notify("calls"),
            budgets,
            llmBudget: options.llmBudget,
          }),
          deliveriesRouter({
            outbox,
            worker: { wake: () => signals.notify("deliveries") },
            onRetried: (id) => pushFates([id]),
            destinations: () => config.current.destinations,
            allowPrivate: settings.allowPrivateDestinations,
            testDispatcher,
            profileVariables: (profile) => config.current.profiles.get(profile)?.variables,
            callProfiles: async (ids) => new Map((await Promise.all(ids.map((id) => store.get(id)))).flatMap((call) => (call ? [[call.id, call.profile] as const] : []))),
          }),
        ]
      : [],
    apiDocs: serves ? [callsApiDocs(guards), backfillApiDocs(guards), profilesApiDocs(guards), insightsApiDocs(guards), deliveriesApiDocs(guards)] : [],
    async close(deadlineMs) {
      clearInterval(pruning);
      clearInterval(sweeping);
      await stopWorkers(deadlineMs);
      await closeStores();
      await testDispatcher?.close();
    },
  };
}
