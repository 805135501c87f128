// The README's worked order, delivered: its profile and destination as the README writes them, a call posted and
// extracted through the loopback LLM, the destination's `when` and `transform` reading nested values (a list of
// objects, an object's field), and the body the receiver got equal to the README's.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { autocallsPayload } from "../fixtures/calls.js";
import { answerFor, startFakeLlm, type FakeLlm } from "../support/fake-llm.js";
import { until } from "../support/poll.js";
import { startReceiver, type Receiver } from "../support/receiver.js";
import { startTestService, type TestService } from "../support/service.js";

const section = readFileSync(new URL("../../README.md", import.meta.url), "utf8").split("A worked example, an order with line items.")[1]!;
const [request, , config, delivered] = [...section.matchAll(/```json\n([\s\S]*?)```/g)].slice(0, 4).map((match) => JSON.parse(match[1]!));

/** What the model answers for each call, by a word in its transcript: the README's order, or one thermostat. */
const ORDERS: Record<string, Record<string, unknown>> = {
  FILTERS: {
    customer_email: "ana@Example.com",
    phone: "(312) 555-0197",
    line_items: [
      { sku: "NT-450", product: "NT-450 filter", quantity: 2 },
      { sku: null, product: "thermostat", quantity: 1 },
    ],
  },
  THERMOSTAT: { customer_email: "bo@example.com", phone: null, line_items: [{ sku: null, product: "thermostat", quantity: 1 }] },
};

let llm: FakeLlm;
let erp: Receiver;
let service: TestService;

beforeAll(async () => {
  llm = await startFakeLlm((req) => {
    const word = JSON.stringify(req.body.messages).includes("THERMOSTAT call") ? "THERMOSTAT" : "FILTERS";
    return { json: answerFor(req, { status: true, summary: "An order.", order: ORDERS[word], delivery_time: "09:00" }) };
  });
  erp = await startReceiver();
  // The README's file, with the request's variables in the profile and the receiver's address for the ERP's.
  config.profiles.parts.variables = request.variables;
  config.destinations.erp.url = erp.url;
  const file = join(mkdtempSync(join(tmpdir(), "debrief-worked-order-")), "debrief.json");
  writeFileSync(file, JSON.stringify(config));
  service = await startTestService({ OPENAI_BASE_URL: llm.url, DEBRIEF_CONFIG: file, DEBRIEF_ALLOW_PRIVATE_DESTINATIONS: "true", DEBRIEF_LLM_MAX_RETRIES: "0" });
});
afterAll(async () => {
  await service?.close();
  await llm?.close();
  await erp?.close();
});

describe("the README's worked order, through a profile", () => {
  it("delivers the order in the destination's shape, its when reading the list's quantities", async () => {
    const posted = await service.post("/v1/calls?profile=parts", autocallsPayload({ id: "order-1", transcript: "AI: What can I get you?\nCustomer: The FILTERS call: two NT-450 filters and a thermostat." }));
    expect(posted.status).toBe(202);
    await erp.waitForRequests(1, 20_000);
    expect(JSON.parse(erp.requests[0]!.body)).toEqual(delivered);
    expect(erp.requests[0]!.headers["content-type"]).toContain("application/json");
  });

  it("does not send a one-item order, and says why", async () => {
    const posted = await service.post("/v1/calls?profile=parts", autocallsPayload({ id: "order-2", transcript: "AI: What can I get you?\nCustomer: The THERMOSTAT call: one thermostat." }));
    const call = await until(
      () => service.get(`/v1/calls/${posted.body.call_id}`),
      (res) => res.body.state === "extracted",
      20_000,
    );
    expect(call.body.extracted_variables.order.line_items).toEqual([{ sku: null, product: "thermostat", quantity: 1 }]);
    expect(call.body.destinations).toEqual([
      expect.objectContaining({ destination: "erp", fate: "skipped", reason: expect.objectContaining({ code: "when_false" }) }),
    ]);
    expect(erp.requests).toHaveLength(1);
  });
});
