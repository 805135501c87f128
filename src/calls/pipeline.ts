// Assembles the post-call pipeline from its configuration file: call store, extraction worker, outbox, delivery worker, routes.
import { join } from "node:path";
import type { Router } from "express";
import type { Settings } from "../config.js";
import {
  createDeliveryDispatcher,
  DeliveryOutbox,
  DeliveryWorker,
  deliveriesApiDocs,
  deliveriesRouter,
  type BodyRenderer,
  type DeliveryMetrics,
} from "../delivery/index.js";
import type { Extractor } from "../extract/index.js";
import type { ApiDocs } from "../http/openapi.js";
import type { Logger } from "../logger.js";
import { callsApiDocs } from "./api-docs.js";
import { loadPipelineConfig, type PipelineConfig } from "./config-file.js";
import { callsRouter } from "./router.js";
import { pruneFinished } from "./retention.js";
import { CallStore } from "./store.js";
import { CallWorker } from "./worker.js";
import { TurnTaking } from "../turn-taking.js";

const PRUNE_INTERVAL_MS = 60 * 60_000;

export interface Pipeline {
  config: PipelineConfig;
  routers: Router[];
  /** The routers' paths in the OpenAPI document. */
  apiDocs: ApiDocs[];
  store: CallStore;
  outbox: DeliveryOutbox;
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
  /** Renders delivery bodies (JSONata, serialising); default: on the calling thread. */
  renderBodies?: BodyRenderer;
  /** Poll intervals; tests shorten them. */
  pollIntervalMs?: number;
}

/** Throws ConfigError (naming each bad path) when the file is invalid: a bad file stops start-up, never a call. */
export function startPipeline(options: PipelineOptions): Pipeline {
  const { settings, env, extractor, logger } = options;
  const config = loadPipelineConfig(settings.configFile!, env, settings.limits, { allowPrivate: settings.allowPrivateDestinations });
  const store = CallStore.open(join(settings.cache.dataDir, "calls.sqlite"));
  const outbox = DeliveryOutbox.open(join(settings.cache.dataDir, "outbox.sqlite"));
  const interrupted = { calls: store.releaseClaims(), deliveries: outbox.releaseClaims() };
  // Both workers' steps take turns with HTTP requests: a burst of accepted calls never waits behind their extraction.
  const turns = new TurnTaking();
  if (interrupted.calls + interrupted.deliveries > 0) logger.warn(interrupted, "resuming work a previous process left unfinished");
  const deliveryWorker = new DeliveryWorker({
    outbox,
    destinations: config.destinations,
    logger: logger.child({ module: "delivery" }),
    allowPrivate: settings.allowPrivateDestinations,
    metrics: options.deliveryMetrics,
    pollIntervalMs: options.pollIntervalMs,
    turns,
  });
  const callWorker = new CallWorker({
    store,
    extractor,
    config,
    outbox,
    limits: settings.limits,
    renderBodies: options.renderBodies,
    turns,
    logger: logger.child({ module: "calls" }),
    onEnqueued: () => deliveryWorker.wake(),
    pollIntervalMs: options.pollIntervalMs,
    // A claimed call is retried by another worker only once its LLM calls have surely timed out.
    leaseMs: settings.llm.timeoutMs * (settings.llm.maxRetries + 1) * 4 + 60_000,
  });
  // Test requests get their own guarded client, so a slow test never occupies the worker's connections.
  const testDispatcher = createDeliveryDispatcher({ allowPrivate: settings.allowPrivateDestinations });
  deliveryWorker.start();
  callWorker.start();
  const prune = () => {
    try {
      const pruned = pruneFinished(store, outbox, Date.now() - settings.retentionMs);
      if (pruned.calls + pruned.deliveries > 0) logger.info(pruned, "pruned finished calls and delivered deliveries past retention");
    } catch (error) {
      logger.error({ err: error }, "pruning failed");
    }
  };
  prune();
  const pruning = setInterval(prune, PRUNE_INTERVAL_MS).unref();
  logger.info({ profiles: [...config.profiles.keys()], destinations: [...config.destinations.keys()] }, "post-call pipeline started");
  // The routers are mounted under /v1, behind the app's API-key check and rate limiter when those are on.
  const guards = { auth: settings.apiKeys.length > 0, rateLimited: settings.rateLimit.limit > 0 };

  return {
    config,
    store,
    outbox,
    routers: [
      callsRouter({ store, outbox, config, limits: settings.limits, extractor, onAccepted: () => callWorker.wake() }),
      deliveriesRouter({ outbox, worker: deliveryWorker, destinations: config.destinations, allowPrivate: settings.allowPrivateDestinations, testDispatcher }),
    ],
    apiDocs: [callsApiDocs(guards), deliveriesApiDocs(guards)],
    async close(deadlineMs) {
      clearInterval(pruning);
      await Promise.all([callWorker.stop(deadlineMs), deliveryWorker.stop(deadlineMs)]);
      store.close();
      outbox.close();
      await testDispatcher.close();
    },
  };
}
