// The signature checks the adapters share: HMAC over the raw body, constant-time comparison, timestamp windows,
// and Standard Webhooks (what Debrief's own deliveries carry) for Autocalls, Thoughtly and any generic sender.
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { Webhook } from "standardwebhooks";
import type { HeaderCheck, SignatureCheck, SignatureScheme } from "./source.js";

/** Senders' clocks drift: a timestamp this far ahead of ours is still taken as now. Anything later is refused. */
export const CLOCK_SKEW_MS = 30_000;
/** How old a timestamped signature may be (Retell's SDK and Standard Webhooks both use five minutes). */
export const DEFAULT_MAX_AGE_MS = 5 * 60_000;

export const OK: SignatureCheck = { ok: true };
export const fail = (failed: Extract<SignatureCheck, { ok: false }>["failed"]): SignatureCheck => ({ ok: false, failed });

/** A scheme from its header check: `verify` runs that, then the body check it returned. */
export function signatureScheme(definition: Omit<SignatureScheme, "verify">): SignatureScheme {
  return {
    ...definition,
    verify({ rawBody, headers }, secret, nowMs) {
      const checked = definition.checkHeaders(headers, secret, nowMs);
      if (!checked.ok) return checked;
      return checked.body ? checked.body(rawBody) : OK;
    },
  };
}

/** The body check of a scheme that signs the raw body: the digest `expected` gives for it must be the one presented. */
export const bodyDigest = (expected: (rawBody: Buffer) => Buffer, presented: string, encoding: "hex" | "base64"): HeaderCheck => ({
  ok: true,
  body: (rawBody) => (digestMatches(expected(rawBody), presented, encoding) ? OK : fail("mismatch")),
});

/** A header's value (the first, when sent twice), trimmed; undefined when absent or blank. */
export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const raw = headers[name];
  const value = (Array.isArray(raw) ? raw[0] : raw)?.trim();
  return value || undefined;
}

export function hmacSha256(secret: string, ...parts: (Buffer | string)[]): Buffer {
  const hmac = createHmac("sha256", secret);
  for (const part of parts) hmac.update(part);
  return hmac.digest();
}

/** Constant-time equality of a presented signature and the expected digest; a malformed encoding never matches. */
export function digestMatches(expected: Buffer, presented: string, encoding: "hex" | "base64"): boolean {
  const valid = encoding === "hex" ? /^[0-9a-f]+$/i.test(presented) : /^[A-Za-z0-9+/]+={0,2}$/.test(presented);
  if (!valid) return false;
  const bytes = Buffer.from(presented, encoding);
  return bytes.length === expected.length && timingSafeEqual(bytes, expected);
}

/** Constant-time equality of two secrets of any length: both are hashed first, so neither content nor length leaks. */
export function secretsMatch(presented: string, secret: string): boolean {
  const digest = (value: string) => createHash("sha256").update(value, "utf8").digest();
  return timingSafeEqual(digest(presented), digest(secret));
}

/** Refuses a timestamp older than `maxAgeMs`, or ahead of now by more than the clock skew. */
export function checkTimestamp(timestampMs: number, nowMs: number, maxAgeMs: number): SignatureCheck {
  if (!Number.isSafeInteger(timestampMs)) return fail("malformed_signature");
  if (timestampMs > nowMs + CLOCK_SKEW_MS) return fail("future_timestamp");
  if (nowMs - timestampMs > maxAgeMs) return fail("stale_timestamp");
  return OK;
}

/** `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64> …` over `id.timestamp.body`, key `whsec_…`. */
export const standardWebhooks: SignatureScheme = signatureScheme({
  name: "Standard Webhooks",
  description: "Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature (v1, base64 HMAC-SHA256 of id.timestamp.body)",
  headers: ["webhook-signature"],
  checkHeaders(headers, secret, nowMs) {
    const id = header(headers, "webhook-id");
    const timestamp = header(headers, "webhook-timestamp");
    const signatures = header(headers, "webhook-signature");
    if (!id || !timestamp || !signatures) return fail("missing_signature");
    if (!/^\d{1,12}$/.test(timestamp)) return fail("malformed_signature");
    const time = checkTimestamp(Number(timestamp) * 1000, nowMs, DEFAULT_MAX_AGE_MS);
    if (!time.ok) return time;
    return {
      ok: true,
      body(rawBody) {
        let expected: Buffer;
        try {
          expected = Buffer.from(new Webhook(secret).sign(id, new Date(Number(timestamp) * 1000), rawBody).slice("v1,".length), "base64");
        } catch {
          // Not a whsec_/base64 key: nothing it could sign matches.
          return fail("mismatch");
        }
        const matched = signatures
          .split(" ")
          .map((versioned) => versioned.split(","))
          .some(([version, signature]) => version === "v1" && signature !== undefined && digestMatches(expected, signature, "base64"));
        return matched ? OK : fail("mismatch");
      },
    };
  },
});
