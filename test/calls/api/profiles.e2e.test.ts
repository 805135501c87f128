// GET /v1/profiles and /v1/profiles/{name} on a real service: each profile's settings, variables, versions with their
// calls' counts, destinations by name and host; and never a secret, wherever the configuration file keeps one.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { autocallsPayload } from "../../fixtures/calls.js";
import { answerFor, startFakeLlm, type FakeLlm } from "../../support/fake-llm.js";
import { until } from "../../support/poll.js";
import { startTestService, type TestService } from "../../support/service.js";

const KEY = "dbr_live_profiles_5b2e8c1a9d3f7e4b";
const auth = { authorization: `Bearer ${KEY}` };

// One distinct secret in every place the file can hold one: each must be absent from every answer.
const SECRETS = {
  path: "T0PATHSECRET9x/B0PATHSECRET7y",
  query: "QUERYSECRET3c4d5e",
  header: "HEADERSECRET8f9a0b",
  signing: `whsec_${Buffer.from("signing secret of the crm, 32 by").toString("base64")}`,
  inbound: "INBOUNDSECRET6e7f8a9b",
  urlToken: "URLTOKENSECRET0c1d2e3f4a5b",
};

const variables = [
  { name: "plan", type: "enum", options: ["basic", "pro"], description: "The plan the customer wants a demo of" },
  { name: "callback_date", type: "date", description: "When to call back" },
];

function configFile(planDescription = variables[0]!.description) {
  return {
    profiles: {
      booking: {
        variables: [{ ...variables[0], description: planDescription }, variables[1]],
        destinations: ["slack", "crm"],
        source: "retell",
        inbound: { secret: "${INBOUND_SECRET}", url_token: SECRETS.urlToken },
        min_duration_s: 10,
        skip_ended_reasons: ["voicemail"],
        review: { hold: true, min_confidence: 0.6, flags: ["low_confidence"] },
        timezone: "America/New_York",
      },
      support: { variables: [] },
    },
    destinations: {
      slack: { url: `https://hooks.slack.com/services/${SECRETS.path}?token=${SECRETS.query}` },
      crm: {
        url: `https://crm.example.com:8443/hooks/in?key=${SECRETS.query}#frag`,
        headers: { "X-Api-Key": SECRETS.header },
        secret: SECRETS.signing,
      },
    },
  };
}

let llm: FakeLlm;
let api: TestService;
let file: string;

beforeAll(async () => {
  llm = await startFakeLlm((request) => ({ json: answerFor(request, { status: true, summary: "Demo booked" }) }));
});
afterEach(async () => api?.close());
afterAll(async () => llm.close());

async function start() {
  file = join(mkdtempSync(join(tmpdir(), "debrief-profiles-")), "debrief.json");
  writeFileSync(file, JSON.stringify(configFile()));
  api = await startTestService({
    OPENAI_BASE_URL: llm.url,
    DEBRIEF_CONFIG: file,
    DEBRIEF_API_KEYS: KEY,
    INBOUND_SECRET: SECRETS.inbound,
    DEBRIEF_LLM_MAX_RETRIES: "0",
  });
}

/** A call posted to `support` (no inbound auth), extracted. */
async function extractedCall(tag: string): Promise<string> {
  const transcript = `AI: Hello, this is call ${tag}.\nCustomer: I'd like a demo of the Pro plan.\nAI: Booked.`;
  const res = await api.post("/v1/calls?profile=support", autocallsPayload({ id: `ext-${tag}`, transcript }), auth);
  expect(res.status).toBe(202);
  const id = res.body.call_id as string;
  const call = await until(() => api.get(`/v1/calls/${id}`, auth), (got) => got.body.state !== "accepted" && got.body.state !== "extracting");
  expect(call.body.state).toBe("extracted");
  return id;
}

describe("GET /v1/profiles", () => {
  it("lists every profile with its settings, variables, versions and destinations by name and host", async () => {
    await start();
    const res = await api.get("/v1/profiles", auth);
    expect(res.status).toBe(200);
    expect(res.body.profiles.map((profile: { name: string }) => profile.name)).toEqual(["booking", "support"]);
    const booking = res.body.profiles[0];
    expect(booking).toMatchObject({
      name: "booking",
      source: "retell",
      model: "gpt-4o-mini",
      variables: [
        { name: "plan", type: "enum", description: "The plan the customer wants a demo of", options: ["basic", "pro"] },
        { name: "callback_date", type: "date", description: "When to call back", options: null },
      ],
      evidence: true,
      timezone: "America/New_York",
      gates: { send_only_on_completed: true, min_duration_s: 10, min_customer_turns: null, skip_ended_reasons: ["voicemail"], extract: "always" },
      review: { hold: true, min_confidence: 0.6, flags: ["low_confidence"] },
      inbound: { secret: true, url_token: true },
      destinations: [
        { name: "slack", host: "hooks.slack.com" },
        { name: "crm", host: "crm.example.com:8443" },
      ],
    });
    // No call yet: the current version alone, with none.
    expect(booking.versions).toEqual([{ version: booking.version, calls: 0, current: true }]);
    expect(res.body.profiles[1]).toMatchObject({ name: "support", inbound: { secret: false, url_token: false }, destinations: [] });
  });

  it("never shows a destination's URL path, query or headers, a signing secret, or an inbound secret or URL token", async () => {
    await start();
    const answers = [await api.get("/v1/profiles", auth), await api.get("/v1/profiles/booking", auth)];
    for (const res of answers) {
      expect(res.status).toBe(200);
      const text = JSON.stringify(res.body);
      for (const [where, secret] of Object.entries(SECRETS)) expect(text, `the ${where} secret`).not.toContain(secret);
      expect(text).not.toContain("/services/");
      expect(text).not.toContain("/hooks/in");
      expect(text).not.toContain("X-Api-Key");
    }
  });

  it("counts calls per version their extraction ran under, the current one marked, after a reload changes the profile", async () => {
    await start();
    const first = await api.get("/v1/profiles/support", auth);
    const before = first.body.version as string;
    await extractedCall("a");
    await extractedCall("b");

    const config = configFile();
    // A new variable: a new version of `support`; its two calls stay under the one they ran under.
    writeFileSync(file, JSON.stringify({ ...config, profiles: { ...config.profiles, support: { variables: [variables[0]] } } }));
    expect((await api.post("/v1/admin/reload", undefined, auth)).status).toBe(200);
    await extractedCall("c");

    const res = await api.get("/v1/profiles/support", auth);
    expect(res.status).toBe(200);
    expect(res.body.version).not.toBe(before);
    expect(res.body.variables.map((variable: { name: string }) => variable.name)).toEqual(["plan"]);
    expect(res.body.versions).toEqual([
      { version: before, calls: 2, current: false },
      { version: res.body.version, calls: 1, current: true },
    ]);
    // The other profile's calls are not counted for it.
    expect((await api.get("/v1/profiles/booking", auth)).body.versions).toEqual([expect.objectContaining({ calls: 0, current: true })]);
  });

  it("answers 404 for an unknown profile, and 401 without a key", async () => {
    await start();
    const missing = await api.get("/v1/profiles/bookings", auth);
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({ code: "profile_not_found", message: 'No profile named "bookings"' });
    expect((await api.get("/v1/profiles")).status).toBe(401);
  });

  it("is described in the OpenAPI document", async () => {
    await start();
    const doc = await api.get("/openapi.json", auth);
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(["/v1/profiles", "/v1/profiles/{name}"]));
    expect(doc.body.components.schemas.Profile.properties.destinations.description).toMatch(/by name and host only/);
  });
});
