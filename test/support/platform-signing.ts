// How each platform signs its webhooks, written from their docs and SDKs (Retell's retell-sdk `sign`, ElevenLabs'
// `constructEvent`, Bland's and Synthflow's verification samples, Standard Webhooks): the tests' independent signers.
import { createHmac } from "node:crypto";
import { Webhook } from "standardwebhooks";
import type { SourceName } from "../../src/sources/index.js";

const hmac = (secret: string, data: string) => createHmac("sha256", secret).update(data);

/** The headers `source` sends with `body` at `nowMs`, signed with `secret`. */
export function signAs(source: SourceName, body: string, secret: string, nowMs: number): Record<string, string> {
  switch (source) {
    case "retell":
      return { "x-retell-signature": `v=${nowMs},d=${hmac(secret, body + nowMs).digest("hex")}` };
    case "elevenlabs": {
      const t = Math.floor(nowMs / 1000);
      return { "elevenlabs-signature": `t=${t},v0=${hmac(secret, `${t}.${body}`).digest("hex")}` };
    }
    case "bland":
      return { "x-webhook-signature": hmac(secret, body).digest("hex") };
    case "synthflow":
      return { "synthflow-signature": hmac(secret, String(JSON.parse(body).call.call_id)).digest("base64") };
    case "vapi":
      return { "x-vapi-secret": secret };
    case "autocalls":
    case "thoughtly": {
      const id = "msg_2Kx7d9";
      return { "webhook-id": id, "webhook-timestamp": String(Math.floor(nowMs / 1000)), "webhook-signature": new Webhook(secret).sign(id, new Date(nowMs), body) };
    }
  }
}

/** A Vapi HMAC credential with its defaults: x-signature = hex HMAC-SHA256 of `{timestamp}.{body}`, x-timestamp beside it. */
export function signAsVapiHmac(body: string, secret: string, timestamp: number): Record<string, string> {
  return { "x-timestamp": String(timestamp), "x-signature": hmac(secret, `${timestamp}.${body}`).digest("hex") };
}

/** A Standard Webhooks secret (what Autocalls-shaped and Thoughtly senders sign with). */
export const WHSEC = `whsec_${Buffer.from("inbound-standard-webhooks-secret").toString("base64")}`;
