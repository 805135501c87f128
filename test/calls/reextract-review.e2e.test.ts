// A re-extraction under a profile that holds calls for review goes through the same review as a first extraction:
// a flagged redelivery waits in needs_review, and the approval delivers it as the call's next event (new webhook-id,
// `call.reviewed`, the values receivers had before), exactly once, also when the approved call is replayed.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { webhookIdFor } from "../../src/delivery/index.js";
import { autocallsPayload } from "../fixtures/calls.js";
import { answerFor, startFakeLlm, type FakeLlm } from "../support/fake-llm.js";
import { until } from "../support/poll.js";
import { createTestDatabase, type TestDatabase } from "../support/postgres.js";
import { startReceiver, type Receiver } from "../support/receiver.js";
import { startTestService, type TestService } from "../support/service.js";

const SETTLE_MS = 30_000;
const TRANSCRIPT = "AI: Hello, this is Sarah from CoolAir.\nCustomer: My budget is 4,000 a month, and Wednesday the 17th works.\nAI: Booked, bye.";

let llm: FakeLlm;
let crm: Receiver;

/** The model answers these values; `unsure` ones get one token of that log-probability. */
function answer(values: Record<string, unknown>, unsure: Record<string, number> = {}) {
  llm.logprobs = "give";
  llm.script = (request) => ({ json: answerFor(request, { status: true, summary: "AC repair booked", ...values }), tokens: { uncertain: unsure } });
}

function writeConfig(file: string, description: string) {
  writeFileSync(
    file,
    JSON.stringify({
      profiles: {
        held: {
          variables: [{ name: "appointment_date", type: "date", description }],
          destinations: ["crm"],
          review: { hold: true, min_confidence: 0.8 },
        },
        orders: {
          variables: [
            {
              name: "items",
              type: "list",
              description: `Each product ordered. ${description}`,
              items: {
                type: "object",
                fields: [
                  { name: "product", type: "string", description: "Which product" },
                  { name: "quantity", type: "integer", description: "How many" },
                ],
              },
            },
          ],
          destinations: ["crm"],
          review: { hold: true, min_confidence: 0.8 },
        },
      },
      destinations: { crm: { url: crm.url } },
    }),
  );
}

beforeAll(async () => {
  [llm, crm] = await Promise.all([startFakeLlm(), startReceiver()]);
});
afterAll(async () => {
  await Promise.all([llm.close(), crm.close()]);
});

describe.each(["sqlite", "postgres"] as const)("re-extraction under review on %s", { timeout: 120_000 }, (engine) => {
  let service: TestService;
  let database: TestDatabase | undefined;
  let config: string;

  beforeAll(async () => {
    database = engine === "postgres" ? await createTestDatabase() : undefined;
    config = join(mkdtempSync(join(tmpdir(), "debrief-reextract-review-")), "debrief.json");
    writeConfig(config, "The date the visit is booked for");
    service = await startTestService({
      OPENAI_BASE_URL: llm.url,
      DEBRIEF_CONFIG: config,
      DEBRIEF_ALLOW_PRIVATE_DESTINATIONS: "true",
      DEBRIEF_LLM_MAX_RETRIES: "0",
      // The waits below poll the API every 25 ms: more than the default limit allows over a minute.
      DEBRIEF_RATE_LIMIT: "0",
      // Both tests send one transcript under the same profile versions: each must reach the model, not the cache.
      DEBRIEF_CACHE: "false",
      ...(database ? { DEBRIEF_DATABASE_URL: database.url } : {}),
    });
  });
  afterAll(async () => {
    await service.close();
    await database?.drop();
  });
  afterEach(() => {
    crm.requests.length = 0;
  });

  const state = (id: string, wanted: string) => until(() => service.get(`/v1/calls/${id}`), (res) => res.body.state === wanted, SETTLE_MS);

  it("holds a flagged redelivery, then delivers it on approval as the next event with the values sent before, once", async () => {
    answer({ appointment_date: "2026-06-17" });
    const accepted = await service.post("/v1/calls?profile=held", autocallsPayload({ id: `${engine}-reextract-review`, transcript: TRANSCRIPT }));
    const callId: string = accepted.body.call_id;
    expect((await state(callId, "delivered")).body.state).toBe("delivered");
    expect(crm.requests).toHaveLength(1);

    // The profile changes; its new answer is unsure of the date.
    writeConfig(config, "The date the visit is booked for, as the customer last confirmed it");
    expect((await service.post("/v1/admin/reload", {})).status).toBe(200);
    answer({ appointment_date: "2026-06-18" }, { appointment_date: -1.6 });
    const reextracted = await service.post(`/v1/calls/${callId}/reextract`, { redeliver: true });
    expect(reextracted.status).toBe(200);
    expect(reextracted.body).toMatchObject({ stored: true, held: true, event: 2, changed: ["appointment_date"] });
    const held = await service.get(`/v1/calls/${callId}`);
    expect(held.body.state).toBe("needs_review");
    expect(held.body.review.fields).toEqual({ appointment_date: ["low_confidence"] });
    expect(crm.requests).toHaveLength(1);

    const approved = await service.post(`/v1/calls/${callId}/review`, { approve: true, values: { appointment_date: "2026-06-19" } });
    expect(approved.status).toBe(200);
    await crm.waitForRequests(2, SETTLE_MS);
    const delivery = crm.requests[1]!;
    expect(delivery.headers["webhook-id"]).toBe(webhookIdFor(callId, "crm", 2));
    const body = JSON.parse(delivery.body);
    expect(body.extracted_variables.appointment_date).toBe("2026-06-19");
    expect(body.debrief).toMatchObject({
      event: "call.reviewed",
      reviewed: { corrected: ["appointment_date"] },
      previous_values: { appointment_date: "2026-06-17" },
    });
    const delivered = await state(callId, "delivered");
    expect(delivered.body.extraction.history.map((entry: { trigger: string; event: number | null }) => [entry.trigger, entry.event])).toEqual([
      ["api", 2],
      ["live", 1],
    ]);

    // One delivery per event: the first extraction and the reviewed re-extraction.
    const deliveries = (await service.get(`/v1/deliveries?call_id=${callId}`)).body.deliveries;
    expect(deliveries.map((d: { event: number }) => d.event).sort()).toEqual([1, 2]);
  });

  it("does not hold a re-extraction that is not redelivered: nothing reaches a receiver either way", async () => {
    answer({ appointment_date: "2026-06-17" });
    const accepted = await service.post("/v1/calls?profile=held", autocallsPayload({ id: `${engine}-reextract-quiet`, transcript: TRANSCRIPT }));
    const callId: string = accepted.body.call_id;
    await state(callId, "delivered");
    writeConfig(config, `The visit date, checked ${engine}`);
    expect((await service.post("/v1/admin/reload", {})).status).toBe(200);
    answer({ appointment_date: "2026-06-18" }, { appointment_date: -1.6 });
    const reextracted = await service.post(`/v1/calls/${callId}/reextract`, {});
    expect(reextracted.body).toMatchObject({ stored: true, held: false, event: null });
    expect((await service.get(`/v1/calls/${callId}`)).body.state).toBe("delivered");
  });

  it("names the leaves of a nested variable that changed, keeps previous_values whole, and delivers a reviewer's nested edit", async () => {
    const before = [
      { product: "filter", quantity: 2 },
      { product: "duct", quantity: 1 },
    ];
    answer({ items: before });
    const accepted = await service.post("/v1/calls?profile=orders", autocallsPayload({ id: `${engine}-reextract-nested`, transcript: TRANSCRIPT }));
    const callId: string = accepted.body.call_id;
    await state(callId, "delivered");
    expect(crm.requests).toHaveLength(1);

    writeConfig(config, `Counted again, ${engine}`);
    expect((await service.post("/v1/admin/reload", {})).status).toBe(200);
    const after = [{ product: "filter", quantity: 3 }, before[1]];
    answer({ items: after }, { summary: -1.6 });
    const dryRun = await service.post(`/v1/calls/${callId}/reextract`, { dry_run: true });
    expect(dryRun.body.changed).toEqual(["items[0].quantity"]);
    expect(dryRun.body.variables.items).toEqual({ before, after, changed: true, paths: ["items[0].quantity"] });
    expect(dryRun.body.variables.status).toEqual({ before: true, after: true, changed: false });

    const reextracted = await service.post(`/v1/calls/${callId}/reextract`, { redeliver: true });
    expect(reextracted.body).toMatchObject({ stored: true, held: true, event: 2, changed: ["items[0].quantity"] });
    const held = await state(callId, "needs_review");
    expect(held.body.extraction.history[0].extracted_variables.items).toEqual(after);
    // The history names the same leaf, not the whole list, against the extraction before it.
    expect(held.body.extraction.history[0].changed).toEqual(["items[0].quantity"]);

    // The reviewer removes the second item and edits the first: corrected names the leaves, sent whole.
    const approved = await service.post(`/v1/calls/${callId}/review`, { approve: true, values: { items: [{ product: "filter", quantity: 4 }] } });
    expect(approved.status).toBe(200);
    expect(approved.body.reviewed).toMatchObject({ corrected: ["items[0].quantity", "items[1].product", "items[1].quantity"], values: { items: [{ product: "filter", quantity: 4 }] } });
    await crm.waitForRequests(2, SETTLE_MS);
    const body = JSON.parse(crm.requests[1]!.body);
    expect(body.extracted_variables.items).toEqual([{ product: "filter", quantity: 4 }]);
    expect(body.debrief).toMatchObject({
      event: "call.reviewed",
      reviewed: { corrected: ["items[0].quantity", "items[1].product", "items[1].quantity"] },
      previous_values: { status: true, summary: "AC repair booked", items: before },
    });
    await state(callId, "delivered");

    // A later re-extraction keeps the reviewer's whole list: nothing changes, and the correction is named as kept.
    answer({ items: after });
    const again = await service.post(`/v1/calls/${callId}/reextract`, { dry_run: true });
    expect(again.body).toMatchObject({ changed: [], corrections: { kept: ["items"], conflicts: [] } });
    expect(again.body.variables.items).toMatchObject({ before: [{ product: "filter", quantity: 4 }], after: [{ product: "filter", quantity: 4 }], changed: false, corrected: true, model: after });
  });
});
