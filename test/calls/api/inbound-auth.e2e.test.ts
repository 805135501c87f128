// How platforms authenticate POST /v1/calls with DEBRIEF_API_KEYS on: their own signature on the raw body (required
// whenever the profile has inbound.secret, API key or not), or a URL token; every other /v1 route keeps its API key.
import { mkdtempSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadSettings } from "../../../src/settings.js";
import { startService, type Service } from "../../../src/server.js";
import { fixtureText } from "../../fixtures/platforms.js";
import { answerFor, startFakeLlm, type FakeLlm } from "../../support/fake-llm.js";
import { captureLogs, type LogCapture } from "../../support/log-capture.js";
import { signAs, signAsVapiHmac } from "../../support/platform-signing.js";
import { startReceiver, type Receiver } from "../../support/receiver.js";

const API_KEY = "dbr_live_inbound_auth_7c1e9a3b5d2f4e6a";
const RETELL_KEY = "key_RetellCanary_4b8d2f6a1c3e";
const URL_TOKEN = "TokenCanary-9f3e7a1c5b2d4e6f8a0c";
const RETELL_BODY = fixtureText("retell-call_analyzed");
const VAPI_SECRET = "vapi_hmac_ClinicCanary_5e2a8c1d";

let llm: FakeLlm;
let crm: Receiver;
let logs: LogCapture;
let service: Service;
let url: string;

async function post(path: string, body: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
  return { status: res.status, body: (await res.json()) as any, headers: res.headers };
}
const get = async (path: string, headers: Record<string, string> = {}) => (await fetch(`${url}${path}`, { headers })).status;

/** A Retell call with its own id, signed now (or with the given secret and time). */
function retellCall(id: string, options: { secret?: string; at?: number } = {}) {
  const body = RETELL_BODY.replaceAll("Jabr9TXYYJHfvl6Syypi88rdAHYHmcq6", id);
  return { body, headers: signAs("retell", body, options.secret ?? RETELL_KEY, options.at ?? Date.now()) };
}

beforeAll(async () => {
  llm = await startFakeLlm((request) => ({ json: answerFor(request, { status: true, summary: "Booked" }) }));
  crm = await startReceiver();
  logs = captureLogs("info");
  const dir = mkdtempSync(join(tmpdir(), "debrief-inbound-"));
  const config = join(dir, "debrief.json");
  writeFileSync(
    config,
    JSON.stringify({
      profiles: {
        signed: { source: "retell", inbound: { secret: "${RETELL_API_KEY}" }, destinations: ["crm"] },
        tokened: { inbound: { url_token: "${BLAND_URL_TOKEN}" }, destinations: ["crm"] },
        plain: { destinations: ["crm"] },
        // Vapi's HMAC credential with header names chosen in its dashboard.
        clinic: { source: "vapi", inbound: { secret: "${VAPI_SECRET}", signature_header: "X-Clinic-Signature", timestamp_header: "X-Clinic-Time" }, destinations: ["crm"] },
      },
      destinations: { crm: { url: crm.url } },
    }),
  );
  const settings = loadSettings({
    PORT: "0",
    HOST: "127.0.0.1",
    OPENAI_BASE_URL: llm.url,
    DEBRIEF_API_KEYS: API_KEY,
    DEBRIEF_CONFIG: config,
    DEBRIEF_ALLOW_PRIVATE_DESTINATIONS: "true",
    DEBRIEF_RATE_LIMIT: "40",
    DEBRIEF_DATA_DIR: join(dir, "data"),
  });
  service = await startService(settings, logs.logger, { env: { RETELL_API_KEY: RETELL_KEY, BLAND_URL_TOKEN: URL_TOKEN, VAPI_SECRET }, pipelinePollIntervalMs: 50 });
  url = `http://127.0.0.1:${(service.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await service.close(1_000);
  await Promise.all([llm.close(), crm.close()]);
});

describe("a profile with inbound.secret", () => {
  it("accepts a call whose signature verifies without an API key, verifying the exact bytes sent", async () => {
    const { body, headers } = retellCall("signed-1");
    expect(body).not.toBe(JSON.stringify(JSON.parse(body))); // pretty-printed: a re-serialised body would not verify
    const res = await post("/v1/calls?profile=signed", body, headers);
    expect(res.status).toBe(202);
    await crm.waitForRequests(1);
  });

  it("refuses a bad signature even with a valid API key, and stores nothing", async () => {
    const forged = retellCall("signed-2", { secret: "key_not_the_retell_key" });
    const res = await post("/v1/calls?profile=signed", forged.body, { ...forged.headers, authorization: `Bearer ${API_KEY}` });
    expect(res.status).toBe(401);
    expect(res.body.error).toMatchObject({ code: "invalid_signature", message: expect.stringContaining("mismatch") });
    // Nothing was stored: the genuine call with the same id is new.
    const genuine = retellCall("signed-2");
    expect((await post("/v1/calls?profile=signed", genuine.body, genuine.headers)).status).toBe(202);
  });

  it("refuses a call without a signature even with a valid API key", async () => {
    const res = await post("/v1/calls?profile=signed", retellCall("signed-3").body, { authorization: `Bearer ${API_KEY}` });
    expect(res).toMatchObject({ status: 401, body: { error: { code: "invalid_signature" } } });
  });

  it("refuses a signature older than five minutes", async () => {
    const stale = retellCall("signed-4", { at: Date.now() - 6 * 60_000 });
    expect((await post("/v1/calls?profile=signed", stale.body, stale.headers)).body.error.code).toBe("invalid_signature");
  });

  it("tells a sender of an API key that this profile takes its platform's signature instead", async () => {
    const { body } = retellCall("keyed-1");
    const res = await post("/v1/calls?profile=signed", body, { "x-api-key": API_KEY });
    expect(res.status).toBe(401);
    expect(res.body.error).toMatchObject({ code: "invalid_signature", message: expect.stringContaining("API keys are not accepted on this profile") });
  });

  it("acknowledges the platform's other events only when signed", async () => {
    const started = fixtureText("retell-call_started");
    expect((await post("/v1/calls?profile=signed", started)).status).toBe(401);
    const res = await post("/v1/calls?profile=signed", started, signAs("retell", started, RETELL_KEY, Date.now()));
    expect(res).toMatchObject({ status: 200, body: { ignored: true } });
  });
});

describe("a source: vapi profile naming its HMAC credential's headers", () => {
  const vapiCall = () => fixtureText("vapi-end-of-call-report").replaceAll('"id": "', `"id": "named-${Math.random()}-`);

  it("reads the signature and timestamp from the headers it names", async () => {
    const body = vapiCall();
    const { "x-signature": signature, "x-timestamp": timestamp } = signAsVapiHmac(body, VAPI_SECRET, Date.now());
    expect((await post("/v1/calls?profile=clinic", body, { "x-clinic-signature": signature!, "x-clinic-time": timestamp! })).status).toBe(202);
    const forged = signAsVapiHmac(body, "not-the-secret", Date.now());
    expect((await post("/v1/calls?profile=clinic", body, { "x-clinic-signature": forged["x-signature"]!, "x-clinic-time": forged["x-timestamp"]! })).status).toBe(401);
  });
});

describe("a profile with inbound.url_token", () => {
  const bland = () => fixtureText("bland-call").replace("9d404c1b-6a23-4426-953a-a52c392ff8f1", `bland-${Math.random()}`);

  it("accepts ?token= instead of an API key", async () => {
    expect((await post(`/v1/calls?profile=tokened&token=${URL_TOKEN}`, bland())).status).toBe(202);
  });

  it("refuses a wrong token, even beside a valid API key", async () => {
    expect((await post(`/v1/calls?profile=tokened&token=${URL_TOKEN}x`, bland())).body.error.code).toBe("unauthorized");
    expect((await post(`/v1/calls?profile=tokened&token=nope`, bland(), { "x-api-key": API_KEY })).status).toBe(401);
  });

  it("still takes an API key without a token, and refuses neither", async () => {
    expect((await post("/v1/calls?profile=tokened", bland(), { "x-api-key": API_KEY })).status).toBe(202);
    expect((await post("/v1/calls?profile=tokened", bland())).body.error.code).toBe("unauthorized");
  });
});

describe("everything else", () => {
  it("needs an API key for a profile without inbound, signed or not", async () => {
    const { body, headers } = retellCall("plain-1");
    expect((await post("/v1/calls?profile=plain", body)).body.error.code).toBe("unauthorized");
    expect((await post("/v1/calls?profile=plain", body, headers)).body.error.code).toBe("unauthorized");
    expect((await post("/v1/calls?profile=plain", body, { "x-api-key": API_KEY })).status).toBe(202);
  });

  it.each([
    ["POST", "/v1/extract?profile=signed"],
    ["POST", "/v1/calls/call_x/retry?profile=signed"],
    ["POST", `/v1/extract?profile=tokened&token=${URL_TOKEN}`],
    ["GET", "/v1/calls/call_x?profile=signed"],
    ["GET", `/v1/deliveries?profile=tokened&token=${URL_TOKEN}`],
    ["GET", "/metrics"],
  ])("keeps %s %s behind the API key", async (method, path) => {
    const res = await fetch(`${url}${path}`, { method, headers: { "content-type": "application/json", ...retellCall("other").headers }, body: method === "POST" ? "{}" : undefined });
    expect(res.status).toBe(401);
    expect(((await res.json()) as any).error.code).toBe("unauthorized");
  });
});

describe("what operators see", () => {
  it("logs which signature check failed and the source, never the secret, the signature or the token", async () => {
    const lines = logs.lines().filter((line) => line.msg?.startsWith("request"));
    const refused = lines.filter((line) => line.error?.code === "invalid_signature");
    expect(refused.map((line) => line.error.check)).toEqual(expect.arrayContaining(["mismatch", "missing_signature", "stale_timestamp"]));
    expect(refused[0]).toMatchObject({ route: "/v1/calls", status: 401, source: "retell" });
    const text = logs.text();
    expect(text).not.toContain(RETELL_KEY);
    expect(text).not.toContain(URL_TOKEN);
    expect(text).not.toContain("token=");
    expect(text).not.toMatch(/v=\d+,d=[0-9a-f]{64}/);
  });

  it("labels metrics with the route pattern and the source, never the token", async () => {
    const metrics = await (await fetch(`${url}/metrics`, { headers: { "x-api-key": API_KEY } })).text();
    expect(metrics).toContain('route="/v1/calls"');
    expect(metrics).toMatch(/debrief_calls_received_total\{source="bland",outcome="accepted"\} \d/);
    expect(metrics).not.toContain(URL_TOKEN);
  });

  it("rate-limits signed webhooks per client IP, apart from API-key clients", async () => {
    let limited = 0;
    // Every anonymous request in this file shares 127.0.0.1's bucket of 40; this fills it.
    for (let i = 0; i < 45 && limited === 0; i++) {
      const { body, headers } = retellCall(`burst-${i}`);
      const res = await post("/v1/calls?profile=signed", body, headers);
      if (res.status === 429) limited++;
    }
    expect(limited).toBe(1);
    expect(await get("/v1/calls/call_none", { "x-api-key": API_KEY })).toBe(404);
  });
});
