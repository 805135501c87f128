// An API key as the service knows it: a name, the SHA-256 of its secret (never the secret), its scopes and profiles.
import { createHash } from "node:crypto";
import { SCOPES, type Requirement, type Scope } from "./scopes.js";

export interface ApiKey {
  /** What logs, rate limits, metrics and the audit log call it: a name from the file, or `api-key:` and 8 hex digits. */
  name: string;
  /** SHA-256 of the key. */
  sha256: Buffer;
  scopes: readonly Scope[];
  /** The profiles it may see; undefined: every profile. */
  profiles?: readonly string[];
}

/** A named key must be long enough that guessing it is hopeless. */
export const MIN_KEY_LENGTH = 24;

export const sha256 = (key: string): Buffer => createHash("sha256").update(key, "utf8").digest();

/** A DEBRIEF_API_KEYS key: it may do everything, as every key could before scopes; named by its digest's first 8 hex digits. */
export function environmentKey(key: string): ApiKey {
  const digest = sha256(key);
  return { name: `api-key:${digest.toString("hex").slice(0, 8)}`, sha256: digest, scopes: ["admin"] };
}

export function allows(key: ApiKey, requirement: Requirement): boolean {
  return requirement === "any" || key.scopes.includes("admin") || key.scopes.includes(requirement);
}

/** The scopes a key effectively holds (admin holds them all). */
export function effectiveScopes(key: ApiKey): Scope[] {
  return key.scopes.includes("admin") ? [...SCOPES] : [...key.scopes];
}

/** Whether the key may see this profile's calls; a profile outside its set is, for it, a profile that does not exist. */
export function mayUseProfile(key: ApiKey | undefined, profile: string): boolean {
  return key?.profiles === undefined || key.profiles.includes(profile);
}
