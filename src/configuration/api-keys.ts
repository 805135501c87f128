// The configuration file's `keys:`: named API keys with scopes and profiles, checked all at once so every problem is told.
import { z } from "zod";
import { MIN_KEY_LENGTH, SCOPES, sha256, type ApiKey } from "../access/index.js";
import { configIssues, substituteEnv } from "../delivery/index.js";
import type { ConfigIssue } from "../errors.js";
import { formatPath } from "../schema/index.js";

const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

const KeySchema = z
  .object({
    /** The key itself, as an `${ENV}` reference: the file never holds the secret. */
    key: z.string().min(1).optional(),
    /** Or the hex SHA-256 of the key (`npm run key:new` prints it). */
    key_sha256: z.string().regex(/^[0-9a-fA-F]{64}$/, "must be 64 hex digits: the SHA-256 of the key").optional(),
    scopes: z.array(z.enum(SCOPES)).min(1),
    /** Omitted: every profile. */
    profiles: z.array(z.string().min(1)).min(1).optional(),
  })
  .strict()
  .refine((entry) => (entry.key === undefined) !== (entry.key_sha256 === undefined), "needs exactly one of `key` (an ${ENV} reference) or `key_sha256`");

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === "object" && !Array.isArray(value);

/**
 * Compiles `keys:` into ApiKeys, pushing every problem onto `issues`: a bad entry, a literal or short key, an unknown
 * profile, the same key under two names (or one of DEBRIEF_API_KEYS, whose digests are `taken`).
 */
export function compileApiKeys(
  raw: unknown,
  env: Record<string, string | undefined>,
  profiles: ReadonlySet<string>,
  issues: ConfigIssue[],
  taken: ReadonlyMap<string, string> = new Map(),
): ApiKey[] {
  if (raw === undefined || raw === null) return [];
  if (!isObject(raw)) {
    issues.push({ path: "keys", message: "must be a map of key names to { key or key_sha256, scopes, profiles }" });
    return [];
  }
  const keys: ApiKey[] = [];
  const seen = new Map(taken);
  for (const [name, value] of Object.entries(raw)) {
    const at = ["keys", name];
    if (!KEY_NAME.test(name)) {
      issues.push({ path: formatPath(at), message: "key names are 1-64 letters, digits, '_', '.' or '-'" });
      continue;
    }
    const parsed = KeySchema.safeParse(value);
    if (!parsed.success) {
      issues.push(...configIssues(parsed.error, KeySchema, at));
      continue;
    }
    const entry = parsed.data;
    let digest: Buffer | undefined;
    if (entry.key !== undefined) {
      // A literal key would put the secret in a file that is copied around, diffed and reviewed.
      if (!/^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/.test(entry.key)) {
        issues.push({ path: formatPath([...at, "key"]), message: "must be an ${ENV} reference (or give key_sha256): the file should not hold the key" });
      } else {
        const before = issues.length;
        const key = substituteEnv(entry.key, env, [...at, "key"], issues);
        if (issues.length === before && key.length < MIN_KEY_LENGTH) {
          issues.push({ path: formatPath([...at, "key"]), message: `must be at least ${MIN_KEY_LENGTH} characters (npm run key:new makes one)` });
        } else if (issues.length === before) {
          digest = sha256(key);
        }
      }
    } else {
      digest = Buffer.from(entry.key_sha256!.toLowerCase(), "hex");
    }
    (entry.profiles ?? []).forEach((profile, index) => {
      if (!profiles.has(profile)) issues.push({ path: formatPath([...at, "profiles", index]), message: `no profile named "${profile}" is configured` });
    });
    if (digest === undefined) continue;
    const other = seen.get(digest.toString("hex"));
    if (other !== undefined) {
      issues.push({ path: formatPath(at), message: `is the same key as ${other}: one key, one name` });
      continue;
    }
    seen.set(digest.toString("hex"), `"${name}"`);
    keys.push({ name, sha256: digest, scopes: entry.scopes, ...(entry.profiles ? { profiles: entry.profiles } : {}) });
  }
  return keys;
}
