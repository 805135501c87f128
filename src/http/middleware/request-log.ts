// One JSON log line per request: id, route, status, latency, and for extractions model, cache and tokens.
// Built from an allow-list of facts, so bodies, headers, query strings and error messages never reach it.
import type { IncomingMessage, ServerResponse } from "node:http";
import { randomUUID } from "node:crypto";
import type { Request, RequestHandler, Response } from "express";
import { pinoHttp } from "pino-http";
import type { Logger } from "../../logger.js";
import type { ClientFacts, ErrorFacts, ExtractionFacts } from "../locals.js";
import { reportedStatus, routeLabel } from "./route-label.js";

const REQUEST_ID = /^[\w.:-]{1,128}$/;
const QUIET_PATHS = new Set(["/healthz", "/readyz"]);

function requestLine(req: IncomingMessage, res: ServerResponse, latencyMs: number) {
  const request = req as Request;
  const response = res as Response;
  const status = reportedStatus(response);
  const extraction: ExtractionFacts | undefined = response.locals.extraction;
  const client: ClientFacts | undefined = response.locals.client;
  const error: ErrorFacts | undefined = response.locals.error;
  const length = Number(req.headers["content-length"]);
  return {
    method: req.method,
    route: routeLabel(request, response),
    status,
    latency_ms: latencyMs,
    ...(Number.isFinite(length) ? { request_bytes: length } : {}),
    ...(client ? { key_id: client.keyId, ...(client.key ? { key: client.key.name } : {}) } : {}),
    ...(response.locals.source ? { source: response.locals.source } : {}),
    ...(extraction
      ? {
          model: extraction.model,
          cached: extraction.cached,
          chunks: extraction.chunks,
          tokens: { prompt: extraction.usage.prompt_tokens, completion: extraction.usage.completion_tokens },
        }
      : {}),
    ...(error ? { error } : {}),
  };
}

export function requestLog(logger: Logger): RequestHandler {
  return pinoHttp({
    logger,
    // The id is accepted from the caller (to follow a call across services) or made, and always returned.
    genReqId: (req, res) => {
      const given = req.headers["x-request-id"];
      const id = typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID();
      res.setHeader("X-Request-Id", id);
      return id;
    },
    // req.log and res.log carry only the request id; the line itself is requestLine's allow-list.
    quietReqLogger: true,
    quietResLogger: true,
    customAttributeKeys: { reqId: "request_id" },
    customSuccessObject: (req, res, value: { responseTime: number }) => requestLine(req, res, value.responseTime),
    customErrorObject: (req, res, _error, value: { responseTime: number }) => requestLine(req, res, value.responseTime),
    customSuccessMessage: (_req, res) => (reportedStatus(res as Response) === 499 ? "request aborted by the client" : "request completed"),
    customErrorMessage: () => "request failed",
    // A 500 is our bug; a 502/503/504 is the LLM's trouble, reported to the client and worth a look.
    customLogLevel: (_req, res) => (res.statusCode === 500 ? "error" : res.statusCode > 500 ? "warn" : "info"),
    autoLogging: { ignore: (req) => QUIET_PATHS.has(String(req.url).split("?")[0]!) },
  });
}
