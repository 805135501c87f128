// Turns anything thrown while serving a request into the `{"error": {code, message, details}}` body.
import type { ErrorRequestHandler, RequestHandler } from "express";
import { DebriefError } from "../errors.js";
import type { Logger } from "../logger.js";

interface BodyParserError extends Error {
  type?: string;
  status?: number;
  limit?: number;
}

/** body-parser's failures, by their `type`, as the 4xx the client deserves. */
function fromBodyParser(error: BodyParserError): DebriefError | undefined {
  switch (error.type) {
    case "entity.parse.failed":
      return new DebriefError("invalid_json", 400, `The body is not valid JSON: ${error.message}`);
    case "entity.too.large":
      return new DebriefError("payload_too_large", 413, `The body is larger than the limit of ${error.limit} bytes (DEBRIEF_MAX_BODY)`);
    case "encoding.unsupported":
    case "charset.unsupported":
      return new DebriefError("unsupported_media_type", 415, error.message);
    case "request.aborted":
      return new DebriefError("request_aborted", 400, "The client aborted the request");
    case "request.size.invalid":
    case "stream.encoding.set":
      return new DebriefError("invalid_request", 400, error.message);
    default:
      return undefined;
  }
}

export function errorBody(error: DebriefError) {
  return { error: { code: error.code, message: error.message, details: error.details } };
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (raw, req, res, _next) => {
    const error = raw instanceof DebriefError ? raw : (fromBodyParser(raw as BodyParserError) ?? undefined);
    if (error) {
      if (error.status >= 500) logger.warn({ code: error.code, route: req.route?.path, err: error.cause ?? undefined }, error.message);
      res.status(error.status).set(error.headers).json(errorBody(error));
      return;
    }
    logger.error({ err: raw, route: req.route?.path }, "unhandled error");
    res.status(500).json({ error: { code: "internal_error", message: "An unexpected error occurred", details: [] } });
  };
}

/** POST, PUT and PATCH bodies must be JSON: anything else is a 415 before any parsing. */
export const requireJson: RequestHandler = (req, _res, next) => {
  const hasBody = req.headers["content-length"] !== "0" && (req.headers["content-length"] !== undefined || req.headers["transfer-encoding"] !== undefined);
  if (["POST", "PUT", "PATCH"].includes(req.method) && hasBody && !req.is(["application/json", "application/*+json"])) {
    next(new DebriefError("unsupported_media_type", 415, `Content-Type must be application/json, not ${req.headers["content-type"] ?? "(none)"}`));
    return;
  }
  next();
};

export const notFound: RequestHandler = (req, _res, next) => {
  next(new DebriefError("not_found", 404, `No route for ${req.method} ${req.path}`));
};
