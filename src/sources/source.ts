// The one contract every voice platform's adapter implements: recognise its post-call payload, verify its signature,
// and normalise it into one call, the way cache/ has one Store and a file per store.
import type { IncomingHttpHeaders } from "node:http";
import type { z } from "zod";
import type { ErrorDetail } from "../errors.js";
import type { Turn } from "../transcript/index.js";

/** Every platform Debrief reads natively: the one name for it in profiles, payloads, the API, metrics and logs. */
export const SOURCE_NAMES = ["autocalls", "thoughtly", "vapi", "retell", "elevenlabs", "bland", "synthflow"] as const;
export type SourceName = (typeof SOURCE_NAMES)[number];

/** The facts of a call every platform can tell, in one vocabulary: what `debrief.call` holds in deliveries. */
export interface CallFacts {
  /** The call reached a conversation and ended normally (not busy, unanswered, failed). */
  completed: boolean;
  /** ISO 8601 instants (UTC), or null when the platform did not say. */
  started_at: string | null;
  ended_at: string | null;
  duration_s: number | null;
  customer_phone: string | null;
  agent_phone: string | null;
  recording_url: string | null;
}

export interface NormalizedCall extends CallFacts {
  /** The platform's id of the call: a repeat of it under the same profile is a duplicate. */
  external_id: string | undefined;
  /** The platform's own word for why the call ended (Vapi endedReason, Retell disconnection_reason…), for skip_ended_reasons. */
  ended_reason: string | null;
  /** What the agent knew before the call (dynamic variables, variable values, request data). */
  input_variables: Record<string, unknown> | undefined;
  /** The agent's own prompt, when the payload carries it. */
  agent_prompt: string | undefined;
  /** IANA zone the platform says the call happened in, for relative dates. */
  timezone: string | undefined;
  turns: Turn[];
}

export type Recognition =
  | { kind: "call" }
  /** One of the platform's other events (status updates, audio, failures): acknowledged, never stored. */
  | { kind: "ignored"; reason: string }
  /** Not this platform's: each detail names a field its post-call payload has and this one lacks. */
  | { kind: "unrecognized"; missing: ErrorDetail[] };

/** What a signature is checked against: the exact bytes received and the headers. Never a parsed body. */
export interface InboundRequest {
  rawBody: Buffer;
  headers: IncomingHttpHeaders;
}

/** Which check failed: logged (never the secret or the signature itself). */
export type SignatureFailure =
  | "missing_signature"
  | "malformed_signature"
  | "stale_timestamp"
  | "future_timestamp"
  | "mismatch"
  /** Signature headers of two platforms at once: which one to believe is not the sender's choice. */
  | "conflicting_signatures"
  /** Another platform's signature than the one the profile's `source` names. */
  | "other_platform"
  /** A scheme that does not cover the body (Synthflow's), on a profile that did not name its platform. */
  | "needs_explicit_source";

export type SignatureCheck = { ok: true } | { ok: false; failed: SignatureFailure };

/** What the headers alone tell: refused already, or what the raw body must then match. */
export type HeaderCheck = { ok: false; failed: SignatureFailure } | { ok: true; body?: (rawBody: Buffer) => SignatureCheck };

export interface SignatureScheme {
  /** Who signs this way, for messages ("retell", "Standard Webhooks"). */
  readonly name: string;
  /** Human description of the headers and algorithm (README, logs). */
  readonly description: string;
  /** The signature headers only this scheme's senders send: a request carrying one is verified under this scheme alone. */
  readonly headers: readonly string[];
  /** Headers other senders send too (Authorization): they name this scheme only when no scheme's own header is present. */
  readonly sharedHeaders?: readonly string[];
  /** The one field of the body the signature covers, when it does not cover the body itself (Synthflow's call id). */
  readonly signedField?: readonly string[];
  /** Everything the headers alone can refuse (missing, malformed, outside the time window): run before the body is read. */
  checkHeaders(headers: IncomingHttpHeaders, secret: string, nowMs: number): HeaderCheck;
  /** The whole check: the headers, then the raw body. */
  verify(request: InboundRequest, secret: string, nowMs: number): SignatureCheck;
}

export interface Source {
  readonly name: SourceName;
  /** What the adapter reads, as zod: validates the payload and describes it in the OpenAPI document. */
  readonly schema: z.ZodTypeAny;
  recognize(payload: Record<string, unknown>): Recognition;
  readonly signature: SignatureScheme;
  /** Only for a payload `recognize` called a call. Throws InvalidRequestError naming the offending field. */
  normalize(payload: Record<string, unknown>): NormalizedCall;
  /** Where `ended_reason` comes from, in the platform's own words (`Vapi's endedReason`): what a skipped call's reason names. */
  readonly endedReasonField: string;
  /** Paths of the platform's own recording fields, removed from deliveries when a profile sets include_recording: false. */
  readonly recordingFields: readonly (readonly string[])[];
  /**
   * Payloads in Autocalls' shape (Autocalls' own, and Thoughtly's transcript array in it) are delivered as they always
   * were: `transcript` rewritten into Autocalls turns. Every other payload is delivered unchanged.
   */
  deliversAutocallsShape(payload: Record<string, unknown>): boolean;
}
