// Section 13: a request's `pattern` against a hostile value. Debrief runs patterns with RE2 (re2js), in time linear in
// the value; JavaScript's backtracking RegExp takes time exponential in it for a pattern like ^(a+)+$, so its figure
// for a value of 24 characters stands beside RE2's for 30,000 and 100,000.
import { performance } from "node:perf_hooks";
import { compilePattern } from "../../src/schema/index.js";
import type { Figure, SectionResult } from "../lib/context.js";

const PATTERN = "^(a+)+$";
/** A value that almost matches: every way to split the a's is tried before the b says no. */
const hostile = (length: number) => `${"a".repeat(length)}b`;
const RUNS = 5;

/** Median and worst of RUNS runs of `test`, in ms. */
function timed(test: () => unknown): { median: number; worst: number } {
  const runs: number[] = [];
  for (let run = 0; run < RUNS; run += 1) {
    const start = performance.now();
    test();
    runs.push(performance.now() - start);
  }
  runs.sort((a, b) => a - b);
  return { median: Math.round(runs[Math.floor(RUNS / 2)]! * 100) / 100, worst: Math.round(runs[RUNS - 1]! * 100) / 100 };
}

export async function patterns(): Promise<SectionResult> {
  const compiled = compilePattern(PATTERN);
  if (!compiled.ok) throw new Error(compiled.reason);
  const backtracking = new RegExp(PATTERN);
  const baseline = timed(() => backtracking.test(hostile(24)));
  const figures: Figure[] = [];
  const details: Record<string, unknown> = { pattern: PATTERN, backtracking_24: baseline };
  for (const length of [1_000, 30_000, 100_000]) {
    const re2 = timed(() => compiled.test(hostile(length)));
    details[`re2_${length}`] = re2;
    figures.push({
      id: `patterns.re2_${length}`,
      label: `${PATTERN} against ${length.toLocaleString("en-US")} a's and a b, RE2 (re2js), median of ${RUNS}`,
      value: re2.median,
      unit: "ms",
      baseline: { label: "JavaScript's RegExp against 24 a's and a b", value: baseline.median, unit: "ms" },
      ratio: Math.round((re2.median / baseline.median) * 1000) / 1000,
      note: `worst ${re2.worst} ms; RegExp's time doubles with each a (2^length), RE2's grows linearly`,
    });
  }
  return {
    id: "patterns",
    title: `13. A request's pattern against a hostile value (${PATTERN})`,
    figures,
    notes: [
      "In process, no service: the same compilePattern the request validation and the value checks use. The timing is the CPU's, so a busy machine inflates both sides.",
      "That a hostile pattern answers in milliseconds is measured here, not by a unit test's timeout.",
    ],
    details,
  };
}
