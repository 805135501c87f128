// Hold for review end to end, on both engines: real HTTP into the service, the real openai SDK out to the loopback LLM
// (which answers with OpenAI-shaped token log-probabilities, one value scripted unsure), deliveries to a real loopback
// receiver. A held call reaches no destination until a reviewer approves it, with corrections, exactly once.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { autocallsPayload } from "../fixtures/calls.js";
import { ORDER_VARIABLES } from "../fixtures/orders.js";
import { answerFor, startFakeLlm, type FakeLlm } from "../support/fake-llm.js";
import { until } from "../support/poll.js";
import { createTestDatabase, type TestDatabase } from "../support/postgres.js";
import { startReceiver, type Receiver } from "../support/receiver.js";
import { startTestService, type TestService } from "../support/service.js";

const variables = [
  { name: "budget", type: "number", description: "Monthly budget the customer states, in USD" },
  { name: "appointment_date", type: "date", description: "The date the visit is booked for" },
];
const ANSWER = { status: true, summary: "AC repair booked", budget: 4000, appointment_date: "2026-06-17" };
const ORDER = {
  status: true,
  summary: "Order placed",
  contact: { name: "Dana", email: "dana@example.com" },
  items: [
    { product: "filter", quantity: 2 },
    { product: "duct", quantity: 1 },
  ],
};
const TRANSCRIPT = "AI: Hello, this is Sarah from CoolAir.\nCustomer: My budget is 4,000 a month, and Wednesday the 17th works.\nAI: Booked, bye.";

let llm: FakeLlm;
let crm: Receiver;

/** The model answers ANSWER; `unsure` values get one token of this log-probability; `quotes` are its evidence. */
function answer(unsure: Record<string, number> = {}, quotes?: Record<string, unknown>) {
  llm.logprobs = "give";
  llm.script = (request) => ({ json: answerFor(request, ANSWER, quotes), tokens: { uncertain: unsure } });
}

function writeConfig(): string {
  const file = join(mkdtempSync(join(tmpdir(), "debrief-review-")), "debrief.json");
  writeFileSync(
    file,
    JSON.stringify({
      profiles: {
        held: { variables, destinations: ["crm"], review: { hold: true, min_confidence: 0.8 } },
        held_ungrounded: { variables, destinations: ["crm"], review: { hold: true, flags: ["ungrounded"] } },
        open: { variables, destinations: ["crm"] },
        held_order: { variables: ORDER_VARIABLES, destinations: ["crm"], review: { hold: true, min_confidence: 0.8 } },
      },
      destinations: { crm: { url: crm.url } },
      extraction: { retry: { max_attempts: 1 } },
    }),
  );
  return file;
}

beforeAll(async () => {
  [llm, crm] = await Promise.all([startFakeLlm(), startReceiver()]);
});
afterAll(async () => {
  await Promise.all([llm.close(), crm.close()]);
});

/** The payloads the receiver got for this call (a slow earlier test's delivery may still arrive during the next). */
const bodies = (callId?: string) =>
  crm.requests.map((request) => JSON.parse(request.body)).filter((body) => callId === undefined || body.debrief.call_id === callId);

describe.each(["sqlite", "postgres"] as const)("hold for review on %s", (engine) => {
  let api: TestService;
  let database: TestDatabase | undefined;
  let n = 0;

  beforeAll(async () => {
    database = engine === "postgres" ? await createTestDatabase() : undefined;
    api = await startTestService({
      OPENAI_BASE_URL: llm.url,
      DEBRIEF_CONFIG: writeConfig(),
      DEBRIEF_ALLOW_PRIVATE_DESTINATIONS: "true",
      DEBRIEF_LLM_MAX_RETRIES: "0",
      DEBRIEF_CACHE: "false",
      ...(database ? { DEBRIEF_DATABASE_URL: database.url } : {}),
    });
  });
  afterAll(async () => {
    await api.close();
    await database?.drop();
  });
  afterEach(() => {
    crm.requests.length = 0;
    llm.requests.length = 0;
  });

  /** Posts a call and waits until its extraction settled in `state`. */
  async function call(profile: string, state: string) {
    const res = await api.post(`/v1/calls?profile=${profile}`, autocallsPayload({ id: `${engine}-${++n}`, transcript: TRANSCRIPT }));
    expect(res.status).toBe(202);
    const settled = await until(() => api.get(`/v1/calls/${res.body.call_id}`), (got) => got.body.state === state);
    expect(settled.body.state).toBe(state);
    return settled.body;
  }

  const review = (id: string, body: unknown) => api.post(`/v1/calls/${id}/review`, body);

  it("holds a call with a value under the profile's min_confidence: needs_review, nothing delivered, listed in the queue", async () => {
    answer({ appointment_date: -1.6 });
    const held = await call("held", "needs_review");
    expect(held.review).toEqual({ needed: true, fields: { appointment_date: ["low_confidence"] } });
    expect(held.confidence.appointment_date).toBeCloseTo(Math.exp(-1.6), 4);
    expect(held.extracted_variables).toMatchObject({ budget: 4000, appointment_date: "2026-06-17" });
    expect(held.reviewed).toBeNull();
    expect(held.destinations).toEqual([expect.objectContaining({ destination: "crm", fate: "pending", reason: expect.objectContaining({ code: "awaiting_review" }), deliveries: [] })]);
    const queue = await api.get("/v1/calls?state=needs_review");
    expect(queue.body.calls.map((c: { call_id: string }) => c.call_id)).toContain(held.call_id);
    expect(queue.body.calls.every((c: { state: string }) => c.state === "needs_review")).toBe(true);
    expect((await api.get(`/v1/deliveries?call_id=${held.call_id}`)).body.deliveries).toEqual([]);
    expect(bodies(held.call_id)).toHaveLength(0);
    const metrics = await api.get("/metrics");
    expect(metrics.body).toMatch(/debrief_calls_held_total \d/);
  });

  it("delivers an approved call once, with the corrections, as call.reviewed, without extracting it again", async () => {
    answer({ appointment_date: -1.6 });
    const held = await call("held", "needs_review");
    const llmCalls = llm.requests.length;
    const res = await review(held.call_id, { approve: true, values: { appointment_date: "2026-06-18", budget: "4,000", summary: null } });
    expect(res.status).toBe(200);
    // "4,000" is the model's 4000, normalised as extraction normalises: not a correction.
    expect(res.body).toEqual({
      call_id: held.call_id,
      state: "accepted",
      reviewed: { approved: true, at: expect.any(String), corrected: ["summary", "appointment_date"], values: { summary: null, appointment_date: "2026-06-18" }, reason: null },
    });
    const delivered = await call_(held.call_id, "delivered");
    expect(bodies(held.call_id)).toHaveLength(1);
    const [payload] = bodies(held.call_id);
    expect(payload.extracted_variables).toEqual({ status: true, summary: null, budget: 4000, appointment_date: "2026-06-18" });
    expect(payload.debrief).toMatchObject({
      event: "call.reviewed",
      reviewed: { at: res.body.reviewed.at, corrected: ["summary", "appointment_date"] },
      // A person decided: nothing needs review, and the values they corrected carry no model confidence or flag.
      review: { needed: false, fields: {} },
    });
    expect(payload.debrief.confidence).not.toHaveProperty("appointment_date");
    expect(payload.debrief.confidence).not.toHaveProperty("summary");
    expect(payload.debrief.confidence).toMatchObject({ budget: expect.any(Number) });
    expect(llm.requests).toHaveLength(llmCalls);
    // The call keeps what the model said and what the reviewer did.
    expect(delivered.extracted_variables.appointment_date).toBe("2026-06-17");
    expect(delivered.reviewed).toEqual(res.body.reviewed);
    expect((await review(held.call_id, { approve: true })).body.error.code).toBe("not_in_review");
  });

  it("skips a call a reviewer turns down, for their reason, and delivers nothing", async () => {
    answer({ budget: -2 });
    const held = await call("held", "needs_review");
    const missing = await review(held.call_id, { approve: false });
    expect(missing.status).toBe(400);
    expect(missing.body.error.details).toEqual([expect.objectContaining({ path: "reason" })]);
    const res = await review(held.call_id, { approve: false, reason: "a test call from our own team" });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ state: "skipped", reviewed: { approved: false, corrected: [], reason: "a test call from our own team" } });
    const skipped = (await api.get(`/v1/calls/${held.call_id}`)).body;
    expect(skipped).toMatchObject({ state: "skipped", reason: "a test call from our own team", reviewed: res.body.reviewed });
    expect(skipped.destinations).toEqual([expect.objectContaining({ fate: "skipped", reason: expect.objectContaining({ code: "call_skipped" }) })]);
    expect(bodies(held.call_id)).toHaveLength(0);
  });

  it("lets one of several reviews sent at once decide, and delivers once", async () => {
    answer({ appointment_date: -1.6 });
    const held = await call("held", "needs_review");
    const dates = ["2026-06-18", "2026-06-19", "2026-06-20", "2026-06-21", "2026-06-22"];
    const results = await Promise.all(dates.map((date) => review(held.call_id, { approve: true, values: { appointment_date: date } })));
    const won = results.filter((res) => res.status === 200);
    expect(won).toHaveLength(1);
    for (const lost of results.filter((res) => res.status !== 200)) {
      expect(lost.status).toBe(409);
      expect(lost.body.error.code).toBe("not_in_review");
    }
    await call_(held.call_id, "delivered");
    expect(bodies(held.call_id)).toHaveLength(1);
    expect(bodies(held.call_id)[0].extracted_variables.appointment_date).toBe(won[0]!.body.reviewed.values.appointment_date);
    expect((await api.get(`/v1/deliveries?call_id=${held.call_id}`)).body.deliveries).toHaveLength(1);
  });

  it.each([
    ["a value of the wrong type", { approve: true, values: { budget: "a lot" } }, ["values.budget"]],
    ["a date that is not one", { approve: true, values: { appointment_date: "next week" } }, ["values.appointment_date"]],
    ["a name the profile does not have", { approve: true, values: { budjet: 5000 } }, ["values.budjet"]],
    ["no approve", { values: {} }, ["approve"]],
    ["an unknown key", { approve: true, aprove: true }, ["aprove"]],
    ["corrections on a skip", { approve: false, reason: "spam", values: { budget: 1 } }, ["values"]],
    ["a blank reason", { approve: false, reason: "  " }, ["reason"]],
  ])("refuses a review with %s, naming the field, and the call stays held", async (_name, body, paths) => {
    answer({ appointment_date: -1.6 });
    const held = await call("held", "needs_review");
    const res = await review(held.call_id, body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("invalid_request");
    expect(res.body.error.details.map((detail: { path: string }) => detail.path)).toEqual(paths);
    expect((await api.get(`/v1/calls/${held.call_id}`)).body.state).toBe("needs_review");
  });

  it("validates a nested correction field by field, names the leaves it changed, and delivers the edited values", async () => {
    llm.logprobs = "give";
    llm.script = (request) => ({ json: answerFor(request, ORDER), tokens: { uncertain: { summary: -1.6 } } });
    const held = await call("held_order", "needs_review");
    expect(held.extracted_variables.items).toEqual(ORDER.items);

    const wrong = await review(held.call_id, {
      approve: true,
      values: { items: [{ product: "filter", quantity: 2 }, { product: "duct", quantity: "a few" }], contact: { name: "Dana", email: "dana at example" } },
    });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.details.map((detail: { path: string }) => detail.path).sort()).toEqual(["values.contact.email", "values.items[1].quantity"]);
    const unknown = await review(held.call_id, { approve: true, values: { items: [{ product: "hose", quantity: 1, colour: "red" }] } });
    expect(unknown.body.error.details.map((detail: { path: string }) => detail.path).sort()).toEqual(["values.items[0].colour", "values.items[0].product"]);
    expect((await api.get(`/v1/calls/${held.call_id}`)).body.state).toBe("needs_review");

    // The second item's quantity edited, a third item added, the e-mail changed; sent whole, as the console sends them.
    const items = [
      { product: "filter", quantity: 2 },
      { product: "duct", quantity: "3" },
      { product: "Thermostat", quantity: 1 },
    ];
    const res = await review(held.call_id, { approve: true, values: { items, contact: { name: "Dana", email: "dana.reyes@Example.com" } } });
    expect(res.status).toBe(200);
    const corrected = { contact: { name: "Dana", email: "dana.reyes@example.com" }, items: [items[0], { product: "duct", quantity: 3 }, { product: "thermostat", quantity: 1 }] };
    expect(res.body.reviewed).toEqual({
      approved: true,
      at: expect.any(String),
      corrected: ["contact.email", "items[1].quantity", "items[2].product", "items[2].quantity"],
      values: corrected,
      reason: null,
    });
    await call_(held.call_id, "delivered");
    const [payload] = bodies(held.call_id);
    expect(payload.extracted_variables).toEqual({ status: true, summary: "Order placed", ...corrected });
    expect(payload.debrief).toMatchObject({ event: "call.reviewed", reviewed: { corrected: res.body.reviewed.corrected } });
    expect((await api.get(`/v1/calls/${held.call_id}`)).body.reviewed).toEqual(res.body.reviewed);
  });

  it("answers 404 for an unknown call and 409 for a call that was never held", async () => {
    expect((await review("call_nope", { approve: true })).status).toBe(404);
    answer();
    const delivered = await call("held", "delivered");
    const res = await review(delivered.call_id, { approve: true });
    expect(res.status).toBe(409);
    // The state named is the listed one, which may still say delivering while the receiver's answer is recorded.
    expect(res.body.error).toMatchObject({ code: "not_in_review", details: [{ path: "state", message: expect.stringMatching(/^is (delivering|delivered), not needs_review$/) }] });
  });

  it("delivers a call without a flag under a hold profile at once, as call.extracted", async () => {
    answer({ appointment_date: -0.1 }); // 0.905: over the profile's 0.8
    const delivered = await call("held", "delivered");
    expect(delivered.review).toEqual({ needed: false, fields: {} });
    expect(crm.requests).toHaveLength(1);
    expect(bodies()[0].debrief).toMatchObject({ event: "call.extracted", review: { needed: false, fields: {} }, confidence: { appointment_date: expect.closeTo(Math.exp(-0.1), 4) } });
    expect(bodies()[0].debrief).not.toHaveProperty("reviewed");
  });

  it("counts only the profile's flags: a low confidence does not hold a profile that holds ungrounded values, an invented quote does", async () => {
    answer({ appointment_date: -3 });
    await call("held_ungrounded", "delivered");
    expect(bodies()[0].debrief.review).toEqual({ needed: false, fields: {} });
    answer({}, { budget: { quote: "a budget of a million dollars", turn: 1 } });
    const held = await call("held_ungrounded", "needs_review");
    expect(held.review).toEqual({ needed: true, fields: { budget: ["ungrounded"] } });
    expect(crm.requests).toHaveLength(1);
  });

  it("without hold, delivers a flagged call, its flags in the payload under the default min_confidence", async () => {
    answer({ appointment_date: -1.6, budget: -0.5 }); // 0.20 and 0.61: only the first is under 0.5
    await call("open", "delivered");
    expect(bodies()[0].debrief).toMatchObject({ event: "call.extracted", review: { needed: true, fields: { appointment_date: ["low_confidence"] } } });
  });

  /** Waits until the call is in `state` (it is routed by the worker after a review). */
  async function call_(id: string, state: string) {
    const got = await until(() => api.get(`/v1/calls/${id}`), (res) => res.body.state === state);
    expect(got.body.state).toBe(state);
    return got.body;
  }
});
