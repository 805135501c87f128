// Wiring and start-up: the only place that knows every concrete part (settings, LLM, cache, metrics, routes).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { pathToFileURL } from "node:url";
import { environment, loadSettings, SettingsError, type Settings } from "./settings.js";
import { createResultCache } from "./cache/index.js";
import type { ReloadReport } from "./configuration/index.js";
import { startPipeline, type Pipeline } from "./wiring/index.js";
import { DatabaseSetupError } from "./db/index.js";
import { consecutiveFailuresByDestination } from "./delivery/index.js";
import { ConfigError } from "./errors.js";
import { Extractor, ExtractionSchema, type Extraction } from "./extract/index.js";
import { createApp } from "./http/index.js";
import { createLlm, createLlmBudget, llmReadiness, loadPrices, LocalLlm, OpenAiLlm, PricesError, type PriceTable } from "./llm/index.js";
import { terminalDownloadBar, type DownloadProgress } from "./llm/download-bar.js";
import { createLogger, type Logger } from "./logger.js";
import { Metrics } from "./metrics/index.js";
import { createOffload } from "./offload/index.js";

/** Shorter keys are guessable by brute force over the network. */
const MIN_API_KEY_LENGTH = 24;

export interface Service {
  server: Server;
  metrics: Metrics;
  /**
   * Reloads the configuration file (what SIGHUP does): a bad file keeps the running one and the report lists every
   * problem. Undefined without a configuration file.
   */
  reload(): ReloadReport | undefined;
  /** Stop accepting, let in-flight requests finish (up to `deadlineMs`, then cut them), close stores. */
  close(deadlineMs?: number): Promise<void>;
}

export interface StartOptions {
  /** Where `${NAME}` references in the DEBRIEF_CONFIG file are looked up. */
  env?: Record<string, string | undefined>;
  /** The pipeline workers' poll interval; unset: the pipeline's default (1 s). Tests shorten it. */
  pipelinePollIntervalMs?: number;
  /** The local model's download progress (a progress bar when stderr is a terminal). */
  onDownloadProgress?: (progress: DownloadProgress) => void;
  /** Where the built console is; tests build their own. Default: dist/web. */
  consoleDir?: string;
}

export async function startService(settings: Settings, logger: Logger, options: StartOptions = {}): Promise<Service> {
  if (!settings.llm.configured) {
    logger.warn("No LLM configured: set OPENAI_API_KEY or OPENAI_BASE_URL (DEBRIEF_LOCAL_MODEL is off). Extraction answers 503 llm_not_configured until then.");
  } else if (settings.llm.provider === "local") {
    logger.info({ model: settings.llm.model }, "no OPENAI_API_KEY or OPENAI_BASE_URL: extracting with the local model (DEBRIEF_LOCAL_MODEL)");
  }
  // The configuration file's `keys:` switch auth on too (checked once the pipeline has loaded it, below).
  if (settings.apiKeys.length === 0 && !settings.configFile) {
    logger.warn("DEBRIEF_API_KEYS is not set: API-key auth is OFF. Anyone who can reach this port can send and read call data.");
  } else if (settings.apiKeys.some((key) => key.length < MIN_API_KEY_LENGTH)) {
    logger.warn({ min_length: MIN_API_KEY_LENGTH }, "an API key in DEBRIEF_API_KEYS is short enough to guess; use long random keys");
  }

  const prices = pricesOf(settings);
  const metrics = new Metrics();
  // Only an API server has account limits to share; it learns them from the server's headers even when none is set.
  const budget =
    settings.llm.provider === "openai"
      ? await createLlmBudget({ limits: settings.llm.limits, redisUrl: settings.cache.redisUrl, logger, onWait: metrics.budgetWait })
      : undefined;
  const llm = createLlm(settings.llm, { observer: metrics.llmObserver, logger, onDownloadProgress: options.onDownloadProgress, budget });
  if (llm instanceof OpenAiLlm || llm instanceof LocalLlm) {
    metrics.observeLlmQueue(() => llm.pending);
    metrics.observeLlmInFlight(() => llm.active);
  }
  // The model downloads and loads in the background: the service answers (/readyz 503 "loading") meanwhile.
  if (llm instanceof LocalLlm) llm.start().catch(() => undefined);
  const cache = settings.cache.enabled
    ? createResultCache<Extraction>(settings.cache, logger, {
        validate: (value) => ExtractionSchema.safeParse(value).success,
        // Other instances wait for the one computing a key about as long as its LLM call may take.
        lockTtlMs: Math.min(settings.llm.timeoutMs * (settings.llm.maxRetries + 1), 300_000),
      })
    : undefined;
  // Tokenising, chunking, rendering delivery bodies and SQLite's insights queries grow with the input: they run on
  // worker threads.
  const offload = createOffload();
  const extractor = new Extractor({ llm, settings: settings.llm, cache, observer: metrics.extractorObserver, planner: offload.plan, prices });
  // The post-call pipeline (accepted calls, deliveries) runs only with a configuration file.
  let pipeline: Pipeline | undefined;
  try {
    pipeline = settings.configFile
      ? await startPipeline({
          settings,
          env: options.env ?? {},
          extractor,
          logger,
          deliveryMetrics: { attempt: metrics.deliveryAttempt },
          onCallReceived: metrics.callReceived,
          onCallHeld: metrics.callHeld,
          onCallExtracted: (profile, values) => metrics.valuesExtracted(profile.name, profile.variables, values),
          onCallReviewed: metrics.callReviewed,
          onBudgetExceeded: metrics.dailyBudgetExceeded,
          llmBudget: budget,
          renderBodies: offload.renderBodies,
          sqliteInsights: offload.sqliteInsights,
          pollIntervalMs: options.pipelinePollIntervalMs,
        })
      : undefined;
  } catch (error) {
    await offload.close();
    if (llm instanceof LocalLlm) await llm.close();
    await budget?.close();
    throw error;
  }
  if (settings.configFile && settings.apiKeys.length === 0 && (pipeline?.config.keys.length ?? 0) === 0) {
    logger.warn("Neither DEBRIEF_API_KEYS nor the configuration file's keys hold a key: API-key auth is OFF. Anyone who can reach this port can send and read call data.");
  }
  const outbox = pipeline?.outbox;
  if (outbox) metrics.observeOutboxDepth(async () => (await outbox.counts()).pending);
  if (pipeline) metrics.observeDestinationFailures(() => consecutiveFailuresByDestination(pipeline.outbox, pipeline.config.destinations.keys()));

  let stopping = false;
  const app = createApp({
    settings,
    extractor,
    logger,
    metrics,
    stopping: () => stopping,
    localModel: llm instanceof LocalLlm ? () => llm.status() : undefined,
    llm: () => llmReadiness(llm),
    v1Routers: pipeline?.routers,
    apiDocs: pipeline?.apiDocs,
    selfAuthenticating: pipeline?.selfAuthenticating,
    fileKeys: pipeline ? () => pipeline.config.keys : undefined,
    // A worker instance is probed and scraped, never sent API traffic.
    api: settings.role !== "worker",
    consoleDir: options.consoleDir,
  });

  // Responses in flight when shutdown starts are sent with `Connection: close`, so their keep-alive sockets end with them.
  const inFlight = new Set<ServerResponse>();
  const server = createServer();
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    if (stopping) res.shouldKeepAlive = false;
    inFlight.add(res);
    res.once("close", () => {
      inFlight.delete(res);
      // A response that had already started keeps its socket open once done: close it now that it is idle.
      if (stopping) server.closeIdleConnections();
    });
  });
  server.on("request", app);

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(settings.port, settings.host, () => resolve());
  });
  const address = server.address();
  logger.info(
    {
      port: typeof address === "object" && address ? address.port : settings.port,
      model: settings.llm.model,
      role: settings.role,
      auth: settings.apiKeys.length > 0 || (pipeline?.config.keys.length ?? 0) > 0,
      rate_limit: settings.rateLimit.limit > 0 ? { limit: settings.rateLimit.limit, window_ms: settings.rateLimit.windowMs } : "off",
    },
    "debrief listening",
  );

  let closing: Promise<void> | undefined;
  return {
    server,
    metrics,
    reload: () => pipeline?.reload(),
    close(deadlineMs = settings.shutdownTimeoutMs) {
      closing ??= (async () => {
        const started = Date.now();
        stopping = true;
        for (const res of inFlight) res.shouldKeepAlive = false;
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const timer = setTimeout(() => {
          if (inFlight.size > 0) logger.warn({ in_flight: inFlight.size, deadline_ms: deadlineMs }, "shutdown deadline reached; cutting requests still in flight");
          server.closeAllConnections();
        }, deadlineMs);
        await closed;
        clearTimeout(timer);
        await app.closeMiddleware();
        // After the HTTP requests (which may still write to the pipeline's stores); the workers kept working meanwhile
        // and get what is left of the deadline to finish their attempts.
        await pipeline?.close(Math.max(0, deadlineMs - (Date.now() - started)));
        await cache?.close();
        await offload.close();
        if (llm instanceof LocalLlm) await llm.close();
        await budget?.close();
      })();
      return closing;
    },
  };
}

/** SIGHUP: reload the configuration file; the outcome (and, for a bad file, every problem in it) is logged. */
export function reloadOnSignal(service: Pick<Service, "reload">, logger: Logger): ReloadReport | undefined {
  const report = service.reload();
  if (!report) logger.warn("SIGHUP: no DEBRIEF_CONFIG file to reload");
  return report;
}

/** The shipped price table with DEBRIEF_PRICES added; a bad file stops start-up, naming the setting. */
function pricesOf(settings: Settings): PriceTable {
  try {
    return loadPrices(settings.llm.pricesFile);
  } catch (error) {
    if (error instanceof PricesError) throw new SettingsError(`Invalid settings:\n  DEBRIEF_PRICES: ${error.message}`);
    throw error;
  }
}

async function main(): Promise<void> {
  let settings: Settings;
  let service: Service;
  let logger: Logger;
  try {
    settings = loadSettings();
    logger = createLogger(settings.logLevel);
    const bar = process.stderr.isTTY && settings.llm.provider === "local" ? terminalDownloadBar(process.stderr) : undefined;
    service = await startService(settings, logger, { env: environment(), onDownloadProgress: bar });
  } catch (error) {
    // A bad setting, configuration file or database: say what is wrong, without a stack trace, and stop.
    if (error instanceof SettingsError || error instanceof ConfigError || error instanceof DatabaseSetupError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const stop = (signal: string) => {
    logger.info({ signal, deadline_ms: settings.shutdownTimeoutMs }, "shutting down: finishing requests in flight");
    // Stores that hang on close must not keep the process alive past the deadline.
    setTimeout(() => {
      logger.error("shutdown did not finish in time; exiting");
      process.exit(1);
    }, settings.shutdownTimeoutMs + 5_000).unref();
    service.close(settings.shutdownTimeoutMs).then(
      () => {
        logger.info("shut down");
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGHUP", () => {
    try {
      reloadOnSignal(service, logger);
    } catch (error) {
      logger.error({ err: error }, "SIGHUP: configuration reload failed; the previous configuration keeps running");
    }
  });
  // node-llama-cpp (the local model) loads signal-exit, which re-raises a signal when it sees no other listener for it:
  // a `once` listener is gone by then, so the first SIGTERM killed the process before it shut down. Ours stays for the
  // first signal; a second one is re-raised to its default action, and exits at once.
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
      process.kill(process.pid, signal);
      return;
    }
    signalled = true;
    stop(signal);
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main().catch((error: unknown) => {
    process.stderr.write(`debrief failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
}
