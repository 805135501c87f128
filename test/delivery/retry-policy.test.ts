import { describe, expect, it } from "vitest";
import {
  backoffDelayMs,
  classifyStatus,
  decideAfterAttempt,
  DEFAULT_RETRY_POLICY,
  retryPolicyFromConfig,
} from "../../src/delivery/retry-policy.js";

const noJitter = () => 0.5;
const minute = 60_000;
const hour = 60 * minute;

describe("retry policy", () => {
  it("spreads the default eight attempts over about a day, like Svix", () => {
    const delays = [1, 2, 3, 4, 5, 6, 7].map((failed) => backoffDelayMs(DEFAULT_RETRY_POLICY, failed, noJitter));
    expect(delays).toEqual([5_000, 5 * minute, 30 * minute, 2 * hour, 5 * hour, 10 * hour, 10 * hour]);
    expect(decideAfterAttempt(DEFAULT_RETRY_POLICY, 7, { status: 500 }, noJitter)).toEqual({ kind: "retry", delayMs: 10 * hour });
    expect(decideAfterAttempt(DEFAULT_RETRY_POLICY, 8, { status: 500 })).toEqual({ kind: "failed", reason: "exhausted" });
  });

  it("doubles from the configured initial delay up to the configured maximum", () => {
    const policy = retryPolicyFromConfig({ max_attempts: 10, initial_delay_ms: 5_000, max_delay_ms: 30_000 });
    expect([1, 2, 3, 4, 5].map((failed) => backoffDelayMs(policy, failed, noJitter))).toEqual([5_000, 10_000, 20_000, 30_000, 30_000]);
    expect(retryPolicyFromConfig({ max_attempts: 3 })).toEqual({ maxAttempts: 3, backoff: DEFAULT_RETRY_POLICY.backoff });
  });

  it("jitters each delay by at most 20% either way", () => {
    expect(backoffDelayMs(DEFAULT_RETRY_POLICY, 1, () => 0)).toBe(4_000);
    expect(backoffDelayMs(DEFAULT_RETRY_POLICY, 1, () => 0.999_999)).toBe(6_000);
  });

  it.each([
    [200, "success"],
    [204, "success"],
    [301, "final"],
    [302, "final"],
    [400, "final"],
    [401, "final"],
    [404, "final"],
    [408, "retry"],
    [410, "final"],
    [425, "retry"],
    [429, "retry"],
    [500, "retry"],
    [503, "retry"],
    [599, "retry"],
  ])("classifies HTTP %i as %s", (status, expected) => {
    expect(classifyStatus(status)).toBe(expected);
  });

  it("retries network errors and timeouts, never refused destinations", () => {
    expect(decideAfterAttempt(DEFAULT_RETRY_POLICY, 1, { status: undefined }, noJitter)).toEqual({ kind: "retry", delayMs: 5_000 });
    expect(decideAfterAttempt(DEFAULT_RETRY_POLICY, 1, { status: undefined, refused: true })).toEqual({ kind: "failed", reason: "refused" });
    expect(decideAfterAttempt(DEFAULT_RETRY_POLICY, 1, { status: 400 })).toEqual({ kind: "failed", reason: "final_status" });
  });

  it("honours Retry-After on 429 and 503 only, bounded by the policy's longest delay", () => {
    const policy = retryPolicyFromConfig({ initial_delay_ms: 1_000, max_delay_ms: 60_000 });
    expect(decideAfterAttempt(policy, 1, { status: 429, retryAfterMs: 2_000 })).toEqual({ kind: "retry", delayMs: 2_000 });
    expect(decideAfterAttempt(policy, 1, { status: 503, retryAfterMs: 86_400_000 })).toEqual({ kind: "retry", delayMs: 60_000 });
    expect(decideAfterAttempt(policy, 1, { status: 429, retryAfterMs: 0 })).toEqual({ kind: "retry", delayMs: 1_000 });
    expect(decideAfterAttempt(policy, 1, { status: 500, retryAfterMs: 30_000 }, noJitter)).toEqual({ kind: "retry", delayMs: 1_000 });
  });
});
