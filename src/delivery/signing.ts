// Standard Webhooks signing: a stable webhook-id per (call, destination, event), fresh timestamp and signatures per attempt.
import { createHash, createHmac } from "node:crypto";
import { Webhook } from "standardwebhooks";

/**
 * Derived from the call, destination and event rather than stored randomness, so the id survives a replay,
 * a restart, or even a re-enqueue after the outbox was lost: receivers can always deduplicate on it. Event 1 (the
 * call's first routing) keeps the id deliveries had before events existed, which receivers already deduplicate on;
 * a re-extraction delivered again (event 2, 3…) is a new message with its own id.
 */
export function webhookIdFor(callId: string, destination: string, event = 1): string {
  const key = event === 1 ? `${callId}\u0000${destination}` : `${callId}\u0000${destination}\u0000${event}`;
  return `msg_${createHash("sha256").update(key).digest("hex").slice(0, 32)}`;
}

/** Throws when a secret is not `whsec_` + base64 of at least 16 bytes; used at config time. */
export function assertUsableSecret(secret: string): void {
  if (!secret.startsWith("whsec_")) throw new Error('must start with "whsec_" followed by a base64 key');
  const key = secret.slice("whsec_".length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(key) || key.length % 4 !== 0) throw new Error('the part after "whsec_" is not valid base64');
  if (Buffer.from(key, "base64").length < 16) throw new Error("the key is shorter than 16 bytes; generate at least 24 random bytes");
  new Webhook(secret);
}

/** The three Standard Webhooks headers; without secrets only id and timestamp, so receivers can still deduplicate. */
export function webhookHeaders(input: {
  webhookId: string;
  timestampMs: number;
  body: string;
  secrets: readonly string[];
}): Record<string, string> {
  const timestamp = new Date(input.timestampMs);
  const headers: Record<string, string> = {
    "webhook-id": input.webhookId,
    "webhook-timestamp": String(Math.floor(input.timestampMs / 1000)),
  };
  if (input.secrets.length > 0) {
    // One signature per secret during a rotation: receivers holding either key accept the message.
    const signed = `${input.webhookId}.${Math.floor(timestamp.getTime() / 1000)}.${input.body}`;
    headers["webhook-signature"] = input.secrets.map((secret) => `v1,${createHmac("sha256", keyOf(secret)).update(signed).digest("base64")}`).join(" ");
  }
  return headers;
}

const keys = new Map<string, Buffer>();

/**
 * The HMAC key of a `whsec_` secret (checked by assertUsableSecret at start-up). Signed with node:crypto as the spec
 * says, rather than the library's pure-JavaScript SHA-256, which cost a millisecond of event loop per 10 KB body.
 */
function keyOf(secret: string): Buffer {
  let key = keys.get(secret);
  if (!key) {
    // Secrets come from the configuration file: a handful, kept for the process.
    keys.set(secret, (key = Buffer.from(secret.slice("whsec_".length), "base64")));
  }
  return key;
}
