// Re-extracting a call: free when the profile has not changed, a per-variable diff before paying, the history kept,
// and a redelivery as a new event (new webhook-id, `call.reextracted`, the values the CRM had before).
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { webhookIdFor } from "../../src/delivery/index.js";
import { autocallsPayload } from "../fixtures/calls.js";
import { answerFor, startFakeLlm, type FakeLlm, type RecordedRequest } from "../support/fake-llm.js";
import { until } from "../support/poll.js";
import { startReceiver, type Receiver } from "../support/receiver.js";
import { startTestService, type TestService } from "../support/service.js";

let llm: FakeLlm;
let crm: Receiver;
let slack: Receiver;
const services: TestService[] = [];
/** Bounds the waits for background work (generous: a loaded CI machine is slow, and a pass returns as soon as it holds). */
const SETTLE_MS = 30_000;

const answer = (plan: string) => (request: RecordedRequest) => ({ json: answerFor(request, { status: true, summary: "Demo booked", plan }) });

function writeConfig(file: string, description = "The plan the customer wants a demo of") {
  writeFileSync(
    file,
    JSON.stringify({
      profiles: {
        booking: {
          system_prompt: "Book product demos.",
          variables: [{ name: "plan", type: "enum", options: ["basic", "pro"], description }],
          destinations: ["crm", "slack_qualified"],
        },
      },
      destinations: {
        crm: { url: crm.url },
        slack_qualified: { url: slack.url, when: "extracted_variables.plan = 'basic'" },
      },
    }),
  );
}

async function start(dataDir: string, config: string) {
  const service = await startTestService({
    OPENAI_BASE_URL: llm.url,
    DEBRIEF_CONFIG: config,
    DEBRIEF_DATA_DIR: dataDir,
    DEBRIEF_ALLOW_PRIVATE_DESTINATIONS: "true",
    DEBRIEF_LLM_MAX_RETRIES: "0",
  });
  services.push(service);
  return service;
}

/** A service with one call extracted and delivered to the CRM. */
async function deliveredCall() {
  const dir = mkdtempSync(join(tmpdir(), "debrief-reextract-"));
  const config = join(dir, "debrief.json");
  writeConfig(config);
  const dataDir = join(dir, "data");
  const service = await start(dataDir, config);
  const accepted = await service.post("/v1/calls?profile=booking", autocallsPayload());
  const callId: string = accepted.body.call_id;
  await until(() => service.get(`/v1/calls/${callId}`), (res) => res.body.state === "delivered", SETTLE_MS);
  return { service, callId, config, dataDir };
}

beforeAll(async () => {
  [llm, crm, slack] = await Promise.all([startFakeLlm(answer("pro")), startReceiver(), startReceiver()]);
});
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.close()));
  llm.requests.length = 0;
  llm.script = answer("pro");
  crm.requests.length = 0;
  slack.requests.length = 0;
});
afterAll(async () => {
  await Promise.all([llm.close(), crm.close(), slack.close()]);
});

describe("POST /v1/calls/{id}/reextract", { timeout: 120_000 }, () => {
  it("costs no LLM call when the profile has not changed, and keeps each stored extraction in the call's history", async () => {
    const { service, callId } = await deliveredCall();
    expect(llm.requests).toHaveLength(1);
    const first = await service.get(`/v1/calls/${callId}`);
    expect(first.body.extraction).toMatchObject({ profile_version: expect.stringMatching(/^[0-9a-f]{12}$/), current: true });
    expect(first.body.extraction.history).toEqual([expect.objectContaining({ seq: 1, trigger: "live", event: 1, changed: null })]);

    const dry = await service.post(`/v1/calls/${callId}/reextract`, { dry_run: true });
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({
      call_id: callId,
      dry_run: true,
      stored: false,
      event: null,
      changed: [],
      profile_version: first.body.extraction.profile_version,
      variables: { plan: { before: "pro", after: "pro", changed: false } },
      usage: { prompt_tokens: 0, completion_tokens: 0, cached: true },
    });
    const stored = await service.post(`/v1/calls/${callId}/reextract`, {});
    expect(stored.body).toMatchObject({ stored: true, event: null, changed: [] });
    expect(llm.requests).toHaveLength(1);

    const after = await service.get(`/v1/calls/${callId}`);
    expect(after.body.extraction.history.map((entry: { seq: number; trigger: string; event: number | null }) => [entry.seq, entry.trigger, entry.event])).toEqual([
      [2, "api", null],
      [1, "live", 1],
    ]);
    expect(after.body.extraction.history[0].changed).toEqual([]);
    // Not redelivered: the CRM heard of the call once.
    expect(crm.requests).toHaveLength(1);
  });

  it("after a profile change: a dry run shows each variable before and after and stores nothing; a redelivery is a new event with a new webhook-id and the values sent before", async () => {
    const first = await deliveredCall();
    const extracted = JSON.parse(crm.requests[0]!.body);
    expect(extracted.debrief).toMatchObject({ event: "call.extracted", profile_version: expect.any(String) });
    expect(extracted.debrief).not.toHaveProperty("previous_values");
    // Event 1 keeps the webhook-id deliveries had before events existed: receivers already deduplicate on it.
    expect(crm.requests[0]!.headers["webhook-id"]).toBe(webhookIdFor(first.callId, "crm"));
    await first.service.close();

    writeConfig(first.config, "The plan the customer chose; basic when unsure");
    const service = await start(first.dataDir, first.config);
    llm.script = answer("basic");
    const before = await service.get(`/v1/calls/${first.callId}`);
    expect(before.body.extraction).toMatchObject({ current: false });
    expect(before.body.extraction.current_profile_version).not.toBe(before.body.extraction.profile_version);

    const dry = await service.post(`/v1/calls/${first.callId}/reextract`, { dry_run: true });
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({
      stored: false,
      changed: ["plan"],
      profile_version: before.body.extraction.current_profile_version,
      variables: { plan: { before: "pro", after: "basic", changed: true }, summary: { changed: false } },
      usage: { cached: false },
    });
    expect(dry.body.usage.prompt_tokens).toBeGreaterThan(0);
    expect(llm.requests).toHaveLength(2);
    expect((await service.get(`/v1/calls/${first.callId}`)).body.extraction.history).toHaveLength(1);

    const redelivered = await service.post(`/v1/calls/${first.callId}/reextract`, { redeliver: true });
    expect(redelivered.body).toMatchObject({ stored: true, event: 2, changed: ["plan"] });
    await crm.waitForRequests(2, SETTLE_MS);
    const again = crm.requests[1]!;
    expect(again.headers["webhook-id"]).toBe(webhookIdFor(first.callId, "crm", 2));
    expect(again.headers["webhook-id"]).not.toBe(crm.requests[0]!.headers["webhook-id"]);
    const body = JSON.parse(again.body);
    expect(body.extracted_variables).toMatchObject({ plan: "basic" });
    expect(body.debrief).toMatchObject({
      event: "call.reextracted",
      previous_values: { status: true, summary: "Demo booked", plan: "pro" },
      profile_version: before.body.extraction.current_profile_version,
    });
    // Slack's `when` holds for the new values: the re-extraction reaches it, as its own first delivery of the call.
    await slack.waitForRequests(1, SETTLE_MS);

    const after = await until(() => service.get(`/v1/calls/${first.callId}`), (res) => res.body.state === "delivered", SETTLE_MS);
    expect(after.body.extracted_variables).toMatchObject({ plan: "basic" });
    expect(after.body.extraction).toMatchObject({ current: true, profile_version: before.body.extraction.current_profile_version });
    expect(after.body.extraction.history).toEqual([
      expect.objectContaining({ seq: 2, trigger: "api", event: 2, changed: ["plan"], extracted_variables: expect.objectContaining({ plan: "basic" }) }),
      expect.objectContaining({ seq: 1, trigger: "live", event: 1, extracted_variables: expect.objectContaining({ plan: "pro" }) }),
    ]);
    const crmDeliveries = after.body.destinations.find((d: { destination: string }) => d.destination === "crm").deliveries;
    expect(crmDeliveries.map((d: { event: number; status: string }) => [d.event, d.status])).toEqual([
      [1, "delivered"],
      [2, "delivered"],
    ]);
  });

  it("answers 404 for an unknown call, 409 for one not extracted, and 400 naming a bad or unknown field", async () => {
    const { service, callId } = await deliveredCall();
    const unknown = await service.post("/v1/calls/call_nope/reextract", {});
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe("not_found");

    const skipped = await service.post("/v1/calls?profile=booking", autocallsPayload({ id: 99, status: "no-answer" }));
    expect(skipped.body.state).toBe("skipped");
    const conflict = await service.post(`/v1/calls/${skipped.body.call_id}/reextract`, {});
    expect(conflict.status).toBe(409);
    expect(conflict.body.error).toMatchObject({ code: "call_not_extracted", message: expect.stringContaining("skipped") });

    const badType = await service.post(`/v1/calls/${callId}/reextract`, { dry_run: "yes" });
    expect(badType.status).toBe(400);
    expect(badType.body.error.details).toEqual([expect.objectContaining({ path: "dry_run" })]);
    const unknownKey = await service.post(`/v1/calls/${callId}/reextract`, { dryrun: true });
    expect(unknownKey.status).toBe(400);
    expect(unknownKey.body.error.details).toEqual([expect.objectContaining({ path: "dryrun", message: expect.stringContaining("dry_run") })]);
    expect(llm.requests).toHaveLength(1);
  });
});
