// Wiring and start-up: the only place that knows every concrete part (settings, LLM, cache, routes).
import { createServer, type Server } from "node:http";
import { pathToFileURL } from "node:url";
import { loadSettings, SettingsError, type Settings } from "./config.js";
import { createResultCache } from "./cache/index.js";
import { Extractor, ExtractionSchema, type Extraction } from "./extract/index.js";
import { createApp } from "./http/app.js";
import { createLlm } from "./llm/index.js";
import { createLogger, type Logger } from "./logger.js";

export interface Service {
  server: Server;
  /** Stop accepting, let in-flight requests finish (up to `deadlineMs`), close stores. */
  close(deadlineMs?: number): Promise<void>;
}

export async function startService(settings: Settings, logger: Logger): Promise<Service> {
  if (!settings.llm.configured) {
    logger.warn("No LLM configured: set OPENAI_API_KEY or OPENAI_BASE_URL. Extraction answers 503 llm_not_configured until then.");
  }
  const llm = createLlm(settings.llm);
  const cache = settings.cache.enabled
    ? createResultCache<Extraction>(settings.cache, logger, {
        validate: (value) => ExtractionSchema.safeParse(value).success,
        // Other instances wait for the one computing a key about as long as its LLM call may take.
        lockTtlMs: Math.min(settings.llm.timeoutMs * (settings.llm.maxRetries + 1), 300_000),
      })
    : undefined;
  const extractor = new Extractor({ llm, settings: settings.llm, cache });
  const app = createApp({ settings, extractor, logger });

  const server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(settings.port, settings.host, () => resolve());
  });
  const address = server.address();
  logger.info({ port: typeof address === "object" && address ? address.port : settings.port, model: settings.llm.model }, "debrief listening");

  return {
    server,
    async close(deadlineMs = 10_000) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), deadlineMs);
      await closed;
      clearTimeout(timer);
      await cache?.close();
    },
  };
}

async function main(): Promise<void> {
  let settings: Settings;
  try {
    settings = loadSettings();
  } catch (error) {
    if (error instanceof SettingsError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger(settings.logLevel);
  const service = await startService(settings, logger);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    service.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main().catch((error: unknown) => {
    process.stderr.write(`debrief failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
}
