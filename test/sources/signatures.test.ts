// Each platform's signature checked the way the platform computes it: accepted when right; refused, naming the check,
// for a wrong secret, a body changed by one byte, an old or future timestamp, a missing or malformed header.
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { inboundScheme, sourceNamed, type SignatureFailure, type SourceChoice, type SourceName } from "../../src/sources/index.js";
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
  return sourceNamed(source).signature.verify({ rawBody: Buffer.from(body), headers }, secret, nowMs);
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

describe("Synthflow's call id, read from the raw bytes as JSON.parse reads it", () => {
  const sign = (callId: string) => ({ "synthflow-signature": createHmac("sha256", "k").update(callId).digest("base64") });

  it.each([
    ["a repeated key (the last one wins)", '{"call": {"call_id": "first", "call_id": "last", "transcript": "bot: hi"}}', "last"],
    ["an escaped key and value", '{"c\\u0061ll": {"call_id": "a\\"b\\u00e9", "transcript": "bot: hi"}}', 'a"bé'],
    ["a call id elsewhere in the body first", '{"lead": {"call": {"call_id": "decoy"}}, "call": {"x": [{"call_id": "decoy"}], "call_id": "real"}}', "real"],
  ])("verifies %s", (_name, body, callId) => {
    expect(verify("synthflow", body, sign(callId), "k")).toEqual({ ok: true });
  });

  it.each([
    ["a call id that is not a string", '{"call": {"call_id": 5}}'],
    ["a call replaced by a later duplicate without one", '{"call": {"call_id": "x"}, "call": {"transcript": "bot: hi"}}'],
    ["a body nested past the limit", `{"call": {"call_id": "x", "deep": ${"[".repeat(100)}${"]".repeat(100)}}}`],
  ])("refuses %s as malformed", (_name, body) => {
    expect(verify("synthflow", body, sign("x"), "k")).toEqual({ ok: false, failed: "malformed_signature" });
  });
});

describe("which scheme a signed request is verified under", () => {
  const retell = signAs("retell", "{}", "k", NOW);
  const bland = signAs("bland", "{}", "k", NOW);
  const synthflow = { "synthflow-signature": "c2ln" };

  it.each<[string, SourceChoice, Record<string, string>, string[]]>([
    ["a Retell signature on an auto profile", "auto", retell, ["retell"]],
    ["a Standard Webhooks signature on an auto profile", "auto", signAs("autocalls", "{}", WHSEC, NOW), ["thoughtly", "autocalls"]],
    ["a Bearer token alone on an auto profile (Vapi's credential)", "auto", { authorization: "Bearer s" }, ["vapi"]],
    ["a Retell signature beside an API key", "auto", { ...retell, authorization: "Bearer dbr_live_key" }, ["retell"]],
    ["no signature on a retell profile (its own check then says what is missing)", "retell", {}, ["retell"]],
    ["a Synthflow signature on a synthflow profile", "synthflow", synthflow, ["synthflow"]],
  ])("%s: the scheme its header names", (_name, choice, headers, sources) => {
    const chosen = inboundScheme(choice, headers);
    expect(chosen.ok && chosen.sources.map((source) => source.name)).toEqual(sources);
  });

  it.each<[string, SourceChoice, Record<string, string>, SignatureFailure, string]>([
    ["two platforms' signature headers", "auto", { ...retell, ...bland }, "conflicting_signatures", "retell and bland"],
    ["two platforms' signature headers on a bland profile", "bland", { ...retell, ...bland }, "conflicting_signatures", "retell and bland"],
    ["another platform's signature than the profile's source", "bland", retell, "other_platform", "retell signature, but the profile's source is bland"],
    ["a Synthflow signature on an auto profile", "auto", synthflow, "needs_explicit_source", "set `source: synthflow`"],
    ["no platform's signature on an auto profile", "auto", { "content-type": "application/json" }, "missing_signature", "no platform's signature"],
  ])("refuses %s", (_name, choice, headers, failed, message) => {
    expect(inboundScheme(choice, headers)).toEqual({ ok: false, failed, message: expect.stringContaining(message) });
  });

  it("never verifies a captured Bland request re-sent as a Synthflow payload whose call id is that body", () => {
    // The attack: Synthflow signs only the call id with HMAC-SHA256, Bland the whole body with the same secret. A
    // Bland body of up to 200 bytes is a valid Synthflow call id, and the digest is the same in base64.
    const secret = "one-secret-for-every-scheme";
    const captured = '{"call_id":"c-1","completed":true,"transcripts":[{"id":1,"text":"Hi","user":"user"}]}';
    const digest = createHmac("sha256", secret).update(captured).digest();
    const forged = JSON.stringify({ status: "completed", call: { call_id: captured, status: "completed", transcript: "human: I'll pay anything." } });
    const headers = { "synthflow-signature": digest.toString("base64") };
    // Under Synthflow's own scheme the forgery would verify: that is why auto never uses it.
    expect(sourceNamed("synthflow").signature.verify({ rawBody: Buffer.from(forged), headers }, secret, NOW)).toEqual({ ok: true });
    expect(inboundScheme("auto", headers)).toMatchObject({ ok: false, failed: "needs_explicit_source" });
    // Nor does the Bland header beside it help: two platforms' headers are refused, and Bland's digest covers the body.
    expect(inboundScheme("auto", { ...headers, "x-webhook-signature": digest.toString("hex") })).toMatchObject({ ok: false, failed: "conflicting_signatures" });
    expect(sourceNamed("bland").signature.verify({ rawBody: Buffer.from(forged), headers: { "x-webhook-signature": digest.toString("hex") } }, secret, NOW)).toEqual({
      ok: false,
      failed: "mismatch",
    });
  });
});

describe("what the headers alone refuse, before the body is read", () => {
  it.each(PLATFORMS.filter(([source]) => source !== "vapi"))("%s: a missing header is refused without a body check", (source, _name, secret) => {
    expect(sourceNamed(source).signature.checkHeaders({}, secret, NOW)).toEqual({ ok: false, failed: "missing_signature" });
  });

  it("a stale Retell timestamp is refused without a body check", () => {
    const headers = signAs("retell", "{}", "k", NOW - 10 * MINUTE);
    expect(sourceNamed("retell").signature.checkHeaders(headers, "k", NOW)).toEqual({ ok: false, failed: "stale_timestamp" });
  });
});
