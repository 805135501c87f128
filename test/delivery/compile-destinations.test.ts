import { describe, expect, it } from "vitest";
import { compileDestinations, DEFAULT_RETRY_POLICY, DestinationsConfigSchema } from "../../src/delivery/index.js";
import { ConfigError } from "../../src/errors.js";
import { newSecret } from "./fixtures.js";

const secret = newSecret();

const issueExample = {
  crm: {
    url: "https://crm.example.com/hooks/calls",
    method: "POST",
    headers: { "X-API-Token": "${CRM_TOKEN}" },
    secret,
    when: "extracted_variables.status = true and duration > 60",
    transform: "{ 'phone': customer_phone, 'qualified': extracted_variables.qualified }",
    timeout_ms: 10000,
    retry: { max_attempts: 10, initial_delay_ms: 5000, max_delay_ms: 3600000 },
  },
};

function configError(raw: unknown, env: Record<string, string> = {}, path?: (string | number)[]): ConfigError {
  try {
    compileDestinations(raw, env, { path });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

describe("compileDestinations", () => {
  it("compiles the documented example with ${VAR} read from the environment", () => {
    expect(DestinationsConfigSchema.safeParse(issueExample).success).toBe(true);
    const crm = compileDestinations(issueExample, { CRM_TOKEN: "tok_123" }).get("crm")!;
    expect(crm).toMatchObject({
      name: "crm",
      url: "https://crm.example.com/hooks/calls",
      method: "POST",
      headers: { "X-API-Token": "tok_123" },
      secrets: [secret],
      timeoutMs: 10_000,
      retry: { maxAttempts: 10, backoff: { kind: "exponential", initialDelayMs: 5_000, maxDelayMs: 3_600_000 } },
    });
  });

  it("fills defaults: POST, a 15 s timeout, no secret and the day-long retry schedule", () => {
    const zap = compileDestinations({ zap: { url: "https://hooks.zapier.com/hooks/catch/1/abc/" } }, {}).get("zap")!;
    expect(zap).toMatchObject({ method: "POST", headers: {}, secrets: [], timeoutMs: 15_000, retry: DEFAULT_RETRY_POLICY });
    expect(DEFAULT_RETRY_POLICY.maxAttempts).toBe(8);
  });

  it("substitutes ${VAR} in URLs and secrets too", () => {
    const env = { N8N_HOST: "n8n.example.com", N8N_SECRET: secret };
    const n8n = compileDestinations({ n8n: { url: "https://${N8N_HOST}/webhook/calls", secret: "${N8N_SECRET}" } }, env).get("n8n")!;
    expect(n8n.url).toBe("https://n8n.example.com/webhook/calls");
    expect(n8n.secrets).toEqual([secret]);
  });

  it("names the header whose environment variable is missing", () => {
    expect(configError(issueExample).message).toContain("destinations.crm.headers.X-API-Token: environment variable CRM_TOKEN is not set");
    expect(configError(issueExample, { CRM_TOKEN: "" }).issues).toEqual([
      { path: "destinations.crm.headers.X-API-Token", message: "environment variable CRM_TOKEN is not set" },
    ]);
  });

  it("rejects a bad JSONata expression at start-up, naming its path", () => {
    const error = configError({ crm: { url: "https://crm.example.com", when: "duration >", transform: "{ 'a': }" } });
    expect(error.issues.map((issue) => issue.path)).toEqual(["destinations.crm.when", "destinations.crm.transform"]);
    expect(error.message).toMatch(/destinations\.crm\.when: invalid JSONata expression: .+ \(at character \d+\)/);
  });

  it("names unknown keys, wrong types and bad values by path, all at once", () => {
    const error = configError({
      crm: { url: "https://crm.example.com", retries: 3, timeout_ms: "10", method: "GET", retry: { max_attempt: 5 } },
      slack: { url: 42 },
    });
    const lines = error.issues.map((issue) => `${issue.path}: ${issue.message}`);
    expect(lines).toEqual(
      expect.arrayContaining([
        "destinations.crm.retries: unknown key; expected `url`, `method`, `headers`, `secret`, `when`, `transform`, `timeout_ms`, `retry`",
        "destinations.crm.retry.max_attempt: unknown key: did you mean `max_attempts`?",
        "destinations.crm.timeout_ms: Expected number, received string",
        expect.stringMatching(/^destinations\.crm\.method: Invalid enum value/),
        "destinations.slack.url: Expected string, received number",
      ]),
    );
  });

  it("rejects URLs that are not http(s), unparsable, or carry credentials", () => {
    const error = configError({
      a: { url: "ftp://files.example.com/x" },
      b: { url: "not a url" },
      c: { url: "https://user:pass@crm.example.com/" },
    });
    expect(error.issues).toEqual([
      { path: "destinations.a.url", message: "must be an https:// URL" },
      { path: "destinations.b.url", message: "is not a valid URL" },
      { path: "destinations.c.url", message: "must not contain credentials; send them in `headers` instead" },
    ]);
  });

  it("rejects unusable secrets without echoing them, naming the list index during a rotation", () => {
    const error = configError({ crm: { url: "https://crm.example.com", secret: [secret, "hunter2"] }, slack: { url: "https://x.example.com", secret: "whsec_c2hvcnQ=" } });
    expect(error.issues).toEqual([
      { path: "destinations.crm.secret[1]", message: 'must start with "whsec_" followed by a base64 key' },
      { path: "destinations.slack.secret", message: "the key is shorter than 16 bytes; generate at least 24 random bytes" },
    ]);
    expect(error.message).not.toContain("hunter2");
  });

  it("refuses headers Debrief sets itself, and invalid destination names", () => {
    const error = configError({ crm: { url: "https://crm.example.com", headers: { "Webhook-Signature": "x" } }, "bad name": { url: "https://x.example.com" } });
    expect(error.message).toContain("destinations.crm.headers.Webhook-Signature: is set by Debrief and cannot be configured");
    expect(error.message).toContain("destinations.bad name:");
  });

  it("rejects an initial delay longer than the maximum", () => {
    const error = configError({ crm: { url: "https://crm.example.com", retry: { initial_delay_ms: 10_000, max_delay_ms: 1_000 } } });
    expect(error.issues).toEqual([{ path: "destinations.crm.retry.max_delay_ms", message: "initial_delay_ms must not exceed max_delay_ms" }]);
  });

  it("prefixes paths with where the caller found the destinations", () => {
    const error = configError({ crm: { url: "https://crm.example.com", when: "(" } }, {}, ["profiles", 0, "destinations"]);
    expect(error.issues[0]!.path).toBe("profiles[0].destinations.crm.when");
  });

  it("accepts a missing destinations block as no destinations", () => {
    expect(compileDestinations(undefined, {}).size).toBe(0);
    expect(configError([]).message).toContain("destinations: must be an object of named destinations");
  });
});

describe("when and transform", () => {
  const payload = {
    id: 1,
    customer_phone: "+15555550123",
    duration: 125,
    extracted_variables: { status: true, qualified: false, summary: "Asked for a demo" },
  };
  const crm = compileDestinations(issueExample, { CRM_TOKEN: "t" }).get("crm")!;

  it("sends the call only when `when` yields true", async () => {
    expect(await crm.matches(payload)).toBe(true);
    expect(await crm.matches({ ...payload, duration: 30 })).toBe(false);
    expect(await crm.matches({ ...payload, extracted_variables: { ...payload.extracted_variables, status: false } })).toBe(false);
  });

  it("does not treat truthy non-boolean results as true", async () => {
    const loose = compileDestinations({ d: { url: "https://x.example.com", when: "extracted_variables.summary" } }, {}).get("d")!;
    expect(await loose.matches(payload)).toBe(false);
  });

  it("shapes the body with `transform`, and sends the payload itself without one", async () => {
    expect(await crm.render(payload)).toEqual({ phone: "+15555550123", qualified: false });
    const plain = compileDestinations({ d: { url: "https://x.example.com" } }, {}).get("d")!;
    expect(await plain.matches(payload)).toBe(true);
    expect(await plain.render(payload)).toBe(payload);
  });

  it("reports an expression that fails on a particular payload with its path", async () => {
    const failing = compileDestinations({ d: { url: "https://x.example.com", transform: "$error('no phone')" } }, {}).get("d")!;
    await expect(failing.render(payload)).rejects.toThrow("destinations.d.transform: evaluation failed: no phone");
    const empty = compileDestinations({ d: { url: "https://x.example.com", transform: "missing_field" } }, {}).get("d")!;
    await expect(empty.render(payload)).rejects.toThrow("destinations.d.transform: produced no value for this payload");
  });
});
