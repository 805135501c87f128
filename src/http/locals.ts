// What the middleware and routes note about a request in `res.locals`, for the request log line and the metrics.
import type { ApiKey } from "../access/index.js";
import type { Usage } from "../llm/index.js";

/** Set by the extraction route (and any route that extracts): what the log line reports, never the content. */
export interface ExtractionFacts {
  model: string;
  cached: boolean;
  usage: Usage;
  chunks: number;
}

/** Set by authentication: a fingerprint of the API key (never the key), the rate limiter's bucket (the key's name), the key's grants. */
export interface ClientFacts {
  keyId: string;
  rateKey: string;
  /** The key that matched: its name, scopes and profiles. */
  key?: ApiKey;
}

/** Set by the error handler: the error's code and kind, never its message (it may quote the request). */
export interface ErrorFacts {
  code: string;
  /** For invalid_signature: which check failed (never the secret or the signature). */
  check?: string;
  cause?: ErrorShape;
}

/** An error described by its kind alone: type, status, code, and for unexpected errors the stack frames. */
export interface ErrorShape {
  type: string;
  status?: number;
  code?: string;
  stack?: string[];
  cause?: ErrorShape;
}

declare global {
  namespace Express {
    interface Locals {
      extraction?: ExtractionFacts;
      client?: ClientFacts;
      error?: ErrorFacts;
      /** The mount path a request was answered under when no route matched it (e.g. a 401 under /v1). */
      mount?: string;
      /** A POST /v1/calls whose profile authenticates it by signature or URL token rather than an API key. */
      selfAuthenticating?: boolean;
      /** The voice platform a call came from, once recognised. */
      source?: string;
    }
  }
}
