// `extract: when_routed`: a call no destination would receive is stored as skipped without asking the LLM.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { autocallsPayload } from "../fixtures/calls.js";
import { answerFor, startFakeLlm, type FakeLlm } from "../support/fake-llm.js";
import { until } from "../support/poll.js";
import { startReceiver, type Receiver } from "../support/receiver.js";
import { startTestService, type TestService } from "../support/service.js";

let llm: FakeLlm;
let crm: Receiver;
let service: TestService;

beforeAll(async () => {
  [llm, crm] = await Promise.all([startFakeLlm((request) => ({ json: answerFor(request, { status: true, summary: "Booked" }) })), startReceiver()]);
  const config = join(mkdtempSync(join(tmpdir(), "debrief-when-routed-")), "debrief.json");
  writeFileSync(
    config,
    JSON.stringify({
      profiles: {
        routed: { variables: [], destinations: ["long_calls"], extract: "when_routed" },
        always: { variables: [], destinations: ["long_calls"] },
      },
      destinations: { long_calls: { url: crm.url, when: "debrief.call.duration_s > 60" } },
    }),
  );
  service = await startTestService({ OPENAI_BASE_URL: llm.url, DEBRIEF_CONFIG: config, DEBRIEF_ALLOW_PRIVATE_DESTINATIONS: "true", DEBRIEF_RATE_LIMIT: "0", DEBRIEF_CACHE: "false" });
});
afterAll(async () => {
  await service.close();
  await Promise.all([llm.close(), crm.close()]);
});

describe("extract: when_routed", () => {
  it("stores a call no destination would receive as skipped, with no LLM call", async () => {
    const accepted = await service.post("/v1/calls?profile=routed", autocallsPayload({ id: "short-routed", duration: 30 }));
    expect(accepted.status).toBe(202);
    expect(accepted.body.state).toBe("skipped");
    const call = (await service.get(`/v1/calls/${accepted.body.call_id}`)).body;
    expect(call).toMatchObject({ state: "skipped", reason: "no_destination_applies" });
    expect(llm.requests).toHaveLength(0);
  });

  it("extracts and delivers a call a destination will receive", async () => {
    const accepted = await service.post("/v1/calls?profile=routed", autocallsPayload({ id: "long-routed", duration: 125 }));
    expect(accepted.body.state).toBe("accepted");
    await until(() => service.get(`/v1/calls/${accepted.body.call_id}`), (res) => res.body.state === "delivered", 15_000);
    expect(llm.requests).toHaveLength(1);
  });

  it("pays for the short call under extract: always, as before, and says why nothing was sent", async () => {
    const before = llm.requests.length;
    const accepted = await service.post("/v1/calls?profile=always", autocallsPayload({ id: "short-always", duration: 30 }));
    const call = await until(() => service.get(`/v1/calls/${accepted.body.call_id}`), (res) => res.body.state === "extracted", 15_000);
    expect(llm.requests).toHaveLength(before + 1);
    expect(call.body.destinations[0].reason).toEqual({ code: "when_false", message: "when debrief.call.duration_s > 60 was not true; it read debrief.call.duration_s = 30" });
  });
});
