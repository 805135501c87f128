// The Express application: middleware order, routes, and error mapping. It knows routers, not their insides.
import express, { type Router } from "express";
import { pinoHttp } from "pino-http";
import { randomUUID } from "node:crypto";
import type { Settings } from "../config.js";
import type { Extractor } from "../extract/index.js";
import type { Logger } from "../logger.js";
import { errorHandler, notFound, requireJson } from "./errors.js";
import { extractRouter } from "./routes/extract.js";

export interface AppDeps {
  settings: Settings;
  extractor: Extractor;
  logger: Logger;
  /** Is everything the service needs loaded (configuration, stores)? */
  ready?: () => boolean;
  /** Further /v1 routers (calls, deliveries) mounted by the server wiring. */
  v1Routers?: Router[];
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", false);

  app.use(
    pinoHttp({
      logger: deps.logger,
      genReqId: (req, res) => {
        const given = req.headers["x-request-id"];
        const id = typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID();
        res.setHeader("X-Request-Id", id);
        return id;
      },
      // One line per request with ids, sizes and outcomes: never bodies, headers or query strings.
      serializers: {
        req: (req) => ({ id: req.id, method: req.method, path: String(req.url).split("?")[0] }),
        res: (res) => ({ statusCode: res.statusCode }),
        // The error itself is logged where it is handled; here only its kind.
        err: (err: Error) => ({ type: err.name, message: err.message }),
      },
      customProps: (_req, res) => {
        const extraction = (res as unknown as { locals?: { extraction?: unknown } }).locals?.extraction;
        return extraction ? { extraction } : {};
      },
      customLogLevel: (_req, res, err) => (res.statusCode >= 500 || err ? "warn" : "info"),
      autoLogging: { ignore: (req) => req.url === "/healthz" || req.url === "/readyz" },
    }),
  );

  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  app.get("/readyz", (_req, res) => {
    const ready = deps.ready?.() ?? true;
    res.status(ready ? 200 : 503).json({ status: ready ? "ready" : "starting", llm_configured: deps.settings.llm.configured });
  });

  app.use(requireJson);
  app.use(express.json({ limit: deps.settings.limits.maxBodyBytes, type: ["application/json", "application/*+json"] }));

  const v1 = express.Router();
  v1.use(extractRouter({ extractor: deps.extractor, limits: deps.settings.limits }));
  for (const router of deps.v1Routers ?? []) v1.use(router);
  app.use("/v1", v1);

  app.use(notFound);
  app.use(errorHandler(deps.logger));
  return app;
}
