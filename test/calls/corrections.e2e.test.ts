// A reviewer's correction is never undone: re-extraction, a backfill with redeliver and a replay all deliver it, a flag
// on the corrected value no longer holds the call, and a correction the profile's new definition refuses holds the call
// (correction_conflict) instead of being dropped. On both engines.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { autocallsPayload } from "../fixtures/calls.js";
import { answerFor, startFakeLlm, type FakeLlm } from "../support/fake-llm.js";
import { until } from "../support/poll.js";
import { createTestDatabase, type TestDatabase } from "../support/postgres.js";
import { startReceiver, type Receiver } from "../support/receiver.js";
import { startTestService, type TestService } from "../support/service.js";

const SETTLE_MS = 30_000;
const TRANSCRIPT = "AI: Hello, Bright Smiles dental.\nCustomer: I have Cigna Dental PPO Plus, and I need two cleanings.\nAI: Booked, bye.";

let llm: FakeLlm;
let crm: Receiver;
let sheets: Receiver;

/** The model answers these values; `unsure` ones get one token of that log-probability (confidence e^x). */
function answer(values: Record<string, unknown>, unsure: Record<string, number> = {}) {
  llm.logprobs = "give";
  llm.script = (request) => ({ json: answerFor(request, { status: true, summary: "Two cleanings booked", ...values }), tokens: { uncertain: unsure } });
}

interface Shape {
  visitsDescription?: string;
  insurance?: Record<string, unknown>;
  sheetsTransform?: string;
}

function writeConfig(file: string, shape: Shape = {}) {
  const variables = [
    shape.insurance ?? { name: "insurance", type: "string", description: "The patient's insurance plan" },
    { name: "visits", type: "integer", description: shape.visitsDescription ?? "Visits booked" },
  ];
  writeFileSync(
    file,
    JSON.stringify({
      profiles: {
        dental: { variables, destinations: ["crm"], review: { hold: true, min_confidence: 0.8 } },
        dental_sheets: { variables, destinations: ["crm", "sheets"], review: { hold: true, min_confidence: 0.8 } },
      },
      destinations: {
        crm: { url: crm.url },
        sheets: { url: sheets.url, transform: shape.sheetsTransform ?? "{ 'insurance': extracted_variables.insurance, 'n': $number(extracted_variables.summary) }" },
      },
    }),
  );
}

beforeAll(async () => {
  [llm, crm, sheets] = await Promise.all([startFakeLlm(), startReceiver(), startReceiver()]);
});
afterAll(async () => {
  await Promise.all([llm.close(), crm.close(), sheets.close()]);
});

describe.each(["sqlite", "postgres"] as const)("a reviewer's corrections on %s", { timeout: 120_000 }, (engine) => {
  let service: TestService;
  let database: TestDatabase | undefined;
  let config: string;

  beforeAll(async () => {
    database = engine === "postgres" ? await createTestDatabase() : undefined;
    config = join(mkdtempSync(join(tmpdir(), "debrief-corrections-")), "debrief.json");
    writeConfig(config);
    service = await startTestService({
      OPENAI_BASE_URL: llm.url,
      DEBRIEF_CONFIG: config,
      DEBRIEF_ALLOW_PRIVATE_DESTINATIONS: "true",
      DEBRIEF_LLM_MAX_RETRIES: "0",
      DEBRIEF_RATE_LIMIT: "0",
      DEBRIEF_CACHE: "false",
      ...(database ? { DEBRIEF_DATABASE_URL: database.url } : {}),
    });
  });
  afterAll(async () => {
    await service.close();
    await database?.drop();
  });
  afterEach(async () => {
    crm.requests.length = 0;
    sheets.requests.length = 0;
    writeConfig(config);
    expect((await service.post("/v1/admin/reload", {})).status).toBe(200);
  });

  const state = (id: string, wanted: string) => until(() => service.get(`/v1/calls/${id}`), (res) => res.body.state === wanted, SETTLE_MS);
  const reload = async (shape: Shape) => {
    writeConfig(config, shape);
    expect((await service.post("/v1/admin/reload", {})).status).toBe(200);
  };
  const bodiesFor = (receiver: Receiver, callId: string) =>
    receiver.requests.map((request) => JSON.parse(request.body)).filter((body) => body.debrief?.call_id === callId || body.call_id === callId);

  /** A call held for its unsure insurance, approved with the reviewer's plan: delivered once as call.reviewed. */
  async function correctedCall(name: string, profile = "dental"): Promise<string> {
    answer({ insurance: "Cigna Dental PPO", visits: 2 }, { insurance: -3 });
    const accepted = await service.post(`/v1/calls?profile=${profile}`, autocallsPayload({ id: `${engine}-${name}`, transcript: TRANSCRIPT }));
    const callId: string = accepted.body.call_id;
    await state(callId, "needs_review");
    const approved = await service.post(`/v1/calls/${callId}/review`, { approve: true, values: { insurance: "Cigna Dental PPO Plus" } });
    expect(approved.status).toBe(200);
    return callId;
  }

  it("delivers the correction as decided: no review needed, no model confidence or flag on the corrected value", async () => {
    const callId = await correctedCall("approved");
    await crm.waitForRequests(1, SETTLE_MS);
    const [body] = bodiesFor(crm, callId);
    expect(body.extracted_variables).toMatchObject({ insurance: "Cigna Dental PPO Plus", visits: 2 });
    expect(body.debrief).toMatchObject({ event: "call.reviewed", review: { needed: false, fields: {} }, reviewed: { corrected: ["insurance"] } });
    expect(body.debrief.confidence).not.toHaveProperty("insurance");
    expect(body.debrief.confidence).toHaveProperty("visits");
  });

  it("keeps the correction through a reload and a backfill with redeliver: counted in the dry run, delivered, exported", async () => {
    const callId = await correctedCall("backfill");
    await state(callId, "delivered");
    // An unrelated variable's description changes; the model answers the insurance as before, unsure again.
    await reload({ visitsDescription: "Visits booked, cleanings and repairs alike" });
    answer({ insurance: "Cigna Dental PPO", visits: 2 }, { insurance: -3 });

    const dryRun = await service.post("/v1/profiles/dental/backfill", { dry_run: true });
    expect(dryRun.status).toBe(200);
    // This call and the one before it, both corrected under this profile.
    expect(dryRun.body.corrections).toEqual({ insurance: { kept: 2, conflicts: 0 } });
    const example = dryRun.body.examples.find((e: { call_id: string }) => e.call_id === callId);
    expect(example.changes.insurance).toEqual({ before: "Cigna Dental PPO Plus", after: "Cigna Dental PPO Plus", corrected: true, model: "Cigna Dental PPO" });

    const started = await service.post("/v1/profiles/dental/backfill", { redeliver: true, only_outdated: true });
    expect(started.status).toBe(202);
    await until(() => service.get(`/v1/backfills/${started.body.backfill_id}`), (res) => res.body.state !== "running", SETTLE_MS);

    const view = (await state(callId, "delivered")).body;
    // The model's latest answer and the standing correction, both visible.
    expect(view.extracted_variables.insurance).toBe("Cigna Dental PPO");
    expect(view.reviewed).toMatchObject({ approved: true, corrected: ["insurance"], values: { insurance: "Cigna Dental PPO Plus" } });
    // Redelivered with the correction in place, not held for the flag on the corrected value.
    await crm.waitForRequests(2, SETTLE_MS);
    const [, redelivered] = bodiesFor(crm, callId);
    expect(redelivered.debrief).toMatchObject({ event: "call.reextracted", review: { needed: false }, reviewed: { corrected: ["insurance"] } });
    expect(redelivered.extracted_variables.insurance).toBe("Cigna Dental PPO Plus");

    const exported = await service.get("/v1/calls/export?profile=dental&format=eval");
    const line = String(exported.body)
      .split("\n")
      .filter(Boolean)
      .map((text) => JSON.parse(text))
      .find((entry) => entry.id === callId);
    expect(line).toMatchObject({ provisional: false, expected: { insurance: "Cigna Dental PPO Plus", visits: 2 } });
  });

  it("redelivers a re-extraction with the correction in place, and holds it only for a flag on a value nobody corrected", async () => {
    const callId = await correctedCall("uncorrected-flag");
    await state(callId, "delivered");
    await reload({ visitsDescription: "Visits booked (count each cleaning)" });
    answer({ insurance: "Cigna Dental PPO", visits: 3 }, { insurance: -3 });
    const quiet = await service.post(`/v1/calls/${callId}/reextract`, { redeliver: true });
    expect(quiet.body).toMatchObject({ held: false, event: 2, changed: ["visits"], corrections: { kept: ["insurance"], conflicts: [] } });
    expect(quiet.body.variables.insurance).toEqual({ before: "Cigna Dental PPO Plus", after: "Cigna Dental PPO Plus", changed: false, corrected: true, model: "Cigna Dental PPO" });
    await crm.waitForRequests(2, SETTLE_MS);
    const second = bodiesFor(crm, callId)[1];
    expect(second.extracted_variables).toMatchObject({ insurance: "Cigna Dental PPO Plus", visits: 3 });
    expect(second.debrief).toMatchObject({ event: "call.reextracted", review: { needed: false }, reviewed: { corrected: ["insurance"] } });

    // Now the model is unsure of the visits: that holds the call, and the hold names only the visits.
    await reload({ visitsDescription: "Visits booked (count each cleaning separately)" });
    answer({ insurance: "Cigna Dental PPO", visits: 4 }, { insurance: -3, visits: -3 });
    const held = await service.post(`/v1/calls/${callId}/reextract`, { redeliver: true });
    expect(held.body).toMatchObject({ held: true, event: 3 });
    const waiting = (await state(callId, "needs_review")).body;
    expect(waiting.review.fields).toEqual({ visits: ["low_confidence"] });
    expect(waiting.reviewed.values).toEqual({ insurance: "Cigna Dental PPO Plus" });

    expect((await service.post(`/v1/calls/${callId}/review`, { approve: true })).status).toBe(200);
    await crm.waitForRequests(3, SETTLE_MS);
    const third = bodiesFor(crm, callId)[2];
    expect(third.extracted_variables).toMatchObject({ insurance: "Cigna Dental PPO Plus", visits: 4 });
    expect(third.debrief).toMatchObject({ event: "call.reviewed", review: { needed: false }, reviewed: { corrected: ["insurance"] } });
  });

  it("holds the call when the variable's new definition refuses the correction, and keeps the correction until a reviewer replaces it", async () => {
    const callId = await correctedCall("conflict");
    await state(callId, "delivered");
    await reload({ insurance: { name: "insurance", type: "enum", options: ["cigna", "aetna", "none"], description: "The patient's insurer" } });
    answer({ insurance: "cigna", visits: 2 });

    const dryRun = await service.post(`/v1/calls/${callId}/reextract`, { dry_run: true });
    expect(dryRun.body.corrections).toMatchObject({ kept: [], conflicts: [{ path: "insurance", message: expect.any(String) }] });

    const held = await service.post(`/v1/calls/${callId}/reextract`, { redeliver: true });
    expect(held.body).toMatchObject({ held: true });
    const waiting = (await state(callId, "needs_review")).body;
    expect(waiting.reason).toMatch(/^correction_conflict: insurance/);
    expect(waiting.reviewed.values).toEqual({ insurance: "Cigna Dental PPO Plus" });

    const refused = await service.post(`/v1/calls/${callId}/review`, { approve: true });
    expect(refused.status).toBe(400);
    expect(refused.body.error.details).toEqual([expect.objectContaining({ path: "values.insurance" })]);
    expect((await service.get(`/v1/calls/${callId}`)).body.state).toBe("needs_review");

    expect((await service.post(`/v1/calls/${callId}/review`, { approve: true, values: { insurance: "cigna" } })).status).toBe(200);
    await crm.waitForRequests(2, SETTLE_MS);
    // The reviewer's new choice equals the model's: the old correction is withdrawn, and the model's value goes out.
    expect(bodiesFor(crm, callId)[1].extracted_variables.insurance).toBe("cigna");
  });

  it("delivers the correction again when a call is replayed after a destination's expression is fixed", async () => {
    const callId = await correctedCall("replay", "dental_sheets");
    // The sheets transform fails on every call (the summary is no number): the call is delivery_failed.
    await state(callId, "delivery_failed");
    await reload({ sheetsTransform: "{ 'insurance': extracted_variables.insurance }" });
    const replayed = await service.post(`/v1/calls/${callId}/retry`, {});
    expect(replayed.body).toMatchObject({ state: "accepted" });
    await sheets.waitForRequests(1, SETTLE_MS);
    expect(JSON.parse(sheets.requests[0]!.body)).toEqual({ insurance: "Cigna Dental PPO Plus" });
  });
});
