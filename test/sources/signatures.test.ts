// Each platform's signature checked the way the platform computes it: accepted when right; refused, naming the check,
// for a wrong secret, a body changed by one byte, an old or future timestamp, a missing or malformed header.
import { describe, expect, it } from "vitest";
import { sourceNamed, type SourceName } from "../../src/sources/index.js";
import { fixtureText, type PlatformFixture } from "../fixtures/platforms.js";
import { signAs, signAsVapiHmac, WHSEC } from "../support/platform-signing.js";

const NOW = Date.UTC(2026, 0, 5, 12, 0, 0);
const MINUTE = 60_000;

const PLATFORMS: [SourceName, PlatformFixture, string][] = [
  ["vapi", "vapi-end-of-call-report", "vapi-server-secret-3f9a"],
  ["retell", "retell-call_analyzed", "key_8a7b6c5d4e3f2a1b0c9d"],
  ["elevenlabs", "elevenlabs-post_call_transcription", "wsec_1a2b3c4d5e6f7a8b9c0d1e2f"],
  ["bland", "bland-call", "bland-signing-secret-77"],
  ["synthflow", "synthflow-post-call", "c3ludGhmbG93LXNlY3JldA=="],
  ["autocalls", "autocalls-post-call", WHSEC],
  ["thoughtly", "thoughtly-new-response", WHSEC],
];

function verify(source: SourceName, body: string, headers: Record<string, string>, secret: string, nowMs = NOW) {
  return sourceNamed(source).signature.verify({ rawBody: Buffer.from(body), headers, body: JSON.parse(body) }, secret, nowMs);
}

/** The body with one byte changed inside a string the platform's payload certainly has, keeping it valid JSON. */
const oneByteChanged = (body: string) => body.replace('"+1555', '"+1556');

describe.each(PLATFORMS)("%s signatures", (source, name, secret) => {
  const body = fixtureText(name);

  it("accepts the platform's own signature on the exact body", () => {
    expect(verify(source, body, signAs(source, body, secret, NOW), secret)).toEqual({ ok: true });
  });

  it("refuses a signature made with another secret", () => {
    const other = source === "autocalls" || source === "thoughtly" ? `whsec_${Buffer.from("another-secret-entirely!").toString("base64")}` : `${secret}x`;
    expect(verify(source, body, signAs(source, body, other, NOW), secret)).toEqual({ ok: false, failed: "mismatch" });
  });

  it("refuses a request without the signature header", () => {
    expect(verify(source, body, {}, secret)).toEqual({ ok: false, failed: "missing_signature" });
  });

  if (source === "synthflow") {
    it("signs the call id only: a changed body verifies, a changed call id does not", () => {
      const headers = signAs(source, body, secret, NOW);
      expect(oneByteChanged(body)).not.toBe(body);
      expect(verify(source, oneByteChanged(body), headers, secret)).toEqual({ ok: true });
      expect(verify(source, body.replace("1711646262471x768387119913843100", "1711646262471x768387119913843101"), headers, secret)).toEqual({ ok: false, failed: "mismatch" });
    });
  } else if (source !== "vapi") {
    it("refuses the body with one byte changed", () => {
      expect(oneByteChanged(body)).not.toBe(body);
      expect(verify(source, oneByteChanged(body), signAs(source, body, secret, NOW), secret)).toEqual({ ok: false, failed: "mismatch" });
    });
  }

  const maxAge = source === "elevenlabs" ? 30 * MINUTE : 5 * MINUTE;
  if (["retell", "elevenlabs", "autocalls", "thoughtly"].includes(source)) {
    it(`accepts a signature ${maxAge / MINUTE} minutes old, and refuses an older one`, () => {
      expect(verify(source, body, signAs(source, body, secret, NOW - maxAge + 1_000), secret)).toEqual({ ok: true });
      expect(verify(source, body, signAs(source, body, secret, NOW - maxAge - 1_000), secret)).toEqual({ ok: false, failed: "stale_timestamp" });
    });

    it("refuses a timestamp from the future, beyond a few seconds of clock drift", () => {
      expect(verify(source, body, signAs(source, body, secret, NOW + 5_000), secret)).toEqual({ ok: true });
      expect(verify(source, body, signAs(source, body, secret, NOW + 2 * MINUTE), secret)).toEqual({ ok: false, failed: "future_timestamp" });
    });
  }
});

describe("Vapi's other ways of proving a request", () => {
  const body = fixtureText("vapi-end-of-call-report");
  const secret = "vapi-server-secret-3f9a";

  it.each([
    ["the secret as a Bearer token", { authorization: `Bearer ${secret}` }, { ok: true }],
    ["another Bearer token", { authorization: "Bearer dbr_live_not_the_vapi_secret" }, { ok: false, failed: "mismatch" }],
    ["a prefix of the secret", { "x-vapi-secret": secret.slice(0, -1) }, { ok: false, failed: "mismatch" }],
    ["an HMAC credential signature (unix seconds)", signAsVapiHmac(body, secret, NOW / 1000), { ok: true }],
    ["an HMAC credential signature (unix ms)", signAsVapiHmac(body, secret, NOW), { ok: true }],
    ["an HMAC signature over another body", signAsVapiHmac(body.replace("Jordan", "Jordon"), secret, NOW / 1000), { ok: false, failed: "mismatch" }],
    ["an HMAC signature ten minutes old", signAsVapiHmac(body, secret, NOW / 1000 - 600), { ok: false, failed: "stale_timestamp" }],
    ["an HMAC signature without its timestamp", { "x-signature": signAsVapiHmac(body, secret, NOW)["x-signature"]! }, { ok: false, failed: "malformed_signature" }],
  ])("%s", (_name, headers, expected) => {
    expect(verify("vapi", body, headers as Record<string, string>, secret)).toEqual(expected);
  });
});

describe("malformed signatures", () => {
  it.each<[SourceName, Record<string, string>]>([
    ["retell", { "x-retell-signature": "v=abc,d=00" }],
    ["retell", { "x-retell-signature": "d=00,v=1767614400000" }],
    ["elevenlabs", { "elevenlabs-signature": "v0=abcdef" }],
    ["elevenlabs", { "elevenlabs-signature": "t=soon,v0=abcdef" }],
    ["autocalls", { "webhook-id": "msg_1", "webhook-timestamp": "yesterday", "webhook-signature": "v1,abc=" }],
  ])("refuses %s's header %j as malformed", (source, headers) => {
    const body = fixtureText(PLATFORMS.find(([name]) => name === source)![1]);
    expect(verify(source, body, headers, "secret")).toEqual({ ok: false, failed: "malformed_signature" });
  });

  it("refuses a Bland signature that is not hex, and one of the wrong length, without throwing", () => {
    const body = fixtureText("bland-call");
    expect(verify("bland", body, { "x-webhook-signature": "zz" }, "s")).toEqual({ ok: false, failed: "mismatch" });
    expect(verify("bland", body, { "x-webhook-signature": "abcd" }, "s")).toEqual({ ok: false, failed: "mismatch" });
  });

  it("reads Synthflow's signature under the header name its docs print (HTTP_SYNTHFLOW_SIGNATURE)", () => {
    const body = fixtureText("synthflow-post-call");
    const signature = signAs("synthflow", body, "k", NOW)["synthflow-signature"]!;
    expect(verify("synthflow", body, { http_synthflow_signature: signature }, "k")).toEqual({ ok: true });
  });
});
