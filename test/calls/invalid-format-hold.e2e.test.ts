// A value that still breaks its pattern after the repair round is null with invalid_format, and a profile that holds
// calls for review holds it on that flag alone: the one flag raised on a null value still reaches review.needed, the
// hold, and the reviewer, who approves a corrected value that is delivered. A profile that does not count the flag
// delivers the null at once.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { autocallsPayload } from "../fixtures/calls.js";
import { answerFor, startFakeLlm, type FakeLlm } from "../support/fake-llm.js";
import { until } from "../support/poll.js";
import { startReceiver, type Receiver } from "../support/receiver.js";
import { startTestService, type TestService } from "../support/service.js";

const VARIABLES = [{ name: "order_ref", type: "string", pattern: "^[A-Z]{2}-\\d{4}$", description: "The order reference, two letters, a dash, four digits" }];

let llm: FakeLlm;
let crm: Receiver;
let service: TestService;

beforeAll(async () => {
  // The model keeps answering a reference that breaks the pattern, repair round included.
  llm = await startFakeLlm((request) => ({ json: answerFor(request, { status: true, summary: "Order status asked", order_ref: "order 12" }) }));
  crm = await startReceiver();
  const file = join(mkdtempSync(join(tmpdir(), "debrief-invalid-format-")), "debrief.json");
  writeFileSync(
    file,
    JSON.stringify({
      profiles: {
        held: { variables: VARIABLES, destinations: ["crm"], review: { hold: true, flags: ["invalid_format"] } },
        unheld: { variables: VARIABLES, destinations: ["crm"], review: { hold: true, flags: ["low_confidence"] } },
      },
      destinations: { crm: { url: crm.url } },
    }),
  );
  service = await startTestService({ OPENAI_BASE_URL: llm.url, DEBRIEF_CONFIG: file, DEBRIEF_ALLOW_PRIVATE_DESTINATIONS: "true", DEBRIEF_CACHE: "false" });
});
afterAll(async () => {
  await service?.close();
  await Promise.all([llm?.close(), crm?.close()]);
});

const post = async (profile: string, id: string) => {
  const accepted = await service.post(`/v1/calls?profile=${profile}`, autocallsPayload({ id, transcript: "AI: Your reference?\nCustomer: Order twelve, I think." }));
  expect(accepted.status).toBe(202);
  return accepted.body.call_id as string;
};

describe("invalid_format on a held profile", () => {
  it("holds the call on the flag of a null value, and delivers the reviewer's corrected value", async () => {
    const id = await post("held", "fmt-1");
    const held = await until(() => service.get(`/v1/calls/${id}`), (res) => res.body.state === "needs_review", 20_000);
    expect(held.body.extracted_variables.order_ref).toBeNull();
    expect(held.body.review).toEqual({ needed: true, fields: { order_ref: ["invalid_format"] } });
    expect(crm.requests).toHaveLength(0);

    const reviewed = await service.post(`/v1/calls/${id}/review`, { approve: true, values: { order_ref: "AB-1234" } });
    expect(reviewed.status).toBe(200);
    await crm.waitForRequests(1, 20_000);
    const delivered = JSON.parse(crm.requests[0]!.body);
    expect(delivered.extracted_variables.order_ref).toBe("AB-1234");
    expect(delivered.debrief).toMatchObject({ event: "call.reviewed", reviewed: { corrected: ["order_ref"] } });
  });

  it("refuses a correction that breaks the pattern too, naming it", async () => {
    const id = await post("held", "fmt-2");
    await until(() => service.get(`/v1/calls/${id}`), (res) => res.body.state === "needs_review", 20_000);
    const refused = await service.post(`/v1/calls/${id}/review`, { approve: true, values: { order_ref: "order 12" } });
    expect(refused.status).toBe(400);
    expect(refused.body.error.details.map((detail: { path: string }) => detail.path)).toEqual(["values.order_ref"]);
  });

  it("delivers the null at once where the profile does not count the flag", async () => {
    crm.requests.length = 0;
    const id = await post("unheld", "fmt-3");
    await until(() => service.get(`/v1/calls/${id}`), (res) => res.body.state === "delivered", 20_000);
    await crm.waitForRequests(1, 20_000);
    expect(JSON.parse(crm.requests[0]!.body).extracted_variables.order_ref).toBeNull();
  });
});
