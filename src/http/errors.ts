// Turns anything thrown while serving a request into the `{"error": {code, message, details}}` body.
import type { ErrorRequestHandler, Request, RequestHandler } from "express";
import { z } from "zod";
import { isDatabaseUnavailable } from "../db/errors.js";
import { DebriefError, InvalidSignatureError, type ErrorDetail } from "../errors.js";
import type { ErrorShape } from "./locals.js";

/** The body of every error response; the OpenAPI document is generated from it. */
export const ErrorBodySchema = z.object({
  error: z.object({
    code: z.string().describe("Stable, machine-readable: branch on this, not on the message"),
    message: z.string().describe("What went wrong and, where possible, what to change"),
    details: z
      .array(
        z
          .object({
            path: z.string().optional().describe('JSON path of the offending field, e.g. "variables[2].options"'),
            message: z.string(),
          })
          .passthrough(),
      )
      .describe("One entry per problem, for validation errors; otherwise empty"),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

// The schema and the ErrorDetail every layer throws must stay one shape.
const detailsMatch: [ErrorDetail[]] extends [ErrorBody["error"]["details"]] ? true : false = true;
void detailsMatch;

/** Missing or wrong API key. */
export class UnauthorizedError extends DebriefError {
  constructor(message: string) {
    super("unauthorized", 401, message, { headers: { "WWW-Authenticate": "Bearer" } });
  }
}

/** Over the rate limit; the limiter has already set Retry-After and the RateLimit headers. */
export class RateLimitedError extends DebriefError {
  constructor(message: string) {
    super("rate_limited", 429, message);
  }
}

interface BodyParserError extends Error {
  type?: string;
  status?: number;
  statusCode?: number;
  limit?: number;
  code?: string;
}

/** The Content-Encoding values express.json inflates; anything else is refused before reading the body. */
export const BODY_ENCODINGS = ["identity", "gzip", "deflate", "br"] as const;

/** zlib's failures on data that is not what its Content-Encoding says (Z_DATA_ERROR, ERR_BROTLI_…, …). */
const isDecodingError = (error: BodyParserError) => typeof error.code === "string" && /^(Z_|ERR_BROTLI|ERR_ZLIB|ERR__ERROR_FORMAT)/.test(error.code);

/** body-parser's (and the router's) failures, by their `type` or status, as the 4xx the client deserves. */
function fromBodyParser(error: BodyParserError, contentEncoding: string | undefined): DebriefError | undefined {
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
  }
  if (isDecodingError(error)) {
    return new DebriefError("invalid_body", 400, `The body is not valid ${contentEncoding ?? "compressed"} data, as its Content-Encoding says: ${error.message}`);
  }
  // Anything else a library marks as the client's fault (a path parameter that is not valid percent-encoding…).
  const status = error.status ?? error.statusCode;
  if (typeof status === "number" && status >= 400 && status < 500) {
    const code = status === 413 ? "payload_too_large" : status === 415 ? "unsupported_media_type" : "invalid_request";
    return new DebriefError(code, status, error.message);
  }
  return undefined;
}

/** How long a client is asked to wait before trying again when the database is down or locked. */
export const STORE_RETRY_AFTER_S = 5;

/** The database could not serve the request (down, restarting, full): nothing was written, and a retry can succeed. */
function storeUnavailable(cause: unknown): DebriefError {
  return new DebriefError(
    "store_unavailable",
    503,
    `The database is unavailable right now, so nothing was stored or read for this request; retry in ${STORE_RETRY_AFTER_S} s.`,
    { headers: { "Retry-After": String(STORE_RETRY_AFTER_S) }, cause },
  );
}

export function errorBody(error: DebriefError): ErrorBody {
  return { error: { code: error.code, message: error.message, details: error.details } };
}

/**
 * An error by its kind only. Messages are left out on purpose: a JSON parse error quotes the body, an LLM error
 * may echo a key or the prompt, a validation message may quote an extracted value. The client gets the message.
 */
export function describeError(error: unknown, options: { stack?: boolean } = {}, depth = 0): ErrorShape | undefined {
  if (!(error instanceof Error) || depth > 3) return undefined;
  // Some libraries (the openai SDK) leave `name` as "Error": the class says more.
  const shape: ErrorShape = { type: error.name && error.name !== "Error" ? error.name : error.constructor.name };
  const { status, code } = error as { status?: unknown; code?: unknown };
  if (typeof status === "number") shape.status = status;
  if (typeof code === "string" && /^[\w.-]{1,64}$/.test(code)) shape.code = code;
  // The first stack line repeats the message: only the frames are kept.
  if (options.stack && error.stack) shape.stack = error.stack.split("\n").filter((line) => /^\s+at /.test(line)).map((line) => line.trim());
  const cause = describeError(error.cause, options, depth + 1);
  if (cause) shape.cause = cause;
  return shape;
}

/** Renders the error and notes its code (and, for 5xx, the cause's kind) for the one request log line. */
export function errorHandler(): ErrorRequestHandler {
  return (raw, req, res, next) => {
    // Too late for an error body: Express's own handler cuts the connection.
    if (res.headersSent) return next(raw);
    const error =
      raw instanceof DebriefError
        ? raw
        : isDatabaseUnavailable(raw)
          ? storeUnavailable(raw)
          : raw instanceof Error
            ? fromBodyParser(raw as BodyParserError, req.headers["content-encoding"])
            : undefined;
    if (error) {
      res.locals.error = {
        code: error.code,
        ...(error instanceof InvalidSignatureError ? { check: error.check } : {}),
        ...(error.status >= 500 && error.cause ? { cause: describeError(error.cause) } : {}),
      };
      res.status(error.status).set(error.headers).json(errorBody(error));
      return;
    }
    res.locals.error = { code: "internal_error", cause: describeError(raw, { stack: true }) };
    res.status(500).json({ error: { code: "internal_error", message: "An unexpected error occurred", details: [] } });
  };
}

/** Why a request's body cannot be read as JSON from its headers alone (its media type or encoding), or undefined. */
export function unreadableMediaType(req: Request): DebriefError | undefined {
  const hasBody = req.headers["content-length"] !== "0" && (req.headers["content-length"] !== undefined || req.headers["transfer-encoding"] !== undefined);
  if (!["POST", "PUT", "PATCH"].includes(req.method) || !hasBody) return undefined;
  if (!req.is(["application/json", "application/*+json"])) {
    return new DebriefError("unsupported_media_type", 415, `Content-Type must be application/json, not ${req.headers["content-type"] ?? "(none)"}`);
  }
  const encoding = (req.headers["content-encoding"] ?? "identity").trim().toLowerCase();
  if (!(BODY_ENCODINGS as readonly string[]).includes(encoding)) {
    return new DebriefError("unsupported_media_type", 415, `Content-Encoding must be one of ${BODY_ENCODINGS.join(", ")}, not ${req.headers["content-encoding"]}`, {
      details: [{ path: "Content-Encoding", message: `must be one of ${BODY_ENCODINGS.join(", ")}` }],
    });
  }
  return undefined;
}

/**
 * POST, PUT and PATCH bodies must be JSON, sent as is or compressed with gzip, deflate or br: anything else is a 415
 * before any parsing. A self-authenticating webhook is told so only once its signature verified (its route asks).
 */
export const requireJson: RequestHandler = (req, res, next) => {
  next(res.locals.selfAuthenticating ? undefined : unreadableMediaType(req));
};

export const notFound: RequestHandler = (req, _res, next) => {
  next(new DebriefError("not_found", 404, `No route for ${req.method} ${req.path}`));
};
