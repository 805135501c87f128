// How a voice platform proves a POST /v1/calls is its own when the profile says so: the platform's signature on the
// raw body (`inbound.secret`), or a token in the URL (`inbound.url_token`) for platforms that can do neither. Who sent
// the request is settled before its body is parsed, shape-checked or measured: a sender that cannot prove it costs a
// header check and the read of its bytes, and is a 401 whatever the body holds.
import type { IncomingHttpHeaders } from "node:http";
import type { Request, Response } from "express";
import { InvalidSignatureError } from "../../errors.js";
import { unreadableMediaType, UnauthorizedError } from "../../http/errors.js";
import { parseJsonBody, rawBodyReader } from "../../http/middleware/json-body.js";
import { JSON_BODY_LIMITS, readStringAt } from "../../lib/json-scan.js";
import { inboundScheme, secretsMatch, type HeaderCheck, type SignatureFailure, type SignatureScheme, type Source } from "../../sources/index.js";
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

const signatureError = (scheme: SignatureScheme, failed: SignatureFailure, hint = "") =>
  new InvalidSignatureError(failed, `The ${scheme.name} signature did not verify (${failed.replaceAll("_", " ")}); expected ${scheme.description}${hint}`);

/**
 * Vapi's HMAC credential lets its owner name the signature and timestamp headers; a `source: vapi` profile that names
 * them (inbound.signature_header, inbound.timestamp_header) has them read as Vapi's defaults. Only there: on any other
 * profile a header's name says which scheme a request claims, and no configuration may blur that.
 */
function withVapiHeaderNames(headers: IncomingHttpHeaders, inbound: Profile["inbound"]): IncomingHttpHeaders {
  const signatureHeader = inbound?.signatureHeader?.toLowerCase();
  const timestampHeader = inbound?.timestampHeader?.toLowerCase();
  if (signatureHeader === undefined && timestampHeader === undefined) return headers;
  return {
    ...headers,
    ...(signatureHeader !== undefined && headers[signatureHeader] !== undefined ? { "x-signature": headers[signatureHeader] } : {}),
    ...(timestampHeader !== undefined && headers[timestampHeader] !== undefined ? { "x-timestamp": headers[timestampHeader] } : {}),
  };
}

/** Someone sent an API key where the platform's signature belongs: say this profile takes none. */
const apiKeyHint = (req: Request, failed: string) =>
  failed === "missing_signature" && req.headers["x-api-key"] !== undefined
    ? ". API keys are not accepted on this profile: it requires its platform's signature (inbound.secret)"
    : "";

/** A self-authenticating request once proven: its parsed body, and (signed) the platforms whose payload it may be. */
export interface ProvenRequest {
  body: unknown;
  /** Undefined for a URL token: any platform the profile's source allows. */
  sources: readonly Source[] | undefined;
}

/**
 * Reads a self-authenticating POST /v1/calls: the URL token and what the signature headers alone tell (which scheme,
 * well-formed, within the time window) before the body is read; the digest over the raw bytes once they are; then the
 * media type, the bounded scan and JSON.parse. Throws 401 for anything that does not prove the sender.
 */
export function inboundReader(maxBodyBytes: number): (req: Request, res: Response, profile: Profile, nowMs: number) => Promise<ProvenRequest> {
  const readRaw = rawBodyReader(maxBodyBytes);
  return async (req, res, profile, nowMs) => {
    const { secret, urlToken } = profile.inbound ?? {};
    // A reload between the API-key check and now took the profile's credentials away: nothing proves this request.
    if (secret === undefined && urlToken === undefined) {
      throw new UnauthorizedError(`Profile "${profile.name}" no longer authenticates its platform's requests: send an API key`);
    }
    checkUrlToken(profile, req, false);
    if (profile.source !== "auto") res.locals.source = profile.source;

    let scheme: SignatureScheme | undefined;
    let sources: readonly Source[] | undefined;
    let bodyCheck: Extract<HeaderCheck, { ok: true }>["body"];
    if (secret !== undefined) {
      const signed = withVapiHeaderNames(req.headers, profile.inbound);
      const chosen = inboundScheme(profile.source, signed);
      if (!chosen.ok) throw new InvalidSignatureError(chosen.failed, `${chosen.message} (profile "${profile.name}")${apiKeyHint(req, chosen.failed)}`);
      ({ scheme, sources } = chosen);
      if (sources.length === 1) res.locals.source = sources[0]!.name;
      const headers = scheme.checkHeaders(signed, secret, nowMs);
      if (!headers.ok) throw signatureError(scheme, headers.failed, apiKeyHint(req, headers.failed));
      bodyCheck = headers.body;
    }

    const raw = await readRaw(req, res);
    if (scheme && bodyCheck) {
      const checked = bodyCheck(raw);
      if (!checked.ok) throw signatureError(scheme, checked.failed);
    }
    const unreadable = unreadableMediaType(req);
    if (unreadable) throw unreadable;
    const body = raw.length === 0 ? undefined : parseJsonBody(raw, req.headers["content-type"]);
    if (scheme?.signedField) confirmSignedField(scheme, scheme.signedField, raw, body);
    req.body = body;
    return { body, sources };
  };
}

/** The field a scheme signed instead of the body must be the one JSON.parse read: else the id stored is not the one signed. */
function confirmSignedField(scheme: SignatureScheme, field: readonly string[], raw: Buffer, body: unknown): void {
  let parsed: unknown = body;
  for (const key of field) parsed = parsed !== null && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as Record<string, unknown>)[key] : undefined;
  if (parsed !== readStringAt(raw, field, JSON_BODY_LIMITS.maxDepth)) throw signatureError(scheme, "mismatch");
}
