// The Express application: middleware order, routes, and error mapping. It knows routers, not their insides.
import express, { type Request, type Router } from "express";
import type { Settings } from "../settings.js";
import type { Extractor } from "../extract/index.js";
import type { LlmReadiness, LocalModelStatus } from "../llm/index.js";
import type { Logger } from "../logger.js";
import { Metrics } from "../metrics/index.js";
import { errorHandler, notFound, requireJson } from "./errors.js";
import { environmentKey, type ApiKey } from "../access/index.js";
import { authenticate, authorize } from "./middleware/authenticate.js";
import { jsonBody } from "./middleware/json-body.js";
import { httpMetrics } from "./middleware/http-metrics.js";
import { createRateLimiter } from "./middleware/rate-limit.js";
import { requestLog } from "./middleware/request-log.js";
import { noteMount, trackRoute } from "./middleware/route-label.js";
import type { ApiDocs } from "./openapi.js";
import { consoleApiDocs, consoleRouter, defaultConsoleDir } from "./routes/console.js";
import { docsApiDocs, docsRouter } from "./routes/docs.js";
import { convertApiDocs, convertRouter } from "./routes/convert.js";
import { extractApiDocs, extractRouter } from "./routes/extract.js";
import { healthApiDocs, healthRouter } from "./routes/health.js";
import { meApiDocs, meRouter } from "./routes/me.js";
import { metricsApiDocs, metricsRouter } from "./routes/metrics.js";

export interface AppDeps {
  settings: Settings;
  extractor: Extractor;
  logger: Logger;
  /** This instance's metrics; a fresh registry when not given. */
  metrics?: Metrics;
  /** Is everything the service needs loaded (configuration, stores)? */
  ready?: () => boolean;
  /** Is the service draining before shutdown? /readyz then answers 503 "stopping". */
  stopping?: () => boolean;
  /** The local model's state for /readyz, when it is the provider. */
  localModel?: () => LocalModelStatus;
  /** Whether an extraction can run now, and why not (GET /readyz's `llm`). */
  llm?: () => LlmReadiness;
  /** Further /v1 routers (calls, deliveries) mounted by the server wiring, behind auth and rate limiting. */
  v1Routers?: Router[];
  /** Their paths in the OpenAPI document: each gets the registry (`registry.registerPath({...})`). */
  apiDocs?: ApiDocs[];
  /** False on a worker instance: only /healthz, /readyz and /metrics are served; everything else is 404. Default true. */
  api?: boolean;
  /** /v1 requests that authenticate themselves (a platform's signed webhook): no API key asked, the body left for the route to read. */
  selfAuthenticating?: (req: Request) => boolean;
  /** The configuration file's named keys now (they reload with it); DEBRIEF_API_KEYS's are added to them. */
  fileKeys?: () => readonly ApiKey[];
  /** Where the built console is (default: dist/web, where `npm run build` writes it). */
  consoleDir?: string;
}

export interface App extends express.Express {
  /** Stops what the middleware owns (the rate limiter's timer or Redis connection). */
  closeMiddleware(): Promise<void>;
}

export function createApp(deps: AppDeps): App {
  const { settings, logger } = deps;
  const metrics = deps.metrics ?? new Metrics();
  const environmentKeys = settings.apiKeys.map(environmentKey);
  const fileKeys = deps.fileKeys ?? (() => []);
  const keys = (): readonly ApiKey[] => {
    const named = fileKeys();
    return named.length === 0 ? environmentKeys : [...environmentKeys, ...named];
  };
  // On when either DEBRIEF_API_KEYS or the file holds a key: a reload may not take the last one away (422).
  const auth = keys().length > 0;
  const serveApi = deps.api !== false;
  const rateLimiter = serveApi && settings.rateLimit.limit > 0 ? createRateLimiter({ ...settings.rateLimit, logger, redisUrl: settings.cache.redisUrl }) : undefined;

  const app = express() as App;
  app.disable("x-powered-by");
  app.set("trust proxy", settings.trustProxy);
  app.closeMiddleware = async () => rateLimiter?.close();

  app.use(trackRoute, requestLog(logger), httpMetrics(metrics));

  // Open: load balancers and orchestrators probe these without credentials.
  app.use(
    healthRouter({
      ready: deps.ready ?? (() => true),
      stopping: deps.stopping ?? (() => false),
      llmConfigured: settings.llm.configured,
      localModel: deps.localModel,
      llm: deps.llm,
    }),
  );

  // The /docs and /console pages hold no data and load without a key: they send the key with their API calls.
  const guarded = ["/v1", "/metrics", "/openapi.json"];
  app.use([...guarded, "/docs", "/console"], noteMount);
  const selfAuthenticating = deps.selfAuthenticating;
  if (selfAuthenticating) {
    app.use("/v1", (req, res, next) => {
      if (selfAuthenticating(req)) res.locals.selfAuthenticating = true;
      next();
    });
  }
  // Always mounted: it reads the keys per request, so keys a reload adds take effect at once (none at all: auth off).
  app.use(guarded, authenticate(keys));
  app.use("/v1", authorize());

  app.use(metricsRouter(metrics));
  if (!serveApi) {
    app.use(notFound);
    app.use(errorHandler());
    return app;
  }
  app.use(
    docsRouter({
      auth,
      docs: [
        healthApiDocs,
        extractApiDocs({ limits: settings.limits, auth, rateLimited: rateLimiter !== undefined }),
        convertApiDocs({ auth, rateLimited: rateLimiter !== undefined }),
        meApiDocs({ auth, rateLimited: rateLimiter !== undefined }),
        ...(deps.apiDocs ?? []),
        metricsApiDocs({ auth }),
        docsApiDocs({ auth }),
        consoleApiDocs,
      ],
    }),
  );
  app.use(consoleRouter({ dir: deps.consoleDir ?? defaultConsoleDir(), auth }));

  // Limited and parsed only once authenticated: an anonymous client costs neither a counter nor a 2 MB JSON parse. A
  // platform's webhook is read by its route instead: its signature is checked on the raw bytes before they are parsed.
  if (rateLimiter) app.use("/v1", rateLimiter.middleware);
  app.use(requireJson);
  app.use(jsonBody(settings.limits.maxBodyBytes));

  const v1 = express.Router();
  v1.use(meRouter());
  v1.use(extractRouter({ extractor: deps.extractor, limits: settings.limits }));
  v1.use(convertRouter({ limits: settings.limits }));
  for (const router of deps.v1Routers ?? []) v1.use(router);
  app.use("/v1", v1);

  app.use(notFound);
  app.use(errorHandler());
  return app;
}
