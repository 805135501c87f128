// Which scope a request needs, matched the way the router matches it; an operation nobody declared needs admin.
import { describe, expect, it } from "vitest";
import { allows, environmentKey, requirementOf, sha256 } from "../../src/access/index.js";

describe("requirementOf", () => {
  it.each([
    ["GET", "/v1/calls", "calls:read"],
    ["GET", "/v1/calls/export", "calls:read"],
    ["GET", "/v1/calls/call_123", "calls:read"],
    ["GET", "/v1/calls/call_123/", "calls:read"],
    ["HEAD", "/v1/calls/call_123", "calls:read"],
    ["POST", "/v1/calls", "calls:write"],
    ["POST", "/v1/calls/call_123/review", "calls:review"],
    ["POST", "/v1/calls/call_123/reextract", "calls:reanalyze"],
    ["POST", "/v1/profiles/dental/backfill", "calls:reanalyze"],
    ["POST", "/v1/destinations/crm/test", "destinations"],
    ["POST", "/v1/admin/reload", "admin"],
    ["GET", "/v1/me", "any"],
    ["DELETE", "/v1/calls/call_123", "admin"],
    ["GET", "/v1/something-new", "admin"],
  ])("%s %s needs %s", (method, path, requirement) => {
    expect(requirementOf(method, path)).toBe(requirement);
  });
});

describe("keys", () => {
  it("names a DEBRIEF_API_KEYS key by its digest's first 8 hex digits, never the key, and lets it do everything", () => {
    const key = environmentKey("dbr_live_4f9a1c2e7b3d8e6f0a5c9b1d");
    expect(key.name).toBe(`api-key:${sha256("dbr_live_4f9a1c2e7b3d8e6f0a5c9b1d").toString("hex").slice(0, 8)}`);
    expect(allows(key, "calls:review")).toBe(true);
    expect(key.profiles).toBeUndefined();
  });

  it("lets a scoped key do only what its scopes say", () => {
    const key = { name: "crm", sha256: sha256("x"), scopes: ["calls:read"] as const };
    expect(allows(key, "calls:read")).toBe(true);
    expect(allows(key, "any")).toBe(true);
    expect(allows(key, "calls:review")).toBe(false);
    expect(allows(key, "admin")).toBe(false);
  });
});
