import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compilePipelineConfig, loadPipelineConfig } from "../../src/configuration/index.js";
import { ConfigError } from "../../src/errors.js";

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

function issuesOf(raw: unknown, environment: Record<string, string> = env, allowPrivate = false): string[] {
  try {
    compilePipelineConfig(raw, environment, limits, { allowPrivate });
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
    // Evidence is asked for unless a profile turns it off; numbers without a country code have no region to read them in.
    expect(booking).toMatchObject({ evidence: true, defaultRegion: undefined });
    const tuned = compilePipelineConfig({ ...valid, profiles: { booking: { ...valid.profiles.booking, evidence: false, default_region: "GB" } } }, env, limits);
    expect(tuned.profiles.get("booking")).toMatchObject({ evidence: false, defaultRegion: "GB" });
  });

  it.each([
    ["a profile naming an unknown destination", { ...valid, profiles: { booking: { ...valid.profiles.booking, destinations: ["crm", "slack"] } } }, "profiles.booking.destinations[1]"],
    ["a bad variable in a profile", { ...valid, profiles: { booking: { ...valid.profiles.booking, variables: [{ name: "Budget", type: "number", description: "b" }] } } }, "profiles.booking.variables[0].name"],
    ["an unknown key", { ...valid, profiles: { booking: { ...valid.profiles.booking, send_only_completed: true } } }, "profiles.booking"],
    ["a bad JSONata expression", { ...valid, destinations: { crm: { ...valid.destinations.crm, when: "extracted_variables.status = " } } }, "destinations.crm.when"],
    ["a wrong type", { ...valid, destinations: { crm: { ...valid.destinations.crm, timeout_ms: "fast" } } }, "destinations.crm.timeout_ms"],
    ["a bad time zone", { ...valid, profiles: { booking: { ...valid.profiles.booking, timezone: "Mars/Olympus" } } }, "profiles.booking.timezone"],
    ["a region that is not ISO 3166-1 alpha-2", { ...valid, profiles: { booking: { ...valid.profiles.booking, default_region: "USA" } } }, "profiles.booking.default_region"],
    ["a region in lower case", { ...valid, profiles: { booking: { ...valid.profiles.booking, default_region: "us" } } }, "profiles.booking.default_region"],
    ["a region without numbering data", { ...valid, profiles: { booking: { ...valid.profiles.booking, default_region: "XX" } } }, "profiles.booking.default_region"],
    ["evidence that is not a boolean", { ...valid, profiles: { booking: { ...valid.profiles.booking, evidence: "yes" } } }, "profiles.booking.evidence"],
    ["no profiles at all", { destinations: {} }, "profiles"],
  ])("rejects %s, naming the path", (_name, raw, path) => {
    expect(issuesOf(raw).some((issue) => issue.startsWith(path))).toBe(true);
  });

  it("reads a profile's source, inbound secret and token from the environment, and its gates", () => {
    const raw = {
      ...valid,
      profiles: {
        booking: {
          ...valid.profiles.booking,
          source: "retell",
          inbound: { secret: "${RETELL_API_KEY}", url_token: "${BOOKING_TOKEN}" },
          min_duration_s: 30,
          min_customer_turns: 2,
          skip_ended_reasons: ["voicemail_reached"],
        },
      },
    };
    const booking = compilePipelineConfig(raw, { ...env, RETELL_API_KEY: "key_abc", BOOKING_TOKEN: "0123456789abcdef0123" }, limits).profiles.get("booking")!;
    expect(booking).toMatchObject({
      source: "retell",
      inbound: { secret: "key_abc", urlToken: "0123456789abcdef0123" },
      gates: { minDurationS: 30, minCustomerTurns: 2, skipEndedReasons: ["voicemail_reached"] },
    });
    expect(compilePipelineConfig(valid, env, limits).profiles.get("booking")).toMatchObject({ source: "auto", gates: { skipEndedReasons: [] } });
    expect(compilePipelineConfig(valid, env, limits).profiles.get("booking")!.inbound).toBeUndefined();
  });

  it.each([
    ["an unknown source", { source: "twilio" }, "profiles.booking.source"],
    ["an inbound block with neither secret nor token", { inbound: {} }, "profiles.booking.inbound"],
    ["an inbound secret whose variable is not set", { inbound: { secret: "${VAPI_SECRET}" } }, "profiles.booking.inbound.secret: environment variable VAPI_SECRET is not set"],
    ["a URL token short enough to guess", { inbound: { url_token: "abc123" } }, "profiles.booking.inbound.url_token: must be at least 16 characters"],
    ["a negative minimum duration", { min_duration_s: -1 }, "profiles.booking.min_duration_s"],
  ])("rejects %s, naming the path", (_name, profile, expected) => {
    const issues = issuesOf({ ...valid, profiles: { booking: { ...valid.profiles.booking, ...profile } } });
    expect(issues.some((issue) => issue.startsWith(expected))).toBe(true);
    expect(issues.join("\n")).not.toContain("abc123");
  });

  it("reads a profile's review settings; without them every flag counts, the request's min_confidence applies, and nothing is held", () => {
    const raw = { ...valid, profiles: { booking: { ...valid.profiles.booking, review: { min_confidence: 0.8, flags: ["low_confidence", "ungrounded"], hold: true } } } };
    expect(compilePipelineConfig(raw, env, limits).profiles.get("booking")!.review).toEqual({ minConfidence: 0.8, flags: ["low_confidence", "ungrounded"], hold: true });
    expect(compilePipelineConfig(valid, env, limits).profiles.get("booking")!.review).toEqual({
      minConfidence: undefined,
      // Every flag: invalid_format (a value that broke its format or pattern, now null) included.
      flags: ["low_confidence", "ungrounded", "repaired", "chunks_disagree", "coerced", "invalid_format"],
      hold: false,
    });
    // Without evidence, `ungrounded` is never raised: every other flag still counts by default.
    expect(issuesOf({ ...valid, profiles: { booking: { ...valid.profiles.booking, evidence: false, review: { hold: true } } } })).toEqual([]);
  });

  it.each([
    ["a min_confidence over 1", { review: { min_confidence: 1.5 } }, "profiles.booking.review.min_confidence"],
    ["an unknown flag", { review: { flags: ["low_confidence", "doubtful"] } }, "profiles.booking.review.flags[1]"],
    ["an unknown review key", { review: { hold: true, threshold: 0.8 } }, "profiles.booking.review.threshold"],
    ["a hold that is not a boolean", { review: { hold: "yes" } }, "profiles.booking.review.hold"],
    [
      "`ungrounded` without evidence",
      { evidence: false, review: { flags: ["repaired", "ungrounded"], hold: true } },
      "profiles.booking.review.flags[1]: `ungrounded` is judged on evidence quotes, and this profile has `evidence: false`",
    ],
  ])("rejects a review setting with %s, naming the path", (_name, profile, expected) => {
    const issues = issuesOf({ ...valid, profiles: { booking: { ...valid.profiles.booking, ...profile } } });
    expect(issues).toEqual([expect.stringContaining(expected)]);
    expect(issues[0]!.startsWith(expected)).toBe(true);
  });

  it("reports every problem in the file at once, one line per path, whatever level each is at", () => {
    const raw = {
      profiles: {
        booking: { ...valid.profiles.booking, destinations: ["crm", "nowhere"], variables: [{ name: "B", type: "number", description: "b" }] },
        other: { destinations: ["crm"], sned_only_on_completed: true },
      },
      destinations: {
        crm: { ...valid.destinations.crm, when: "status = " },
        slack: { url: "https://hooks.slack.com/x", timeout_ms: "fast" },
      },
      extraction: { retry: { max_attempts: 0 } },
      profile: {},
    };
    let message = "";
    try {
      compilePipelineConfig(raw, { CRM_PATH: "calls" }, limits);
    } catch (error) {
      message = (error as Error).message;
    }
    const lines = message.split("\n").slice(1).map((line) => line.trim());
    expect(lines).toEqual(
      expect.arrayContaining([
        "profile: unknown key: did you mean `profiles`?",
        expect.stringMatching(/^extraction\.retry\.max_attempts: /),
        expect.stringMatching(/^destinations\.crm\.headers\.X-API-Token: environment variable CRM_TOKEN is not set/),
        expect.stringMatching(/^destinations\.crm\.when: invalid JSONata expression/),
        expect.stringMatching(/^destinations\.slack\.timeout_ms: /),
        expect.stringMatching(/^profiles\.booking\.variables\[0\]\.name: /),
        "profiles.other.sned_only_on_completed: unknown key: did you mean `send_only_on_completed`?",
      ]),
    );
    expect(lines).toHaveLength(7);
  });

  it("names a profile's destination that no destination declares, but not one declared with problems of its own", () => {
    const raw = { ...valid, profiles: { booking: { ...valid.profiles.booking, destinations: ["crm", "nowhere"] } }, destinations: { crm: { ...valid.destinations.crm, url: "ftp://x" } } };
    expect(issuesOf(raw)).toEqual(["destinations.crm.url: must be an https:// URL", 'profiles.booking.destinations[1]: no destination named "nowhere" is configured']);
  });

  it("rejects an extraction retry whose initial delay exceeds its maximum, naming extraction.retry.max_delay_ms", () => {
    expect(issuesOf({ ...valid, extraction: { retry: { initial_delay_ms: 10_000, max_delay_ms: 1_000 } } })).toEqual([
      "extraction.retry.max_delay_ms: initial_delay_ms must not exceed max_delay_ms",
    ]);
  });

  it("keeps extraction's own retry bounds: faster and more tries than a destination's, and an initial delay alone above the default maximum", () => {
    const quick = compilePipelineConfig({ ...valid, extraction: { retry: { max_attempts: 100, initial_delay_ms: 10, max_delay_ms: 10 } } }, env, limits);
    expect(quick.extractionRetry).toEqual({ maxAttempts: 100, backoff: { kind: "exponential", initialDelayMs: 10, maxDelayMs: 10 } });
    expect(issuesOf({ ...valid, extraction: { retry: { initial_delay_ms: 7_200_000 } } })).toEqual([]);
    expect(issuesOf({ ...valid, extraction: { retry: { max_attempts: 101 } } })).toEqual([expect.stringMatching(/^extraction\.retry\.max_attempts: /)]);
    expect(issuesOf({ ...valid, extraction: { retry: { initial_delay_ms: 9 } } })).toEqual([expect.stringMatching(/^extraction\.retry\.initial_delay_ms: /)]);
  });

  it.each([
    ["an http URL", "http://crm.example.com/hook", "must use https"],
    ["a loopback address", "https://127.0.0.1:8443/hook", "127.0.0.1 is a loopback address"],
    ["a private address", "https://10.1.2.3/hook", "10.1.2.3 is a private address"],
    ["the cloud metadata address", "https://169.254.169.254/latest", "link-local"],
    ["an IPv6 loopback address", "https://[::1]/hook", "loopback"],
  ])("refuses at start-up a destination at %s unless private destinations are allowed", (_name, url, reason) => {
    const raw = { ...valid, destinations: { crm: { ...valid.destinations.crm, url } } };
    expect(issuesOf(raw)).toEqual([expect.stringContaining(reason)]);
    expect(issuesOf(raw)[0]).toMatch(/^destinations\.crm\.url: .*DEBRIEF_ALLOW_PRIVATE_DESTINATIONS/);
    expect(issuesOf(raw, env, true)).toEqual([]);
  });

  it("accepts a public host name, which is checked when connecting rather than at start-up", () => {
    expect(issuesOf({ ...valid, destinations: { crm: { ...valid.destinations.crm, url: "https://localhost.example.com/hook" } } })).toEqual([]);
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

  it("takes a Vapi HMAC credential's own header names only on a source: vapi profile", () => {
    const named = (source: string) => ({
      ...valid,
      profiles: { booking: { ...valid.profiles.booking, source, inbound: { secret: "s3cret", signature_header: "X-Clinic-Signature", timestamp_header: "X-Clinic-Time" } } },
    });
    expect(compilePipelineConfig(named("vapi"), env, limits).profiles.get("booking")!.inbound).toMatchObject({ signatureHeader: "X-Clinic-Signature", timestampHeader: "X-Clinic-Time" });
    for (const source of ["auto", "retell"]) {
      expect(() => compilePipelineConfig(named(source), env, limits)).toThrow(
        expect.objectContaining({ issues: expect.arrayContaining([expect.objectContaining({ path: "profiles.booking.inbound.signature_header" })]) }),
      );
    }
  });
});
