// The configuration file's `keys:`: named keys with scopes and profiles, and every problem in them told at once.
import { describe, expect, it } from "vitest";
import { sha256 } from "../../src/access/index.js";
import { compilePipelineConfig } from "../../src/configuration/index.js";
import { ConfigError } from "../../src/errors.js";

const limits = { maxVariables: 200, maxDescriptionChars: 2000 };
const INGEST = "dbr_ingest_0123456789abcdef0123";
const DESK = "dbr_desk_fedcba9876543210fedcba";
const env = { INGEST_KEY: INGEST, DESK_KEY: DESK, SHORT_KEY: "dbr_short" };

const withKeys = (keys: unknown) => ({ profiles: { dental: {}, hvac: {} }, keys });

function issuesOf(raw: unknown, options: Parameters<typeof compilePipelineConfig>[3] = {}): string[] {
  try {
    compilePipelineConfig(raw, env, limits, options);
  } catch (error) {
    if (error instanceof ConfigError) return error.issues.map((issue) => `${issue.path}: ${issue.message}`);
    throw error;
  }
  return [];
}

describe("keys in the configuration file", () => {
  it("compiles the issue's example: a key from the environment or its SHA-256, scopes, and the profiles it is bound to", () => {
    const crm = sha256("dbr_crm_reader_000000000000000000").toString("hex");
    const config = compilePipelineConfig(
      withKeys({
        "platform-ingest": { key: "${INGEST_KEY}", scopes: ["calls:write"] },
        "crm-reader": { key_sha256: crm.toUpperCase(), scopes: ["calls:read"], profiles: ["dental"] },
        "front-desk": { key: "${DESK_KEY}", scopes: ["calls:read", "calls:review"], profiles: ["dental"] },
      }),
      env,
      limits,
    );
    expect(config.keys.map(({ name, scopes, profiles }) => ({ name, scopes, profiles }))).toEqual([
      { name: "platform-ingest", scopes: ["calls:write"], profiles: undefined },
      { name: "crm-reader", scopes: ["calls:read"], profiles: ["dental"] },
      { name: "front-desk", scopes: ["calls:read", "calls:review"], profiles: ["dental"] },
    ]);
    expect(config.keys[0]!.sha256.equals(sha256(INGEST))).toBe(true);
    expect(config.keys[1]!.sha256.toString("hex")).toBe(crm);
  });

  it("has no keys when the file names none", () => {
    expect(compilePipelineConfig({ profiles: {} }, env, limits).keys).toEqual([]);
  });

  it("lists every problem at once: unknown scope and profile, a short, literal or unset key, a bad digest, one key under two names", () => {
    const issues = issuesOf(
      withKeys({
        reader: { key: "${INGEST_KEY}", scopes: ["calls:read", "calls:delete"] },
        stranger: { key: "${DESK_KEY}", scopes: ["calls:read"], profiles: ["dental", "plumbing"] },
        short: { key: "${SHORT_KEY}", scopes: ["extract"] },
        literal: { key: "dbr_literal_key_0123456789abcdef", scopes: ["extract"] },
        unset: { key: "${NOT_SET}", scopes: ["extract"] },
        digest: { key_sha256: "abc", scopes: ["extract"] },
        both: { key: "${DESK_KEY}", key_sha256: sha256(DESK).toString("hex"), scopes: ["extract"] },
        twin: { key_sha256: sha256(DESK).toString("hex"), scopes: ["extract"] },
        "bad name!": { key: "${DESK_KEY}", scopes: ["extract"] },
      }),
    );
    expect(issues).toEqual([
      expect.stringMatching(/^keys\.reader\.scopes\[1\]: /),
      'keys.stranger.profiles[1]: no profile named "plumbing" is configured',
      "keys.short.key: must be at least 24 characters (npm run key:new makes one)",
      expect.stringMatching(/^keys\.literal\.key: must be an \$\{ENV\} reference/),
      "keys.unset.key: environment variable NOT_SET is not set",
      "keys.digest.key_sha256: must be 64 hex digits: the SHA-256 of the key",
      expect.stringMatching(/^keys\.both: needs exactly one of `key`/),
      'keys.twin: is the same key as "stranger": one key, one name',
      expect.stringMatching(/^keys\.bad name!: key names are/),
    ]);
  });

  it("refuses a file key that is also one of DEBRIEF_API_KEYS, whose keys mean admin", () => {
    const environmentKeys = new Map([[sha256(INGEST).toString("hex"), "a key of DEBRIEF_API_KEYS"]]);
    expect(issuesOf(withKeys({ ingest: { key: "${INGEST_KEY}", scopes: ["calls:write"] } }), { environmentKeys })).toEqual([
      "keys.ingest: is the same key as a key of DEBRIEF_API_KEYS: one key, one name",
    ]);
  });

  it("tells key problems beside every other problem in the file", () => {
    const issues = issuesOf({ profiles: { dental: { timezone: "Mars/Base" } }, keys: { x: { key: "${DESK_KEY}", scopes: [] } } });
    expect(issues).toEqual([expect.stringMatching(/^profiles\.dental\.timezone/), expect.stringMatching(/^keys\.x\.scopes: /)]);
  });
});
