// API-key authentication: `Authorization: Bearer KEY` or `X-API-Key: KEY`, compared in constant time.
import { createHash, timingSafeEqual } from "node:crypto";
import type { Request, RequestHandler } from "express";
import { UnauthorizedError } from "../errors.js";

/** Both sides are hashed first, so the comparison takes as long whatever the lengths, and lengths never leak. */
const digest = (key: string) => createHash("sha256").update(key, "utf8").digest();

function presentedKey(req: Request): string | undefined {
  const authorization = req.headers.authorization;
  const bearer = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1] : undefined;
  if (bearer) return bearer;
  const header = req.headers["x-api-key"];
  const key = (Array.isArray(header) ? header[0] : header)?.trim();
  return key || undefined;
}

/** Lets a request through when it carries one of `apiKeys`, and notes who it is (by fingerprint) for the limiter and logs. */
export function authenticate(apiKeys: readonly string[]): RequestHandler {
  const allowed = apiKeys.map(digest);
  return (req, res, next) => {
    // A platform's webhook whose profile authenticates it (signature, URL token): the calls route verifies it instead.
    if (res.locals.selfAuthenticating) {
      next();
      return;
    }
    const key = presentedKey(req);
    if (key === undefined) {
      next(new UnauthorizedError("An API key is required: send `Authorization: Bearer <key>` or `X-API-Key: <key>`"));
      return;
    }
    const presented = digest(key);
    let known = false;
    // Every key is compared, so the time taken does not tell which one (or whether an early one) matched.
    for (const candidate of allowed) known = timingSafeEqual(presented, candidate) || known;
    if (!known) {
      next(new UnauthorizedError("The API key is not valid"));
      return;
    }
    const hash = presented.toString("hex");
    res.locals.client = { keyId: hash.slice(0, 12), rateKey: `key:${hash}` };
    next();
  };
}
