import { describe, expect, it } from "vitest";
import { Webhook } from "standardwebhooks";
import { webhookHeaders } from "../../src/delivery/signing.js";
import { newSecret } from "./fixtures.js";

describe("webhookHeaders", () => {
  it.each([
    ["a JSON body", '{"call_id":"call_1","extracted_variables":{"budget":4000}}'],
    ["unicode and NUL", '{"text":"Zoë says \\u0000 😀 ok"}'],
    ["an empty body", ""],
  ])("signs %s exactly as the Standard Webhooks library does, so its receivers verify it", (_name, body) => {
    const secrets = [newSecret(), newSecret()];
    const timestampMs = Date.UTC(2026, 5, 12, 14, 22, 5, 731);
    const headers = webhookHeaders({ webhookId: "msg_abc", timestampMs, body, secrets });
    const expected = secrets.map((secret) => new Webhook(secret).sign("msg_abc", new Date(timestampMs), body)).join(" ");
    expect(headers["webhook-signature"]).toBe(expected);
    expect(headers["webhook-timestamp"]).toBe(String(Math.floor(timestampMs / 1000)));
  });
});
