// Which adapter a payload belongs to: the profile's `source`, or with `auto` the first adapter whose markers match; and
// under which platform's scheme a signed request is verified: the one its signature header names, never another.
import type { IncomingHttpHeaders } from "node:http";
import { DebriefError, type ErrorDetail } from "../errors.js";
import { autocalls } from "./autocalls.js";
import { bland } from "./bland.js";
import { elevenlabs } from "./elevenlabs.js";
import { retell } from "./retell.js";
import { header } from "./signatures.js";
import type { SignatureFailure, SignatureScheme, Source, SourceName } from "./source.js";
import { synthflow } from "./synthflow.js";
import { thoughtly } from "./thoughtly.js";
import { vapi } from "./vapi.js";

/**
 * Tried in this order under `auto`. The platforms' markers do not overlap, except that Autocalls' (a top-level
 * `transcript`) is also present in Thoughtly's payloads: Autocalls is the fallback, tried last.
 */
export const SOURCES: readonly Source[] = [vapi, retell, elevenlabs, bland, synthflow, thoughtly, autocalls];

const BY_NAME = new Map<SourceName, Source>(SOURCES.map((source) => [source.name, source]));

export function sourceNamed(name: SourceName): Source {
  return BY_NAME.get(name)!;
}

export type SourceChoice = SourceName | "auto";

/** No adapter (or not the profile's) recognises the payload; `details` say, per adapter, what was missing. */
export class UnknownPayloadShapeError extends DebriefError {
  constructor(choice: SourceChoice, details: ErrorDetail[], among: readonly Source[] = SOURCES) {
    super(
      "unknown_payload_shape",
      400,
      choice !== "auto"
        ? `The payload is not a ${choice} post-call payload (the profile's source)`
        : among.length < SOURCES.length
          ? `The payload is not a post-call payload of ${among.map((source) => source.name).join(" or ")}, whose signature it carries`
          : "The payload is not a post-call payload of any supported platform (autocalls, thoughtly, vapi, retell, elevenlabs, bland, synthflow)",
      { details },
    );
  }
}

export type Recognized = { source: Source; kind: "call" } | { source: Source; kind: "ignored"; reason: string };

/**
 * The adapter for this payload and whether it is a call or an event to acknowledge; throws UnknownPayloadShapeError.
 * `among` narrows an `auto` profile's candidates to the platforms whose signature the request carried.
 */
export function recognizePayload(payload: Record<string, unknown>, choice: SourceChoice, among?: readonly Source[]): Recognized {
  const candidates = among ?? (choice === "auto" ? SOURCES : [sourceNamed(choice)]);
  const missing: ErrorDetail[] = [];
  for (const source of candidates) {
    const recognition = source.recognize(payload);
    if (recognition.kind === "unrecognized") missing.push(...recognition.missing);
    else return recognition.kind === "call" ? { source, kind: "call" } : { source, kind: "ignored", reason: recognition.reason };
  }
  throw new UnknownPayloadShapeError(choice, missing, candidates);
}

/** Every scheme once (Autocalls and Thoughtly share Standard Webhooks), in the adapters' order. */
const SCHEMES: readonly SignatureScheme[] = [...new Set(SOURCES.map((source) => source.signature))];

const signers = (scheme: SignatureScheme): Source[] => SOURCES.filter((source) => source.signature === scheme);

/** A signed request's scheme and the platforms whose payloads it may then carry; or why it cannot be verified at all. */
export type InboundScheme =
  | { ok: true; scheme: SignatureScheme; sources: readonly Source[] }
  | { ok: false; failed: SignatureFailure; message: string };

/**
 * The scheme a request is verified under on a profile with a secret. Each scheme has its own signature headers: the
 * request is verified under the one its header names, so a digest made for one platform's scheme is never checked
 * under another's; two platforms' headers at once are refused. A scheme that does not cover the body (Synthflow signs
 * only the call id) is used only on a profile that names its platform: under `auto`, the signature alone would decide
 * how much of the request it proves.
 */
export function inboundScheme(choice: SourceChoice, headers: IncomingHttpHeaders): InboundScheme {
  const carried = (names: readonly string[] | undefined) => names?.some((name) => header(headers, name) !== undefined) ?? false;
  const named = SCHEMES.filter((scheme) => carried(scheme.headers));
  if (named.length > 1) {
    return {
      ok: false,
      failed: "conflicting_signatures",
      message: `The request carries the signature headers of ${named.map((scheme) => scheme.name).join(" and ")}: a request is verified under one platform's scheme, so send only its own`,
    };
  }
  if (choice !== "auto") {
    const source = sourceNamed(choice);
    if (named[0] !== undefined && named[0] !== source.signature) {
      return {
        ok: false,
        failed: "other_platform",
        message: `The request carries a ${named[0].name} signature, but the profile's source is ${choice}: expected ${source.signature.description}`,
      };
    }
    return { ok: true, scheme: source.signature, sources: [source] };
  }
  const scheme = named[0] ?? SCHEMES.find((candidate) => carried(candidate.sharedHeaders));
  if (!scheme) {
    return {
      ok: false,
      failed: "missing_signature",
      message: `The request carries no platform's signature; expected one of: ${SCHEMES.map((candidate) => candidate.description).join("; ")}`,
    };
  }
  if (scheme.signedField) {
    const platform = signers(scheme)[0]!.name;
    return {
      ok: false,
      failed: "needs_explicit_source",
      message:
        `A ${scheme.name} signature covers only ${scheme.signedField.join(".")}, not the body, so it is accepted only on a profile that names its platform: ` +
        `set \`source: ${platform}\` on the profile`,
    };
  }
  return { ok: true, scheme, sources: signers(scheme) };
}
