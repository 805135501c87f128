// The calls API end to end on SQLite: listing with every filter and a cursor, every destination's fate on a call,
// sending a waiting delivery now, destinations' health and its gauge, caller memory, and evidence with its transcript.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { autocallsPayload } from "../../fixtures/calls.js";
import { fixture } from "../../fixtures/platforms.js";
import { answerFor, asksForEvidence, startFakeLlm, userMessage, type FakeLlm, type RecordedRequest } from "../../support/fake-llm.js";
import { until } from "../../support/poll.js";
import { startReceiver, type Receiver } from "../../support/receiver.js";
import { startTestService, type TestService } from "../../support/service.js";

const TEN_HOURS_MS = 10 * 3_600_000;

let llm: FakeLlm;
let crm: Receiver;
let slack: Receiver;
let rejecting: Receiver;
let flaky: Receiver;
const services: TestService[] = [];

/**
 * The model: a transcript saying LLM_HANGS never gets an answer, LLM_FAILS gets a 500 (one extraction attempt: the
 * call is extraction_failed); any other is answered plan "basic" when it mentions the basic plan, else "pro", with
 * the quote it rests on when evidence is asked for.
 */
function model(request: RecordedRequest) {
  const prompt = userMessage(request);
  if (prompt.includes("LLM_HANGS")) return { hang: true } as const;
  if (prompt.includes("LLM_FAILS")) return { status: 500 } as const;
  const basic = prompt.includes("basic plan");
  const quote = basic ? "the basic plan" : "a demo of the Pro plan";
  const evidence = asksForEvidence(request) ? { plan: { quote, turn: 1 }, status: null, summary: null } : undefined;
  return { json: answerFor(request, { status: true, summary: "Demo booked", plan: basic ? "basic" : "pro", customer_name: "Dana" }, evidence) };
}

const variables = [
  { name: "plan", type: "enum", options: ["basic", "pro"], description: "The plan the customer wants a demo of" },
  { name: "customer_name", type: "string", description: "The customer's name" },
];

function writeConfig(): string {
  const file = join(mkdtempSync(join(tmpdir(), "debrief-calls-api-")), "debrief.json");
  writeFileSync(
    file,
    JSON.stringify({
      profiles: {
        booking: { variables, destinations: ["crm", "slack_qualified"], default_region: "US" },
        support: { variables, destinations: ["rejecting"] },
        quiet: { variables, destinations: ["slack_qualified"], evidence: false },
        patient: { variables, destinations: ["flaky"] },
        broken: { variables, destinations: ["crm", "sheets"] },
      },
      destinations: {
        crm: { url: crm.url },
        slack_qualified: { url: slack.url, when: "extracted_variables.plan = 'basic'" },
        rejecting: { url: rejecting.url },
        flaky: { url: flaky.url, retry: { initial_delay_ms: TEN_HOURS_MS, max_delay_ms: TEN_HOURS_MS } },
        // $number() of a sentence fails at run time, after the expression compiled at start-up.
        sheets: { url: crm.url, transform: "{ 'n': $number(extracted_variables.summary) }" },
      },
      extraction: { retry: { max_attempts: 1 } },
    }),
  );
  return file;
}

/** A service for one test (closed after it), or, with `keep`, for a whole block (its caller closes it). */
async function service(keep = false): Promise<TestService> {
  const started = await startTestService({
    OPENAI_BASE_URL: llm.url,
    DEBRIEF_CONFIG: writeConfig(),
    DEBRIEF_ALLOW_PRIVATE_DESTINATIONS: "true",
    DEBRIEF_LLM_MAX_RETRIES: "0",
    DEBRIEF_CACHE: "false",
  });
  if (!keep) services.push(started);
  return started;
}

async function post(api: TestService, profile: string, id: string, overrides: Record<string, unknown> = {}) {
  const res = await api.post(`/v1/calls?profile=${profile}`, autocallsPayload({ id, ...overrides }));
  expect(res.status).toBe(202);
  return res.body.call_id as string;
}

const transcript = (text: string) => `AI: Hello, this is Sarah.\nCustomer: ${text}\nAI: Thanks, bye.`;

async function settled(api: TestService, callId: string, state: string) {
  const call = await until(() => api.get(`/v1/calls/${callId}`), (res) => res.body.state === state);
  expect(call.body.state).toBe(state);
  return call.body;
}

/** The listed states of these calls, until each has the one expected (the list reads the stored copy of the fates). */
async function listedAs(api: TestService, expected: Record<string, string>) {
  const states = async () => {
    const res = await api.get("/v1/calls?limit=200");
    return Object.fromEntries(res.body.calls.filter((c: { call_id: string }) => c.call_id in expected).map((c: { call_id: string; state: string }) => [c.call_id, c.state]));
  };
  expect(await until(states, (seen) => Object.entries(expected).every(([id, state]) => seen[id] === state))).toEqual(expected);
}

const ids = (res: { body: { calls: { call_id: string }[] } }) => res.body.calls.map((call) => call.call_id);

beforeAll(async () => {
  llm = await startFakeLlm(model);
  [crm, slack, rejecting, flaky] = await Promise.all([startReceiver(), startReceiver(), startReceiver([{ status: 400, body: "phone must be E.164" }]), startReceiver([{ status: 503 }])]);
});
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.close()));
  // Requests first: a script counts from the requests received when it is set.
  for (const receiver of [crm, slack, rejecting, flaky]) receiver.requests.length = 0;
  for (const receiver of [crm, slack]) receiver.script([{ status: 200 }]);
  rejecting.script([{ status: 400, body: "phone must be E.164" }]);
  flaky.script([{ status: 503 }]);
  llm.requests.length = 0;
});
afterAll(async () => {
  await Promise.all([llm.close(), crm.close(), slack.close(), rejecting.close(), flaky.close()]);
});

describe("GET /v1/calls", () => {
  let api: TestService;
  const call: Record<string, string> = {};
  let startedAt: string;
  let middle: string;

  afterAll(() => api.close());
  beforeAll(async () => {
    api = await service(true);
    startedAt = new Date().toISOString();
    call.delivered = await post(api, "booking", "delivered-1", { transcript: transcript("I'd like a demo of the Pro plan.") });
    call.both = await post(api, "booking", "delivered-2", { transcript: transcript("Just the basic plan for me.") });
    call.failed = await post(api, "support", "dead-letter-1", { transcript: transcript("I'd like a demo of the Pro plan.") });
    call.extracted = await post(api, "quiet", "extracted-1", { transcript: transcript("I'd like a demo of the Pro plan.") });
    await new Promise((resolve) => setTimeout(resolve, 20));
    middle = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 20));
    call.delivering = await post(api, "patient", "delivering-1", { transcript: transcript("I'd like a demo of the Pro plan.") });
    call.skipped = await post(api, "booking", "skipped-1", { status: "busy" });
    call.extractionFailed = await post(api, "booking", "llm-fails-1", { transcript: transcript("LLM_FAILS please") });
    call.transformFailed = await post(api, "broken", "transform-1", { transcript: transcript("I'd like a demo of the Pro plan.") });
    const vapi = fixture("vapi-end-of-call-report");
    vapi.message.call.id = "vapi-accepted-1";
    vapi.message.artifact.messages[2].message = "LLM_HANGS on this one.";
    const accepted = await api.post("/v1/calls?profile=booking", vapi);
    expect(accepted.status).toBe(202);
    call.accepted = accepted.body.call_id as string;
    await listedAs(api, {
      [call.delivered]: "delivered",
      [call.both]: "delivered",
      [call.failed]: "delivery_failed",
      [call.extracted]: "extracted",
      [call.delivering]: "delivering",
      [call.skipped]: "skipped",
      [call.extractionFailed]: "extraction_failed",
      [call.transformFailed]: "delivery_failed",
      [call.accepted]: "accepted",
    });
  });

  it("lists every call newest first, in the summary shape", async () => {
    const res = await api.get("/v1/calls");
    expect(res.status).toBe(200);
    expect(ids(res)).toEqual([
      call.accepted,
      call.transformFailed,
      call.extractionFailed,
      call.skipped,
      call.delivering,
      call.extracted,
      call.failed,
      call.both,
      call.delivered,
    ]);
    expect(res.body.next_cursor).toBeNull();
    expect(res.body.calls.find((c: { call_id: string }) => c.call_id === call.delivered)).toEqual({
      call_id: call.delivered,
      profile: "booking",
      source: "autocalls",
      external_id: "delivered-1",
      call: expect.objectContaining({ duration_s: 125, customer_phone: "+15551234567" }),
      customer_phone_e164: "+15551234567",
      state: "delivered",
      reason: null,
      destinations: [
        { destination: "crm", fate: "delivered", reason: null },
        // Delivered to the CRM; Slack's `when` was not true, and the list says what it read.
        {
          destination: "slack_qualified",
          fate: "skipped",
          reason: { code: "when_false", message: "when extracted_variables.plan = 'basic' was not true; it read extracted_variables.plan = \"pro\"" },
        },
      ],
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT.+Z$/),
      updated_at: expect.any(String),
    });
    // Why a CRM did not get a call, from the list: each destination's latest fate and its reason.
    const extracted = res.body.calls.find((c: { call_id: string }) => c.call_id === call.extracted);
    expect(extracted.destinations).toEqual([
      { destination: "slack_qualified", fate: "skipped", reason: { code: "when_false", message: "when extracted_variables.plan = 'basic' was not true; it read extracted_variables.plan = \"pro\"" } },
    ]);
  });

  it.each([
    ["accepted", ["accepted"]],
    ["extraction_failed", ["extractionFailed"]],
    ["skipped", ["skipped"]],
    ["extracted", ["extracted"]],
    ["delivering", ["delivering"]],
    ["delivered", ["both", "delivered"]],
    ["delivery_failed", ["transformFailed", "failed"]],
    ["needs_review", []],
    ["extracting", []],
  ])("filters by state %s", async (state, expected) => {
    expect(ids(await api.get(`/v1/calls?state=${state}`))).toEqual(expected.map((name) => call[name]));
  });

  it("filters by several states at once, repeating the parameter", async () => {
    const res = await api.get("/v1/calls?state=extraction_failed&state=delivery_failed&state=delivery_failed");
    expect(ids(res)).toEqual([call.transformFailed, call.extractionFailed, call.failed]);
  });

  it("filters by profile, source, platform call id, time and destination, alone and together", async () => {
    expect(ids(await api.get("/v1/calls?profile=support"))).toEqual([call.failed]);
    expect(ids(await api.get("/v1/calls?source=vapi"))).toEqual([call.accepted]);
    expect(ids(await api.get("/v1/calls?external_id=delivered-2"))).toEqual([call.both]);
    expect(ids(await api.get("/v1/calls?external_id=vapi-accepted-1&source=vapi"))).toEqual([call.accepted]);
    expect(ids(await api.get(`/v1/calls?since=${middle}`))).toEqual([call.accepted, call.transformFailed, call.extractionFailed, call.skipped, call.delivering]);
    expect(ids(await api.get(`/v1/calls?since=${startedAt}&until=${middle}`))).toEqual([call.extracted, call.failed, call.both, call.delivered]);
    // A destination's calls: those routed to it, and those it was skipped for (its `when`, or a failed expression).
    expect(ids(await api.get("/v1/calls?destination=slack_qualified"))).toEqual([call.extracted, call.both, call.delivered]);
    expect(ids(await api.get("/v1/calls?destination=sheets"))).toEqual([call.transformFailed]);
    expect(ids(await api.get("/v1/calls?destination=crm&state=delivery_failed"))).toEqual([call.transformFailed]);
    expect(ids(await api.get("/v1/calls?destination=crm&profile=booking&source=autocalls&state=delivered"))).toEqual([call.both, call.delivered]);
    // Issue 25: an unknown profile is 404 profile_not_found, as on every route naming one (it was an empty page).
    expect((await api.get("/v1/calls?profile=nobody")).body.error.code).toBe("profile_not_found");
  });

  it("pages with a cursor that calls arriving between pages never shift", async () => {
    const everything = ids(await api.get("/v1/calls"));
    const filters = "state=skipped&state=delivered&state=delivery_failed&state=extracted&state=delivering&state=extraction_failed&state=accepted";
    const seen: string[] = [];
    let res = await api.get(`/v1/calls?limit=4&${filters}`);
    seen.push(...ids(res));
    expect(res.body.next_cursor).toEqual(expect.any(String));
    // Arrives between two pages: newer than every call listed, so never on a later page, and shifts nothing.
    const newcomer = await post(api, "booking", "newcomer-1", { status: "busy" });
    while (res.body.next_cursor) {
      res = await api.get(`/v1/calls?limit=4&${filters}&cursor=${encodeURIComponent(res.body.next_cursor)}`);
      expect(res.status).toBe(200);
      seen.push(...ids(res));
    }
    expect(seen).toEqual(everything);
    expect(seen).toHaveLength(9);
    expect(ids(await api.get("/v1/calls?limit=1"))).toEqual([newcomer]);
  });

  it("answers 400 invalid_cursor for a cursor that was altered, or used with other filters", async () => {
    const first = await api.get("/v1/calls?limit=2&profile=booking");
    const cursor: string = first.body.next_cursor;
    const [body, signature] = cursor.split(".");
    const altered = `${Buffer.from(JSON.stringify([Date.now(), "call_x", "0"])).toString("base64url")}.${signature}`;
    for (const bad of [altered, `${body}.${signature!.slice(1)}`, "nonsense", `${cursor}.x`]) {
      const res = await api.get(`/v1/calls?limit=2&profile=booking&cursor=${encodeURIComponent(bad)}`);
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ code: "invalid_cursor", details: [{ path: "cursor" }] });
    }
    const other = await api.get(`/v1/calls?limit=2&profile=support&cursor=${encodeURIComponent(cursor)}`);
    expect(other.body.error).toMatchObject({ code: "invalid_cursor", message: expect.stringContaining("other filters") });
    expect((await api.get(`/v1/calls?limit=5&profile=booking&cursor=${encodeURIComponent(cursor)}`)).status).toBe(200); // a new page size is fine
  });

  it.each([
    ["state=lost", "state[0]"],
    ["state=delivered&state=lost", "state[1]"],
    ["source=zoom", "source"],
    ["limit=0", "limit"],
    ["limit=201", "limit"],
    ["limit=ten", "limit"],
    ["since=yesterday", "since"],
    ["until=2026-01-01T00:00:00", "until"],
    ["since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z", "until"],
    ["statе=delivered", "statе"],
    ["external_id=", "external_id"],
  ])("answers 400 naming the parameter for %s", async (query, path) => {
    const res = await api.get(`/v1/calls?${query}`);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("invalid_request");
    expect(res.body.error.details.map((detail: { path: string }) => detail.path)).toContain(path);
  });
});

describe("GET /v1/calls/{id}: every destination's fate", () => {
  it("shows a delivered destination and one whose `when` was false, with the evidence and the transcript it points into", async () => {
    const api = await service();
    const id = await post(api, "booking", "fate-1", { transcript: transcript("I'd like a demo of the Pro plan, please.") });
    const call = await settled(api, id, "delivered");
    expect(call.destinations).toEqual([
      {
        destination: "crm",
        in_profile: true,
        fate: "delivered",
        reason: null,
        deliveries: [expect.objectContaining({ status: "delivered", attempts: 1, run_attempts: 1, attempt_history: [expect.objectContaining({ attempt: 1, status: 200, response_snippet: "ok" })] })],
      },
      { destination: "slack_qualified", in_profile: true, fate: "skipped", reason: { code: "when_false", message: "when extracted_variables.plan = 'basic' was not true; it read extracted_variables.plan = \"pro\"" }, deliveries: [] },
    ]);
    expect(call.extracted_variables).toMatchObject({ plan: "pro", customer_name: "Dana" });
    expect(call.evidence).toEqual({ plan: { quote: "a demo of the Pro plan", turn: 1 } });
    expect(call.transcript).toEqual([
      { speaker: "agent", text: "Hello, this is Sarah.", time: null },
      { speaker: "customer", text: "I'd like a demo of the Pro plan, please.", time: null },
      { speaker: "agent", text: "Thanks, bye.", time: null },
    ]);
    expect(call.transcript[call.evidence.plan.turn].text).toContain(call.evidence.plan.quote);
    expect(call.payload).toMatchObject({ id: "fate-1", status: "completed" });
    expect(call.meta).toMatchObject({ ungrounded: 0 });
  });

  it("does not ask for evidence for a profile that turns it off", async () => {
    const api = await service();
    const id = await post(api, "quiet", "no-evidence-1", { transcript: transcript("The basic plan, please.") });
    const call = await settled(api, id, "delivered");
    expect(call.evidence).toBeNull();
    expect(asksForEvidence(llm.requests.at(-1)!)).toBe(false);
    expect(call.transcript).toHaveLength(3);
  });

  it("shows a dead letter with why, and counters that agree with the attempt history", async () => {
    const api = await service();
    const id = await post(api, "support", "fate-2", { transcript: transcript("Pro plan.") });
    const call = await settled(api, id, "delivery_failed");
    const [rejected] = call.destinations;
    expect(rejected).toMatchObject({ destination: "rejecting", fate: "failed", reason: { code: "dead_lettered", message: "HTTP 400: not retried" } });
    expect(rejected.deliveries[0]).toMatchObject({ status: "failed", attempts: 1, last_response: "phone must be E.164" });
    expect(rejected.deliveries[0].attempt_history).toHaveLength(rejected.deliveries[0].attempts);

    rejecting.script([{ status: 200 }]);
    expect((await api.post(`/v1/deliveries/${rejected.deliveries[0].id}/retry`, {})).status).toBe(200);
    const again = await settled(api, id, "delivered");
    const [delivery] = again.destinations[0].deliveries;
    expect(delivery).toMatchObject({ attempts: 2, run_attempts: 1 });
    expect(delivery.attempt_history.map((a: { status: number }) => a.status)).toEqual([400, 200]);
    await listedAs(api, { [id]: "delivered" });
  });

  it("shows a pending delivery retrying, with the error it is retrying after", async () => {
    const api = await service();
    const id = await post(api, "patient", "fate-3", { transcript: transcript("Pro plan.") });
    await flaky.waitForRequests(1);
    const call = await until(() => api.get(`/v1/calls/${id}`), (res) => res.body.destinations[0].reason?.code === "retrying");
    expect(call.body).toMatchObject({ state: "delivering", destinations: [{ destination: "flaky", fate: "pending", reason: { code: "retrying", message: "HTTP 503" } }] });
  });

  it("shows a transform that failed on the call, and the call is delivery_failed while its other destination got it", async () => {
    const api = await service();
    const id = await post(api, "broken", "fate-4", { transcript: transcript("Pro plan.") });
    await settled(api, id, "delivery_failed");
    const call = (await until(() => api.get(`/v1/calls/${id}`), (res) => res.body.destinations[0].fate === "delivered")).body;
    expect(call.state).toBe("delivery_failed");
    expect(call.destinations.map((d: { destination: string; fate: string; reason: unknown }) => [d.destination, d.fate, d.reason])).toEqual([
      ["crm", "delivered", null],
      ["sheets", "skipped", { code: "transform_failed", message: expect.stringMatching(/^destinations\.sheets\.transform: evaluation failed/) }],
    ]);
  });

  it("shows every destination waiting for extraction, or skipped with its call", async () => {
    const api = await service();
    const failed = await settled(api, await post(api, "booking", "fate-5", { transcript: transcript("LLM_FAILS now") }), "extraction_failed");
    expect(failed.destinations.map((d: { fate: string; reason: { code: string } }) => [d.fate, d.reason.code])).toEqual([
      ["pending", "awaiting_extraction"],
      ["pending", "awaiting_extraction"],
    ]);
    expect(failed.transcript).toHaveLength(3); // read from the payload: there is no extraction yet
    expect(failed.evidence).toBeNull();
    const skipped = await settled(api, await post(api, "booking", "fate-6", { status: "busy" }), "skipped");
    expect(skipped.destinations[0]).toMatchObject({ fate: "skipped", reason: { code: "call_skipped", message: expect.stringContaining("busy") } });
  });
});

describe("POST /v1/deliveries/{id}/retry on a pending delivery", () => {
  it("sends a delivery waiting out a ten-hour backoff now, and the call becomes delivered in the list too", async () => {
    const api = await service();
    const id = await post(api, "patient", "send-now-1", { transcript: transcript("Pro plan.") });
    await flaky.waitForRequests(1);
    const waiting = await until(() => api.get(`/v1/calls/${id}`), (res) => res.body.destinations[0].deliveries[0]?.last_status === 503);
    const [delivery] = waiting.body.destinations[0].deliveries;
    expect(Date.parse(delivery.next_attempt_at) - Date.now()).toBeGreaterThan(7 * 3_600_000); // ten hours, less up to 20% jitter

    flaky.script([{ status: 200 }]);
    const sent = await api.post(`/v1/deliveries/${delivery.id}/retry`, {});
    expect(sent.status).toBe(200);
    expect(sent.body.delivery).toMatchObject({ id: delivery.id, status: "pending", attempts: 1, run_attempts: 1 });
    await flaky.waitForRequests(2);
    await settled(api, id, "delivered");
    await listedAs(api, { [id]: "delivered" });
    expect(flaky.requests.map((r) => r.headers["webhook-id"])).toEqual([delivery.webhook_id, delivery.webhook_id]);
    const conflict = await api.post(`/v1/deliveries/${delivery.id}/retry`, {});
    expect(conflict).toMatchObject({ status: 409, body: { error: { code: "conflict" } } });
  });
});

describe("GET /v1/destinations", () => {
  it("reports each destination's last day and failure streak, and the gauge says the same", async () => {
    const api = await service();
    const before = await api.get("/v1/destinations");
    expect(before.body.destinations.map((d: { name: string }) => d.name)).toEqual(["crm", "slack_qualified", "rejecting", "flaky", "sheets"]);
    expect(before.body.destinations[0]).toEqual({
      name: "crm",
      configured: true,
      host: new URL(crm.url).host,
      pending: 0,
      delivered_24h: 0,
      failed_24h: 0,
      consecutive_failures: 0,
      last_error: null,
      last_error_at: null,
      last_delivered_at: null,
    });

    await settled(api, await post(api, "booking", "health-1", { transcript: transcript("Pro plan.") }), "delivered");
    await settled(api, await post(api, "support", "health-2", { transcript: transcript("Pro plan.") }), "delivery_failed");
    await settled(api, await post(api, "support", "health-3", { transcript: transcript("Pro plan.") }), "delivery_failed");
    const patient = await post(api, "patient", "health-4", { transcript: transcript("Pro plan.") });
    await until(() => api.get(`/v1/calls/${patient}`), (res) => res.body.destinations[0].deliveries[0]?.last_status === 503);

    const health = await api.get("/v1/destinations");
    const byName = Object.fromEntries(health.body.destinations.map((d: { name: string }) => [d.name, d]));
    expect(byName.crm).toMatchObject({ delivered_24h: 1, failed_24h: 0, pending: 0, consecutive_failures: 0, last_delivered_at: expect.any(String) });
    expect(byName.rejecting).toMatchObject({ delivered_24h: 0, failed_24h: 2, consecutive_failures: 2, last_error: "HTTP 400: not retried", last_error_at: expect.any(String) });
    expect(byName.flaky).toMatchObject({ pending: 1, failed_24h: 0, consecutive_failures: 1, last_error: "HTTP 503" });
    expect(Date.parse(health.body.since)).toBeLessThan(Date.now() - 23 * 3_600_000);

    const metrics = String((await api.get("/metrics")).body);
    expect(metrics).toContain('debrief_destination_consecutive_failures{destination="rejecting"} 2');
    expect(metrics).toContain('debrief_destination_consecutive_failures{destination="flaky"} 1');
    expect(metrics).toContain('debrief_destination_consecutive_failures{destination="crm"} 0');
    expect(metrics).toContain('debrief_destination_consecutive_failures{destination="sheets"} 0');

    // A success ends the streak; nothing was disabled meanwhile.
    rejecting.script([{ status: 200 }]);
    await settled(api, await post(api, "support", "health-5", { transcript: transcript("Pro plan.") }), "delivered");
    expect(String((await api.get("/metrics")).body)).toContain('debrief_destination_consecutive_failures{destination="rejecting"} 0');
  });
});

describe("a destination removed from the configuration", () => {
  it("still shows on the calls it was routed to and in the health list while it has deliveries, but not in the gauge", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "debrief-removed-"));
    const config = (destinations: string[]) => {
      const file = join(mkdtempSync(join(tmpdir(), "debrief-removed-config-")), "debrief.json");
      const urls: Record<string, string> = { crm: crm.url, old: rejecting.url };
      const configured = Object.fromEntries(destinations.map((name) => [name, { url: urls[name] }]));
      writeFileSync(file, JSON.stringify({ profiles: { booking: { variables, destinations } }, destinations: configured }));
      return file;
    };
    const env = { OPENAI_BASE_URL: llm.url, DEBRIEF_ALLOW_PRIVATE_DESTINATIONS: "true", DEBRIEF_DATA_DIR: dataDir };
    const before = await startTestService({ ...env, DEBRIEF_CONFIG: config(["crm", "old"]) });
    const id = await post(before, "booking", "removed-1", { transcript: transcript("Pro plan.") });
    await settled(before, id, "delivery_failed");
    await before.close();

    const after = await startTestService({ ...env, DEBRIEF_CONFIG: config(["crm"]) });
    services.push(after);
    const call = await after.get(`/v1/calls/${id}`);
    expect(call.body.destinations.map((d: { destination: string; in_profile: boolean; fate: string }) => [d.destination, d.in_profile, d.fate])).toEqual([
      ["crm", true, "delivered"],
      ["old", false, "failed"],
    ]);
    const health = await after.get("/v1/destinations");
    expect(health.body.destinations.map((d: { name: string; configured: boolean; host: string | null }) => [d.name, d.configured, d.host])).toEqual([
      ["crm", true, new URL(crm.url).host],
      ["old", false, null],
    ]);
    const metrics = String((await after.get("/metrics")).body);
    expect(metrics).toContain('debrief_destination_consecutive_failures{destination="crm"} 0');
    expect(metrics).not.toContain('destination="old"} ');
  });
});

describe("GET /v1/callers/{phone}", () => {
  it("returns a caller's latest values, recent calls and flat dynamic variables, however the number is written", async () => {
    const api = await service();
    const first = await post(api, "booking", "caller-1", { customer_phone: "+1 (555) 123-4567", transcript: transcript("The basic plan, please.") });
    await settled(api, first, "delivered");
    const skipped = await post(api, "booking", "caller-2", { customer_phone: "555.123.4567", status: "busy" }); // national format: the profile's default_region
    await post(api, "support", "caller-3", { customer_phone: "+15551234567", status: "busy" }); // another profile's

    for (const phone of ["+15551234567", "%2B15551234567", "(555)%20123-4567", "5551234567"]) {
      const res = await api.get(`/v1/callers/${phone}?profile=booking`);
      expect(res.status, phone).toBe(200);
      expect(res.body).toEqual({
        phone: "+15551234567",
        profile: "booking",
        known: true,
        latest: { call_id: first, created_at: expect.any(String), extracted_variables: expect.objectContaining({ plan: "basic", customer_name: "Dana" }) },
        dynamic_variables: {
          status: "true",
          summary: "Demo booked",
          plan: "basic",
          customer_name: "Dana",
          debrief_known_caller: "true",
          debrief_last_call_at: expect.stringMatching(/Z$/),
        },
        calls: [expect.objectContaining({ call_id: skipped, state: "skipped", customer_phone_e164: "+15551234567" }), expect.objectContaining({ call_id: first })],
      });
    }
    expect((await api.get("/v1/callers/+15551234567?profile=booking&limit=1")).body.calls.map((c: { call_id: string }) => c.call_id)).toEqual([skipped]);
  });

  it("answers a number never seen with known: false and the same keys, blank", async () => {
    const api = await service();
    const res = await api.get("/v1/callers/+447700900123?profile=booking");
    expect(res.body).toEqual({
      phone: "+447700900123",
      profile: "booking",
      known: false,
      latest: null,
      dynamic_variables: { status: "", summary: "", plan: "", customer_name: "", debrief_known_caller: "false", debrief_last_call_at: "" },
      calls: [],
    });
  });

  it.each([
    ["a number without a country code, for a profile without default_region", "/v1/callers/5551234567?profile=support", "phone", /no country code.*no default_region/],
    ["something that is not a number", "/v1/callers/call-me?profile=booking", "phone", /not a phone number/],
    ["a number too short for its country", "/v1/callers/+1555?profile=booking", "phone", /not a phone number/],
    ["a number far too long", `/v1/callers/${"9".repeat(80)}?profile=booking`, "phone", /not a phone number/],
    ["no profile", "/v1/callers/+15551234567", "profile", /profile/],
    ["a limit over 50", "/v1/callers/+15551234567?profile=booking&limit=51", "limit", /limit/],
  ])("answers 400 naming the parameter for %s", async (_name, path, field, message) => {
    const api = await service();
    const res = await api.get(path);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("invalid_request");
    expect(res.body.error.details.map((detail: { path: string }) => detail.path)).toContain(field);
    expect(res.body.error.message).toMatch(message);
  });

  it("answers 404 profile_not_found for an unknown profile (issue 25: was a 400 listing every profile)", async () => {
    const api = await service();
    const res = await api.get("/v1/callers/+15551234567?profile=nope");
    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({ code: "profile_not_found", message: 'No profile named "nope"' });
  });
});
