import { describe, expect, it } from "vitest";
import { Webhook } from "standardwebhooks";
import { webhookHeaders, webhookIdFor } from "../../src/delivery/signing.js";
import { newSecret } from "./fixtures.js";

describe("webhookIdFor", () => {
  it("gives a call's first event the id deliveries always had (receivers deduplicate on it), and each later event its own", () => {
    // Frozen: the id of (call_1, crm) before deliveries had events.
    expect(webhookIdFor("call_1", "crm")).toBe("msg_c152bafb3b9c6a84bbea124559a36653");
    expect(webhookIdFor("call_1", "crm", 1)).toBe("msg_c152bafb3b9c6a84bbea124559a36653");
    const later = [2, 3].map((event) => webhookIdFor("call_1", "crm", event));
    expect(new Set([webhookIdFor("call_1", "crm"), ...later, webhookIdFor("call_1", "slack", 2)]).size).toBe(4);
    expect(later[0]).toMatch(/^msg_[0-9a-f]{32}$/);
  });
});

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
