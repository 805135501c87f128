import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compilePipelineConfig, loadPipelineConfig } from "../../src/calls/index.js";
import { ConfigError } from "../../src/delivery/index.js";

const limits = { maxVariables: 200, maxDescriptionChars: 2000 };
const SECRET = `whsec_${Buffer.from("0123456789abcdef0123").toString("base64")}`;

const valid = {
  profiles: {
    booking: {
      system_prompt: "Book HVAC visits.",
      variables: [{ name: "appointment_date", type: "date", description: "The booked date" }],
      destinations: ["crm"],
    },
  },
  destinations: {
    crm: {
      url: "https://crm.example.com/hooks/${CRM_PATH}",
      headers: { "X-API-Token": "${CRM_TOKEN}" },
      secret: SECRET,
      when: "extracted_variables.status = true and duration > 60",
      transform: "{ 'phone': customer_phone }",
    },
  },
};
const env = { CRM_TOKEN: "t0k3n", CRM_PATH: "calls" };

function issuesOf(raw: unknown, environment: Record<string, string> = env): string[] {
  try {
    compilePipelineConfig(raw, environment, limits);
  } catch (error) {
    if (error instanceof ConfigError) return error.issues.map((issue) => `${issue.path}: ${issue.message}`);
    throw error;
  }
  return [];
}

describe("pipeline configuration", () => {
  it("compiles profiles with their destinations, defaults and environment values", () => {
    const config = compilePipelineConfig(valid, env, limits);
    const booking = config.profiles.get("booking")!;
    expect(booking.sendOnlyOnCompleted).toBe(true);
    expect(booking.includeRecording).toBe(true);
    expect(booking.destinations.map((d) => d.name)).toEqual(["crm"]);
    expect(booking.destinations[0]!.url).toBe("https://crm.example.com/hooks/calls");
    expect(booking.destinations[0]!.headers["X-API-Token"]).toBe("t0k3n");
    expect(config.extractionRetry.maxAttempts).toBe(30);
  });

  it.each([
    ["a profile naming an unknown destination", { ...valid, profiles: { booking: { ...valid.profiles.booking, destinations: ["crm", "slack"] } } }, "profiles.booking.destinations[1]"],
    ["a bad variable in a profile", { ...valid, profiles: { booking: { ...valid.profiles.booking, variables: [{ name: "Budget", type: "number", description: "b" }] } } }, "profiles.booking.variables[0].name"],
    ["an unknown key", { ...valid, profiles: { booking: { ...valid.profiles.booking, send_only_completed: true } } }, "profiles.booking"],
    ["a bad JSONata expression", { ...valid, destinations: { crm: { ...valid.destinations.crm, when: "extracted_variables.status = " } } }, "destinations.crm.when"],
    ["a wrong type", { ...valid, destinations: { crm: { ...valid.destinations.crm, timeout_ms: "fast" } } }, "destinations.crm.timeout_ms"],
    ["a bad time zone", { ...valid, profiles: { booking: { ...valid.profiles.booking, timezone: "Mars/Olympus" } } }, "profiles.booking.timezone"],
    ["no profiles at all", { destinations: {} }, "profiles"],
  ])("rejects %s, naming the path", (_name, raw, path) => {
    expect(issuesOf(raw).some((issue) => issue.startsWith(path))).toBe(true);
  });

  it("rejects a header that names an environment variable that is not set", () => {
    expect(issuesOf(valid, { CRM_PATH: "calls" })).toEqual([expect.stringMatching(/^destinations\.crm\.headers\.X-API-Token: .*CRM_TOKEN/)]);
  });

  it("reads YAML as well as JSON, and names the file when it cannot be parsed", () => {
    const dir = mkdtempSync(join(tmpdir(), "debrief-config-"));
    writeFileSync(join(dir, "a.yaml"), "profiles:\n  quick:\n    variables: []\n    send_only_on_completed: false\n");
    expect(loadPipelineConfig(join(dir, "a.yaml"), env, limits).profiles.get("quick")!.sendOnlyOnCompleted).toBe(false);
    writeFileSync(join(dir, "b.json"), "{ not json");
    expect(() => loadPipelineConfig(join(dir, "b.json"), env, limits)).toThrow(/b\.json: is not valid JSON/);
    expect(() => loadPipelineConfig(join(dir, "missing.json"), env, limits)).toThrow(/missing\.json: cannot be read/);
  });
});
