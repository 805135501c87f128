// How a voice platform proves a POST /v1/calls is its own when the profile says so: the platform's signature on the
// raw body (`inbound.secret`), or a token in the URL (`inbound.url_token`) for platforms that can do neither.
import type { Request } from "express";
import { InvalidSignatureError } from "../../errors.js";
import { UnauthorizedError } from "../../http/errors.js";
import { secretsMatch, type Source } from "../../sources/index.js";
import type { PipelineConfig, Profile } from "../../configuration/config-file.js";
import type { ConfigSource } from "../../configuration/config-holder.js";

const profileOf = (config: PipelineConfig, req: Request): Profile | undefined =>
  typeof req.query.profile === "string" ? config.profiles.get(req.query.profile) : undefined;

const tokenOf = (req: Request): string | undefined => (typeof req.query.token === "string" ? req.query.token : undefined);

/**
 * The requests that authenticate themselves, so the API-key check lets them through to the route (which then must
 * verify them): a POST /v1/calls whose profile has a secret (the signature is then required whatever else the request
 * carries), or a URL token that the request presents (or must, when there are no API keys to present instead).
 */
export function selfAuthenticating(config: ConfigSource, apiKeysOn: boolean): (req: Request) => boolean {
  return (req) => {
    // Express matches routes case-insensitively and with a trailing slash: so must this.
    if (req.method !== "POST" || req.path.toLowerCase().replace(/\/+$/, "") !== "/calls") return false;
    const inbound = profileOf(config.current, req)?.inbound;
    if (!inbound) return false;
    return inbound.secret !== undefined || (inbound.urlToken !== undefined && (tokenOf(req) !== undefined || !apiKeysOn));
  };
}

/** A URL token, when the profile has one: required unless an API key or the profile's signature authenticates the request. */
export function checkUrlToken(profile: Profile, req: Request, authenticatedByKey: boolean): void {
  const expected = profile.inbound?.urlToken;
  if (expected === undefined) return;
  const presented = tokenOf(req);
  // Without a token: an API key let the request in, or the signature (checked next) is what authenticates it.
  if (presented === undefined && (authenticatedByKey || profile.inbound?.secret !== undefined)) return;
  if (presented === undefined || !secretsMatch(presented, expected)) {
    throw new UnauthorizedError(`The token is missing or not valid for profile "${profile.name}": send the URL with ?token= as configured`);
  }
}

/** The platform's signature on the raw body, when the profile has `inbound.secret`. */
export function checkSignature(profile: Profile, source: Source, req: Request, nowMs: number): void {
  const secret = profile.inbound?.secret;
  if (secret === undefined) return;
  const result = source.signature.verify(
    { rawBody: req.rawBody ?? Buffer.alloc(0), headers: req.headers, body: req.body as Record<string, unknown> },
    secret,
    nowMs,
  );
  if (!result.ok) {
    throw new InvalidSignatureError(result.failed, `The ${source.name} signature did not verify (${result.failed.replaceAll("_", " ")}); expected ${source.signature.description}`);
  }
}
