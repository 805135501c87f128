import { describe, expect, it } from "vitest";
import { parseRetryAfterMs } from "../../src/lib/retry-after.js";

describe("parseRetryAfterMs", () => {
  it("reads Retry-After as seconds or as an HTTP date", () => {
    const now = Date.parse("2025-01-15T10:30:00Z");
    expect(parseRetryAfterMs("120", now)).toBe(120_000);
    expect(parseRetryAfterMs("Wed, 15 Jan 2025 10:31:00 GMT", now)).toBe(60_000);
    expect(parseRetryAfterMs("soon", now)).toBeUndefined();
    expect(parseRetryAfterMs(undefined, now)).toBeUndefined();
  });
});
