// A fixed-seed slice of `npm run fuzz`: a few hundred generated bodies against the real service (TypeScript, through
// tsx). Whatever they are, none is answered 5xx, none hangs, the service does not crash, and no accepted call fails.
import { describe, expect, it } from "vitest";
import { formatReport, runFuzz } from "../../fuzz/harness.js";

describe("the fuzzer's fixed-seed slice", () => {
  it("gets a 2xx or 4xx for every generated body, and every accepted call ends delivered or skipped", async () => {
    const report = await runFuzz({ extract: 300, calls: 100, seed: 20_261_128, entry: "src", concurrency: 4 });
    expect(report.failures, formatReport(report)).toEqual([]);
    const answered = (route: string, status: number) => report.statuses[route]?.[status] ?? 0;
    // The slice reaches the LLM and the receivers, not only the validation.
    expect(answered("/v1/extract", 200)).toBeGreaterThan(20);
    expect(answered("/v1/calls", 202)).toBeGreaterThan(5);
    expect(Object.values(report.calls).reduce((a, b) => a + b, 0)).toBe(answered("/v1/calls", 202));
  }, 180_000);
});
