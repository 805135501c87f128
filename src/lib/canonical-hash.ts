// Turns any JSON-like value into one stable SHA-256 key, so equal inputs hit the same cache entry whatever their key order.
import { createHash } from "node:crypto";

/**
 * JSON with object keys sorted at every level and no whitespace. Follows JSON.stringify otherwise:
 * `undefined`, functions and symbols are dropped from objects and become null in arrays, `toJSON` is honoured.
 */
export function canonicalJson(value: unknown): string {
  const text = serialise(value, new Set());
  if (text === undefined) throw new TypeError(`cannot hash a value of type ${typeof value}`);
  return text;
}

/** SHA-256 hex of `canonicalJson(value)`. */
export function canonicalHash(value: unknown): string {
  return createHash("sha256").update(canonicalJson(value)).digest("hex");
}

/** undefined means "no JSON representation": the caller drops it (object) or writes null (array). */
function serialise(value: unknown, ancestors: Set<object>): string | undefined {
  if (value !== null && typeof value === "object" && typeof (value as { toJSON?: unknown }).toJSON === "function") {
    return serialise((value as { toJSON: () => unknown }).toJSON(), ancestors);
  }
  if (value === null || typeof value !== "object") {
    if (typeof value === "bigint") throw new TypeError("cannot hash a bigint");
    // Numbers, strings and booleans: JSON.stringify already gives the one canonical form (NaN → null, "\u00e9" kept).
    return JSON.stringify(value) as string | undefined;
  }
  // A cycle has no JSON form; failing loudly beats hashing something that is not the input.
  if (ancestors.has(value)) throw new TypeError("cannot hash a circular structure");
  ancestors.add(value);
  try {
    if (Array.isArray(value)) {
      return `[${value.map((item) => serialise(item, ancestors) ?? "null").join(",")}]`;
    }
    const members: string[] = [];
    for (const key of Object.keys(value).sort()) {
      const member = serialise((value as Record<string, unknown>)[key], ancestors);
      if (member !== undefined) members.push(`${JSON.stringify(key)}:${member}`);
    }
    return `{${members.join(",")}}`;
  } finally {
    ancestors.delete(value);
  }
}
