// API-key authentication: `Authorization: Bearer KEY` or `X-API-Key: KEY`, compared in constant time, and each
// operation's scope (403 insufficient_scope naming it).
import { timingSafeEqual } from "node:crypto";
import type { Request, RequestHandler } from "express";
import { allows, requirementOf, sha256, type ApiKey } from "../../access/index.js";
import { DebriefError } from "../../errors.js";
import { UnauthorizedError } from "../errors.js";

function presentedKey(req: Request): string | undefined {
  const authorization = req.headers.authorization;
  const bearer = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1] : undefined;
  if (bearer) return bearer;
  const header = req.headers["x-api-key"];
  const key = (Array.isArray(header) ? header[0] : header)?.trim();
  return key || undefined;
}

/** A valid key without the scope an operation needs; the message names the scope, never another key's. */
export class InsufficientScopeError extends DebriefError {
  constructor(scope: string) {
    super("insufficient_scope", 403, `This key lacks the scope this operation needs: ${scope}`, { details: [{ path: "scope", message: scope }] });
  }
}

/**
 * Lets a request through when it carries one of `keys()` (read per request: keys reload with the configuration), and
 * notes which (by name) for the limiter, the logs and the routes. With no key at all, authentication is off.
 */
export function authenticate(keys: () => readonly ApiKey[]): RequestHandler {
  return (req, res, next) => {
    // A platform's webhook whose profile authenticates it (signature, URL token): the calls route verifies it instead.
    if (res.locals.selfAuthenticating) {
      next();
      return;
    }
    const known = keys();
    if (known.length === 0) {
      next();
      return;
    }
    const key = presentedKey(req);
    if (key === undefined) {
      next(new UnauthorizedError("An API key is required: send `Authorization: Bearer <key>` or `X-API-Key: <key>`"));
      return;
    }
    // Both sides are hashed, so the comparison takes as long whatever the lengths; every key is compared, so the time
    // taken does not tell which one (or whether an early one) matched.
    const presented = sha256(key);
    let matched: ApiKey | undefined;
    for (const candidate of known) if (timingSafeEqual(presented, candidate.sha256) && matched === undefined) matched = candidate;
    if (!matched) {
      next(new UnauthorizedError("The API key is not valid"));
      return;
    }
    res.locals.client = { keyId: presented.toString("hex").slice(0, 12), rateKey: `key:${matched.name}`, key: matched };
    next();
  };
}

/** Under /v1: the key must hold the scope the operation needs (requests that authenticate themselves are the route's). */
export function authorize(): RequestHandler {
  return (req, res, next) => {
    const key = res.locals.client?.key;
    if (!key) {
      next();
      return;
    }
    const requirement = requirementOf(req.method, `/v1${req.path}`);
    next(allows(key, requirement) ? undefined : new InsufficientScopeError(requirement));
  };
}
