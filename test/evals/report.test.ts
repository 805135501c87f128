// From runs to report.json: the rates and their denominators, failed calls, cost, the compare gate, the HTML page.
import { describe, expect, it } from "vitest";
import {
  buildReport,
  compareReports,
  loadPrices,
  parseDataset,
  percentile,
  renderHtml,
  ReportSchema,
  type DatasetItem,
  type ItemRun,
  type Report,
} from "../../evals/index.js";
import type { ExtractResult } from "../../src/extract/index.js";

const LIMITS = { maxVariables: 200, maxDescriptionChars: 2000 };
const SALES_VARIABLES = [
  { name: "fleet_size", type: "integer", description: "Number of vehicles" },
  { name: "demo_date", type: "date", description: "Date of the demo" },
  { name: "plan", type: "enum", options: ["basic", "pro"], description: "Plan chosen" },
];

function item(id: string, scenario: string, variables: unknown[], expected: Record<string, unknown>, transcript = "AI: Hello.\nCustomer: Hi."): DatasetItem {
  const { items, problems } = parseDataset(JSON.stringify({ id, scenario, transcript, variables, expected }), `${scenario}.jsonl`, LIMITS);
  expect(problems).toEqual([]);
  return items[0]!;
}

function answered(values: Record<string, unknown>, latency_ms: number, usage = { prompt_tokens: 1000, completion_tokens: 100 }, model = "gpt-4o-mini"): ExtractResult {
  return {
    extracted_variables: values,
    meta: { model, prompt_version: "extract-1+test", cached: false, attempts: 1, chunks: 1, llm_calls: 1, usage, latency_ms, extracted_at: "2026-06-12T00:00:00Z" },
  };
}

const RUN_META: Report["run"] = {
  started_at: "2026-06-12T00:00:00.000Z",
  finished_at: "2026-06-12T00:01:00.000Z",
  model: "gpt-4o-mini",
  prompt_version: "extract-1+test",
  structured_output: "json_schema",
  datasets: ["fixtures"],
  concurrency: 2,
  number_tolerance: 0.01,
  string_threshold: 0.8,
  judge: false,
};

const prices = loadPrices();
const score = { numberTolerance: 0.01, stringThreshold: 0.8 };

/**
 * A: fleet_size right, demo_date invented (hallucination), plan missed, status right.
 * B: fleet_size wrong, demo_date right, plan rightly null, status right.
 * C: the extraction failed (priority and status labelled).
 */
const RUNS: ItemRun[] = [
  {
    item: item("a", "sales", SALES_VARIABLES, { fleet_size: 45, demo_date: null, plan: "pro", status: true }),
    result: answered({ status: true, summary: "Demo talk", fleet_size: 45, demo_date: "2026-06-16", plan: null }, 100),
  },
  {
    item: item("b", "sales", SALES_VARIABLES, { fleet_size: 10, demo_date: "2026-06-20", plan: null, status: false }),
    result: answered({ status: false, summary: "No deal", fleet_size: 12, demo_date: "2026-06-20", plan: null }, 300, { prompt_tokens: 2000, completion_tokens: 200 }),
  },
  {
    item: item("c", "support", [{ name: "priority", type: "enum", options: ["low", "high"], description: "Priority" }], { priority: "high", status: null }),
    error: { code: "llm_unavailable", message: "The LLM is unavailable: 500" },
  },
];

describe("buildReport", () => {
  const report = buildReport({ runs: RUNS, run: RUN_META, score, prices });

  it("conforms to the report schema that --compare reads back", () => {
    expect(() => ReportSchema.parse(report)).not.toThrow();
  });

  it("counts failed calls' fields as not correct, and leaves them out of the hallucination and miss rates", () => {
    expect(report.overall).toEqual({
      items: 3,
      fields: 10,
      correct: 5,
      wrong: 1,
      hallucinations: 1,
      misses: 1,
      failed: 2,
      null_labels: 2,
      value_labels: 6,
      accuracy: 0.5,
      hallucination_rate: 1 / 2,
      miss_rate: 1 / 6,
      schema_valid_rate: 2 / 3,
    });
    expect(report.failed).toEqual({ count: 1, by_code: { llm_unavailable: 1 } });
  });

  it("breaks the counts down by variable and by scenario", () => {
    expect(report.by_variable.fleet_size).toMatchObject({ type: "integer", n: 2, correct: 1, wrong: 1, accuracy: 0.5 });
    expect(report.by_variable.demo_date).toMatchObject({ n: 2, hallucinations: 1, null_labels: 1, hallucination_rate: 1 });
    expect(report.by_variable.plan).toMatchObject({ n: 2, misses: 1, value_labels: 1, miss_rate: 1 });
    expect(report.by_variable.status).toMatchObject({ n: 3, correct: 2, failed: 1, accuracy: 2 / 3 });
    expect(report.by_variable.priority).toMatchObject({ n: 1, failed: 1, accuracy: 0, hallucination_rate: null, miss_rate: null });
    expect(report.by_variable.summary).toBeUndefined();
    expect(report.by_scenario.sales).toMatchObject({ items: 2, failed_items: 0, fields: 8, correct: 5, accuracy: 5 / 8 });
    expect(report.by_scenario.support).toMatchObject({ items: 1, failed_items: 1, fields: 2, accuracy: 0 });
  });

  it("puts expected against predicted for every call, and the failed call's error", () => {
    const [a, , c] = report.items;
    expect(a!.fields.map((f) => [f.name, f.expected, f.predicted, f.outcome])).toEqual([
      ["status", true, true, "correct"],
      ["fleet_size", 45, 45, "correct"],
      ["demo_date", null, "2026-06-16", "hallucination"],
      ["plan", "pro", null, "miss"],
    ]);
    expect(a).toMatchObject({ status: "ok", summary: "Demo talk", latency_ms: 100, accuracy: 0.5, source: "sales.jsonl:1", transcript: "Agent: Hello.\nCustomer: Hi." });
    expect(c).toMatchObject({ status: "failed", error: { code: "llm_unavailable" }, accuracy: 0 });
    expect(c!.fields.every((f) => f.outcome === "failed")).toBe(true);
  });

  it("reports latency percentiles and cost from the price table", () => {
    expect(report.latency_ms).toEqual({ p50: 100, p95: 300, max: 300 });
    expect(report.usage.prompt_tokens).toBe(3000);
    expect(report.usage.completion_tokens).toBe(300);
    // gpt-4o-mini: $0.15 / 1M prompt, $0.60 / 1M completion.
    expect(report.usage.cost_usd).toBeCloseTo((3000 * 0.15 + 300 * 0.6) / 1e6, 12);
    expect(report.definitions.hallucination_rate).toMatch(/null_labels/);
  });

  it("gives no cost, with a note, when a model has no price", () => {
    const local = [{ ...RUNS[0]!, result: answered({ status: true }, 10, undefined, "llama3.1:8b") }];
    const usage = buildReport({ runs: local, run: RUN_META, score, prices }).usage;
    expect(usage.cost_usd).toBeNull();
    expect(usage.note).toMatch(/llama3\.1:8b/);
  });
});

describe("buildReport with --judge", () => {
  it("scores summaries apart from accuracy: a failed call is not passed, a judge error is left out", () => {
    const usage = { prompt_tokens: 500, completion_tokens: 10 };
    const runs: ItemRun[] = [
      { ...RUNS[0]!, judged: { judgement: { pass: true, reason: "Faithful." }, usage } },
      { ...RUNS[1]!, judged: { judgement: { error: { code: "llm_timeout", message: "slow" } }, usage: { prompt_tokens: 0, completion_tokens: 0 } } },
      RUNS[2]!,
    ];
    const report = buildReport({ runs, run: { ...RUN_META, judge: true }, score, prices, judgeModel: "gpt-4o" });
    expect(report.summary_judge).toMatchObject({ model: "gpt-4o", judged: 2, passed: 1, accuracy: 0.5, errors: 1 });
    expect(report.summary_judge!.usage).toMatchObject({ prompt_tokens: 500, completion_tokens: 10, cost_usd: (500 * 2.5 + 10 * 10) / 1e6 });
    expect(report.items[0]!.summary_judge).toEqual({ pass: true, reason: "Faithful." });
    expect(report.overall.accuracy).toBe(0.5);
  });
});

describe("percentile", () => {
  it.each([
    [[], 0.5, null],
    [[7], 0.95, 7],
    [[300, 100, 200, 400], 0.5, 200],
    [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20], 0.95, 19],
  ])("of %j at %d is %j", (values, p, expected) => {
    expect(percentile(values, p)).toBe(expected);
  });
});

describe("compareReports", () => {
  const at = (accuracy: number | null, variables: Record<string, number> = {}) => ({
    overall: { accuracy },
    by_variable: Object.fromEntries(Object.entries(variables).map(([name, a]) => [name, { accuracy: a }])),
    by_scenario: {},
  });

  it.each([
    ["an equal run", 0.9, 0.9, false],
    ["an improvement", 0.9, 0.95, false],
    ["a drop of exactly max-drop", 0.9, 0.88, false],
    ["a drop beyond max-drop", 0.9, 0.87, true],
    ["a broken run", 0.9, 0, true],
  ])("%s: regressed %s", (_name, before, after, regressed) => {
    const comparison = compareReports(at(before), at(after), { maxDrop: 0.02, baselinePath: "base.json" });
    expect(comparison.regressed).toBe(regressed);
    expect(comparison.overall.delta).toBeCloseTo(after - before);
  });

  it("gives the change of every variable, null for one only one side has", () => {
    const comparison = compareReports(at(0.9, { budget: 1, name: 0.5 }), at(0.9, { budget: 0.75, email: 1 }), { maxDrop: 0.02, baselinePath: "b" });
    expect(comparison.by_variable).toEqual({
      budget: { baseline: 1, current: 0.75, delta: -0.25 },
      email: { baseline: null, current: 1, delta: null },
      name: { baseline: 0.5, current: null, delta: null },
    });
  });
});

describe("renderHtml", () => {
  const hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>';
  const runs: ItemRun[] = [
    {
      item: {
        ...item(`id-${hostile}`, `scenario-${hostile}`, [{ name: "note", type: "string", description: "A note" }], { note: hostile }, `AI: ${hostile}\nCustomer: & more`),
        notes: hostile,
      },
      result: answered({ status: null, summary: hostile, note: "<b>bold</b>" }, 5),
    },
  ];
  const page = renderHtml(buildReport({ runs, run: RUN_META, score, prices }));

  it("escapes every piece of dataset and model text", () => {
    expect(page).not.toMatch(/<script|<img|<b>bold/i);
    expect(page).toContain("&lt;b&gt;bold&lt;/b&gt;");
    expect(page).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;");
    expect(page).toContain("Agent: &lt;script&gt;");
    expect(page).toContain("Customer: &amp; more");
  });

  it("is one self-contained page: inline CSS and SVG, nothing fetched", () => {
    expect(page).toMatch(/^<!doctype html>/);
    expect(page).toContain("<style>");
    expect(page).toContain("<svg");
    expect(page).not.toMatch(/<link|src="http|href="http|@import/);
    expect(page).toContain("<details><summary>Transcript");
  });
});
