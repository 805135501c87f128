// What a call's extraction cost: on the call, in its history, in its deliveries and in the metrics under its profile.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { autocallsPayload } from "../fixtures/calls.js";
import { answerFor, startFakeLlm, type FakeLlm } from "../support/fake-llm.js";
import { parseExposition } from "../support/metrics.js";
import { startReceiver, type Receiver } from "../support/receiver.js";
import { startTestService, type TestService } from "../support/service.js";
import { until } from "../support/poll.js";

// gpt-4o-mini at $0.15 / $0.60 per 1M tokens: 2,000 prompt and 100 completion tokens.
const COST = 0.00036;

let llm: FakeLlm;
let crm: Receiver;
let service: TestService;
let configFile: string;
const PLAN = { name: "plan", type: "enum", options: ["basic", "pro"], description: "The plan the customer wants a demo of" };
const configure = (bookingVariables: unknown[]) =>
  writeFileSync(
    configFile,
    JSON.stringify({
      profiles: {
        booking: { variables: bookingVariables, destinations: ["crm"] },
        local: { model: "llama3.1:8b", variables: [{ name: "plan", type: "string", description: "The plan" }], destinations: ["crm"] },
      },
      destinations: { crm: { url: crm.url } },
    }),
  );

beforeAll(async () => {
  llm = await startFakeLlm((request) => ({ json: answerFor(request, { status: true, summary: "Demo booked", plan: "pro" }), usage: { prompt_tokens: 2_000, completion_tokens: 100 } }));
  crm = await startReceiver();
  configFile = join(mkdtempSync(join(tmpdir(), "debrief-cost-")), "debrief.json");
  configure([PLAN]);
  service = await startTestService({ OPENAI_BASE_URL: llm.url, DEBRIEF_CONFIG: configFile, DEBRIEF_CACHE: "false", DEBRIEF_ALLOW_PRIVATE_DESTINATIONS: "true", DEBRIEF_LLM_MAX_RETRIES: "0" });
});
afterAll(async () => {
  await service.close();
  await Promise.all([llm.close(), crm.close()]);
});

describe("a call's cost", () => {
  it("is on the call, in its extraction history, in debrief.cost_usd of its delivery, and counted under its profile", async () => {
    const accepted = await service.post("/v1/calls?profile=booking", autocallsPayload());
    expect(accepted.status).toBe(202);
    await crm.waitForRequests(1);
    const delivered = JSON.parse(crm.requests[0]!.body);
    expect(delivered.debrief).toMatchObject({ profile: "booking", model: "gpt-4o-mini", cost_usd: COST });

    const call = await service.get(`/v1/calls/${accepted.body.call_id}`);
    expect(call.body.meta).toMatchObject({ usage: { prompt_tokens: 2_000, completion_tokens: 100 }, cost_usd: COST });
    expect(call.body.extraction.history[0].meta.cost_usd).toBe(COST);
    expect(call.body.extraction.cost_usd).toBe(COST);
    expect(call.body.extraction.history[0].cost_usd).toBe(COST);

    const series = parseExposition(String((await service.get("/metrics")).body));
    expect(series.get('debrief_llm_tokens_total{type="prompt",profile="booking",model="gpt-4o-mini"}')).toBe(2_000);
    expect(series.get('debrief_llm_cost_usd_total{profile="booking",model="gpt-4o-mini"}')).toBeCloseTo(COST, 12);
  });

  it("is summed over a backfill's re-extractions, and said by a single re-extraction", async () => {
    // A new variable: a new version of the profile, so the backfill re-extracts booking's calls.
    configure([PLAN, { name: "seats", type: "integer", description: "How many seats" }]);
    expect(service.service.reload()).toMatchObject({ ok: true });
    const started = await service.post("/v1/profiles/booking/backfill", { only_outdated: true });
    expect(started.status).toBe(202);
    const done = await until(() => service.get(`/v1/backfills/${started.body.backfill_id}`), (res) => res.body.state === "done", 20_000);
    expect(done.body).toMatchObject({ total: started.body.total, failed: 0, tokens: { prompt_tokens: 2_000 * started.body.total } });
    expect(done.body.cost_usd).toBeCloseTo(COST * started.body.total, 9);

    // Re-extracted again under the same version: nothing is sent to the LLM, and it costs 0.
    const calls = await service.get("/v1/calls?profile=booking");
    const again = await service.post(`/v1/calls/${calls.body.calls[0].call_id}/reextract`, {});
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ cost_usd: 0, usage: { cached: true } });
    // A new version again: a single re-extraction costs what its LLM call did.
    configure([PLAN]);
    expect(service.service.reload()).toMatchObject({ ok: true });
    const priced = await service.post(`/v1/calls/${calls.body.calls[0].call_id}/reextract`, { dry_run: true });
    expect(priced.body).toMatchObject({ cost_usd: COST, usage: { prompt_tokens: 2_000, completion_tokens: 100, cached: false } });
  });

  it("is null for a profile whose model the price table does not know", async () => {
    const before = crm.requests.length;
    const accepted = await service.post("/v1/calls?profile=local", autocallsPayload({ id: 777 }));
    expect(accepted.status).toBe(202);
    await crm.waitForRequests(before + 1);
    const delivered = JSON.parse(crm.requests.at(-1)!.body);
    expect(delivered.debrief).toMatchObject({ profile: "local", model: "llama3.1:8b", cost_usd: null });
    const call = await until(() => service.get(`/v1/calls/${accepted.body.call_id}`), (res) => res.body.meta !== null);
    expect(call.body.meta.cost_usd).toBeNull();
  });
});
