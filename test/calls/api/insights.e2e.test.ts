// GET /v1/profiles/{name}/insights and the calls list's `where` on a real service, on both engines: calls posted and
// extracted through the loopback LLM, counted in the profile's timezone; a reviewer's correction counted as the value;
// the filter carried in the signed cursor; the window's limits, scopes and profile isolation; and the enum/boolean
// counter Prometheus can hold.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { autocallsPayload } from "../../fixtures/calls.js";
import { answerFor, startFakeLlm, type FakeLlm } from "../../support/fake-llm.js";
import { parseExposition } from "../../support/metrics.js";
import { until } from "../../support/poll.js";
import { createTestDatabase, type TestDatabase } from "../../support/postgres.js";
import { startReceiver, type Receiver } from "../../support/receiver.js";
import { startTestService, type TestService } from "../../support/service.js";

const ADMIN = { authorization: "Bearer dbr_insights_admin_0123456789abcdef" };
const READER_KEY = "dbr_insights_reader_0123456789abcdef";
const READER = { authorization: `Bearer ${READER_KEY}` };
const HVAC_KEY = "dbr_insights_hvac_0123456789abcdefgh";
const INGEST_KEY = "dbr_insights_ingest_0123456789abcdef";

/** What each call says, by a word in its transcript. */
const ANSWERS: Record<string, Record<string, unknown>> = {
  REPAIR: { service_type: "repair", booked: true, budget: 1200 },
  CLEANING: { service_type: "cleaning", booked: false, budget: null },
  INSTALL: { service_type: "install", booked: true, budget: 4000 },
  UNSURE: { service_type: "repair", booked: true, budget: 100 },
};

let llm: FakeLlm;
let crm: Receiver;
const databases: TestDatabase[] = [];

beforeAll(async () => {
  llm = await startFakeLlm((request) => {
    const text = JSON.stringify(request.body.messages);
    const word = Object.keys(ANSWERS).find((key) => text.includes(`${key} call`)) ?? "CLEANING";
    // The UNSURE call's budget comes with a low log-probability: held for review under min_confidence 0.8.
    return { json: answerFor(request, ANSWERS[word]), tokens: { uncertain: word === "UNSURE" ? { budget: -1.6 } : ({} as Record<string, number>) } };
  });
  llm.logprobs = "give";
  crm = await startReceiver();
});
afterAll(async () => {
  await llm?.close();
  await crm?.close();
  await Promise.all(databases.map((database) => database.drop()));
});

function configFile(): string {
  const file = join(mkdtempSync(join(tmpdir(), "debrief-insights-")), "debrief.json");
  const variables = [
    { name: "service_type", type: "enum", options: ["cleaning", "repair", "install"], description: "What the caller wants" },
    { name: "booked", type: "boolean", description: "Whether an appointment was booked" },
    { name: "budget", type: "number", description: "The caller's budget in USD" },
  ];
  writeFileSync(
    file,
    JSON.stringify({
      profiles: {
        dental: { variables, destinations: ["crm"], timezone: "Europe/Paris", review: { hold: true, min_confidence: 0.8, flags: ["low_confidence"] } },
        hvac: { variables, destinations: ["crm"] },
      },
      destinations: { crm: { url: crm.url } },
      keys: {
        reader: { key: "${READER_KEY}", scopes: ["calls:read"], profiles: ["dental"] },
        hvac: { key: "${HVAC_KEY}", scopes: ["calls:read"], profiles: ["hvac"] },
        ingest: { key: "${INGEST_KEY}", scopes: ["calls:write"] },
      },
    }),
  );
  return file;
}

describe.each([{ engine: "sqlite" }, { engine: "postgres" }])("insights on $engine", ({ engine }) => {
  let api: TestService;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    let databaseUrl: string | undefined;
    if (engine === "postgres") {
      const database = await createTestDatabase();
      databases.push(database);
      databaseUrl = database.url;
    }
    api = await startTestService({
      OPENAI_BASE_URL: llm.url,
      DEBRIEF_CONFIG: configFile(),
      DEBRIEF_API_KEYS: ADMIN.authorization.slice("Bearer ".length),
      READER_KEY,
      HVAC_KEY,
      INGEST_KEY,
      DEBRIEF_DATABASE_URL: databaseUrl,
      DEBRIEF_ALLOW_PRIVATE_DESTINATIONS: "true",
      DEBRIEF_LLM_MAX_RETRIES: "0",
    });
    for (const tag of ["REPAIR", "REPAIR", "CLEANING", "INSTALL", "UNSURE"].map((word, n) => `${word}-${n}`)) {
      const word = tag.split("-")[0]!;
      const transcript = `AI: Hello, this is the ${word} call number ${tag}.\nCustomer: Hi.`;
      const res = await api.post("/v1/calls?profile=dental", autocallsPayload({ id: tag, transcript }), ADMIN);
      expect(res.status).toBe(202);
      ids[tag] = res.body.call_id;
    }
    for (const [tag, id] of Object.entries(ids)) {
      const settled = tag.startsWith("UNSURE") ? "needs_review" : "delivered";
      await until(() => api.get(`/v1/calls/${id}`, ADMIN), (res) => res.body.state === settled, 20_000);
    }
    // The reviewer corrects the held call's budget: insights count 300, not the model's 100.
    const reviewed = await api.post(`/v1/calls/${ids["UNSURE-4"]}/review`, { approve: true, values: { budget: 300 } }, ADMIN);
    expect(reviewed.status).toBe(200);
    await until(() => api.get(`/v1/calls/${ids["UNSURE-4"]}`, ADMIN), (res) => res.body.state === "delivered", 20_000);
  }, 60_000);
  afterAll(async () => api?.close());

  it("counts the profile's calls over the default 30 days, by day in its timezone", async () => {
    // States per bucket are the stored ones, as the calls list filters on: they follow the deliveries' fates a moment
    // after the call's own view (which reads the outbox live) says delivered.
    const res = await until(
      () => api.get("/v1/profiles/dental/insights", READER),
      (answer) => answer.body.series?.at(-1)?.delivered === 5,
      10_000,
    );
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ profile: "dental", timezone: "Europe/Paris", bucket: "day", calls: 5, extracted: 5, low_confidence_below: 0.8 });
    expect(Date.parse(res.body.until) - Date.parse(res.body.since)).toBe(30 * 86_400_000);
    expect(res.body.variables.service_type).toEqual({ type: "enum", null_rate: 0, low_confidence_rate: 0, counts: { cleaning: 1, repair: 3, install: 1 } });
    expect(res.body.variables.booked).toMatchObject({ counts: { true: 4, false: 1 } });
    expect(res.body.variables.budget).toMatchObject({ null_rate: 0.2, low_confidence_rate: 0, numbers: { count: 4, min: 300, max: 4000, p50: 1200, p90: 4000 } });
    const today = new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Paris" }).format(new Date());
    const last = res.body.series.at(-1);
    expect(last).toMatchObject({ bucket: today, calls: 5, delivered: 5, needs_review: 0, variables: { service_type: { cleaning: 1, repair: 3, install: 1 } } });
    expect(last.cost_usd).toBeGreaterThan(0); // gpt-4o-mini, the default model, has a price
    expect(res.body.series.reduce((sum: number, bucket: { calls: number }) => sum + bucket.calls, 0)).toBe(5);
  });

  it("answers hours and weeks, and zeros for a window without calls", async () => {
    const hours = await api.get("/v1/profiles/dental/insights?bucket=hour", READER);
    expect(hours.body.series).toHaveLength(30 * 24 + 1);
    const empty = await api.get("/v1/profiles/dental/insights?since=2025-01-01T00:00:00Z&until=2025-03-01T00:00:00Z&bucket=week", READER);
    expect(empty.status).toBe(200);
    expect(empty.body).toMatchObject({ calls: 0, extracted: 0, variables: { budget: { null_rate: 0, numbers: null } } });
    expect(empty.body.series[0].bucket).toBe("2024-12-30"); // the Monday of 2025-01-01's week
  });

  it("refuses a window past a year, a bucket it does not know, and another profile's insights", async () => {
    const long = await api.get("/v1/profiles/dental/insights?since=2025-01-01T00:00:00Z&until=2026-01-03T00:00:00Z", READER);
    expect(long.status).toBe(400);
    expect(long.body.error).toMatchObject({ code: "window_too_long", details: [{ path: "since" }] });
    const bucket = await api.get("/v1/profiles/dental/insights?bucket=month", READER);
    expect(bucket.status).toBe(400);
    expect(bucket.body.error.details).toEqual([{ path: "bucket", message: "must be one of hour, day, week" }]);
    const backwards = await api.get("/v1/profiles/dental/insights?since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z", READER);
    expect(backwards.status).toBe(400);
    // A key bound to hvac sees dental as absent; one without calls:read may not ask.
    expect((await api.get("/v1/profiles/dental/insights", { authorization: `Bearer ${HVAC_KEY}` })).body.error.code).toBe("profile_not_found");
    const ingest = await api.get("/v1/profiles/dental/insights", { authorization: `Bearer ${INGEST_KEY}` });
    expect(ingest.status).toBe(403);
    expect(ingest.body.error.code).toBe("insufficient_scope");
    expect((await api.get("/v1/profiles/nope/insights", ADMIN)).status).toBe(404);
  });

  it("filters the calls list by value, the filter carried in the signed cursor", async () => {
    const list = async (query: string) => api.get(`/v1/calls?profile=dental&${query}`, READER);
    const repair = await list("where=service_type:repair");
    expect(repair.status).toBe(200);
    expect(new Set(repair.body.calls.map((call: { call_id: string }) => call.call_id))).toEqual(new Set([ids["REPAIR-0"], ids["REPAIR-1"], ids["UNSURE-4"]]));
    // The corrected budget finds the reviewed call; the model's does not.
    expect((await list("where=budget:300")).body.calls.map((call: { call_id: string }) => call.call_id)).toEqual([ids["UNSURE-4"]]);
    expect((await list("where=budget:100")).body.calls).toEqual([]);
    expect((await list("where=budget:null")).body.calls.map((call: { call_id: string }) => call.call_id)).toEqual([ids["CLEANING-2"]]);
    expect((await list("where=service_type:repair&where=booked:true&where=budget:1200")).body.calls).toHaveLength(2);
    // Page by page, the filter stays with the cursor; the cursor with another filter is refused.
    const first = await list("where=service_type:repair&limit=2");
    expect(first.body.calls).toHaveLength(2);
    const second = await list(`where=service_type:repair&limit=2&cursor=${first.body.next_cursor}`);
    expect(second.body.calls).toHaveLength(1);
    expect(second.body.next_cursor).toBeNull();
    const other = await list(`where=service_type:install&limit=2&cursor=${first.body.next_cursor}`);
    expect(other.status).toBe(400);
    expect(other.body.error.code).toBe("invalid_cursor");
    // A path the profile does not have, a condition without a profile.
    const unknown = await list("where=servce_type:repair");
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.details).toEqual([{ path: "where", message: expect.stringContaining('"servce_type" is not a variable of this profile') }]);
    const noProfile = await api.get("/v1/calls?where=service_type:repair", ADMIN);
    expect(noProfile.status).toBe(400);
    expect(noProfile.body.error.details[0].path).toBe("profile");
  });

  it("counts each call's enum and boolean values for Prometheus", async () => {
    const metrics = parseExposition(String((await api.get("/metrics", ADMIN)).body));
    expect(metrics.get('debrief_extracted_values_total{profile="dental",variable="service_type",value="repair"}')).toBe(3);
    expect(metrics.get('debrief_extracted_values_total{profile="dental",variable="booked",value="false"}')).toBe(1);
    // Numbers have unbounded values: never a label.
    expect(metrics.get('debrief_extracted_values_total{variable="budget"}')).toBeUndefined();
  });
});
