// A fresh API key and the `keys:` line that admits it: the file holds only the key's SHA-256, never the key.
import { randomBytes } from "node:crypto";
import { SCOPES, type Scope } from "./scopes.js";
import { sha256 } from "./keys.js";

export interface NewKey {
  /** Shown once; whoever holds it is the key. */
  key: string;
  /** The configuration file's line for it (YAML flow style, valid in a `keys:` map). */
  line: string;
}

/** 32 random bytes (base64url), prefixed so a leaked key is recognisable in a scan. */
export function newApiKey(name: string, scopes: readonly Scope[], profiles?: readonly string[]): NewKey {
  const key = `dbr_${randomBytes(32).toString("base64url")}`;
  const list = (items: readonly string[]) => `[${items.join(", ")}]`;
  const line = `${name}: { key_sha256: "${sha256(key).toString("hex")}", scopes: ${list(scopes)}${profiles?.length ? `, profiles: ${list(profiles)}` : ""} }`;
  return { key, line };
}

export const isScope = (value: string): value is Scope => (SCOPES as readonly string[]).includes(value);
