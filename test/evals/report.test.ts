// From runs to report.json: the rates and their denominators, joint accuracy, failed calls, spend per 1,000 calls,
// calibration, several models side by side, the compare gate, the terminal summary and the HTML page.
import { describe, expect, it } from "vitest";
import {
  BaselineSchema,
  buildReport,
  calibrate,
  compareReports,
  loadPrices,
  pairModels,
  parseDataset,
  percentile,
  readConfidence,
  renderComparison,
  renderHtml,
  renderTerminalReport,
  ReportSchema,
  worstVariables,
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

function item(id: string, scenario: string, variables: unknown[], expected: Record<string, unknown>, extra: Record<string, unknown> = {}): DatasetItem {
  const line = { id, scenario, transcript: "AI: Hello.\nCustomer: Hi.", variables, expected, ...extra };
  const { items, problems } = parseDataset(JSON.stringify(line), `${scenario}.jsonl`, LIMITS);
  expect(problems).toEqual([]);
  return items[0]!;
}

function answered(
  values: Record<string, unknown>,
  latency_ms: number,
  usage = { prompt_tokens: 1000, completion_tokens: 100 },
  model = "gpt-4o-mini",
  confidence?: Record<string, number>,
): ExtractResult {
  return {
    extracted_variables: values,
    ...(confidence ? { confidence } : {}),
    review: { needed: false, fields: {} },
    meta: { model, prompt_version: "extract-1+test", cached: false, attempts: 1, chunks: 1, llm_calls: 1, usage, cost_usd: null, latency_ms, extracted_at: "2026-06-12T00:00:00Z" },
  };
}

const RUN_META: Report["run"] = {
  started_at: "2026-06-12T00:00:00.000Z",
  finished_at: "2026-06-12T00:01:00.000Z",
  models: ["gpt-4o-mini"],
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
 * A: fleet_size right, demo_date invented (hallucination), plan missed, status right. Tagged long.
 * B: fleet_size wrong, demo_date right, plan rightly null, status right. Tagged long and es; provisional.
 * C: the extraction failed (priority and status labelled).
 */
const ITEMS = [
  item("a", "sales", SALES_VARIABLES, { fleet_size: 45, demo_date: null, plan: "pro", status: true }, { tags: ["long"] }),
  item("b", "sales", SALES_VARIABLES, { fleet_size: 10, demo_date: "2026-06-20", plan: null, status: false }, { tags: ["long", "es"], provisional: true }),
  item("c", "support", [{ name: "priority", type: "enum", options: ["low", "high"], description: "Priority" }], { priority: "high", status: null }, { provisional: false }),
];
const RUNS: ItemRun[] = [
  { item: ITEMS[0]!, model: "gpt-4o-mini", result: answered({ status: true, summary: "Demo talk", fleet_size: 45, demo_date: "2026-06-16", plan: null }, 100) },
  {
    item: ITEMS[1]!,
    model: "gpt-4o-mini",
    result: answered({ status: false, summary: "No deal", fleet_size: 12, demo_date: "2026-06-20", plan: null }, 300, { prompt_tokens: 2000, completion_tokens: 200 }),
  },
  { item: ITEMS[2]!, model: "gpt-4o-mini", error: { code: "llm_unavailable", message: "The LLM is unavailable: 500" } },
];

/** A second model that gets every field of every call right. */
const PERFECT: ItemRun[] = ITEMS.map((it) => ({
  item: it,
  model: "gpt-4.1-mini",
  result: answered({ ...it.expected, summary: "ok" }, 50, { prompt_tokens: 1000, completion_tokens: 100 }, "gpt-4.1-mini"),
}));

const one = (runs: ItemRun[] = RUNS, run: Report["run"] = RUN_META) => buildReport({ items: ITEMS, models: [{ model: runs[0]!.model, runs }], run, score, prices });
const two = () =>
  buildReport({ items: ITEMS, models: [{ model: "gpt-4o-mini", runs: RUNS }, { model: "gpt-4.1-mini", runs: PERFECT }], run: { ...RUN_META, models: ["gpt-4o-mini", "gpt-4.1-mini"] }, score, prices });

describe("buildReport", () => {
  const report = one();
  const model = report.models[0]!;

  it("conforms to the report schema that --compare reads back", () => {
    expect(() => ReportSchema.parse(report)).not.toThrow();
    expect(() => ReportSchema.parse(two())).not.toThrow();
  });

  it("counts failed calls' fields as not correct, and leaves them out of the hallucination and miss rates", () => {
    expect(model.overall).toEqual({
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
      joint_accuracy: 0,
    });
    expect(model.failed).toEqual({ count: 1, by_code: { llm_unavailable: 1 } });
  });

  it("gives the share of calls with every field right, a failed call counting as not right", () => {
    const fixed = [RUNS[0]!, { ...RUNS[1]!, result: answered({ status: false, fleet_size: 10, demo_date: "2026-06-20", plan: null }, 300) }, RUNS[2]!];
    const stats = one(fixed).models[0]!;
    expect(stats.items.map((i) => i.all_correct)).toEqual([false, true, false]);
    expect(stats.overall.joint_accuracy).toBeCloseTo(1 / 3, 12);
    expect(stats.by_scenario.sales!.joint_accuracy).toBe(0.5);
    expect(stats.by_scenario.support!.joint_accuracy).toBe(0);
  });

  it("breaks the counts down by variable, by scenario and by tag", () => {
    expect(model.by_variable.fleet_size).toMatchObject({ type: "integer", n: 2, correct: 1, wrong: 1, accuracy: 0.5 });
    expect(model.by_variable.demo_date).toMatchObject({ n: 2, hallucinations: 1, null_labels: 1, hallucination_rate: 1 });
    expect(model.by_variable.plan).toMatchObject({ n: 2, misses: 1, value_labels: 1, miss_rate: 1 });
    expect(model.by_variable.status).toMatchObject({ n: 3, correct: 2, failed: 1, accuracy: 2 / 3 });
    expect(model.by_variable.priority).toMatchObject({ n: 1, failed: 1, accuracy: 0, hallucination_rate: null, miss_rate: null });
    expect(model.by_variable.summary).toBeUndefined();
    expect(model.by_scenario.sales).toMatchObject({ items: 2, failed_items: 0, fields: 8, correct: 5, accuracy: 5 / 8 });
    expect(model.by_scenario.support).toMatchObject({ items: 1, failed_items: 1, fields: 2, accuracy: 0 });
    expect(Object.keys(model.by_tag)).toEqual(["es", "long"]);
    expect(model.by_tag.long).toMatchObject({ items: 2, fields: 8, correct: 5 });
    expect(model.by_tag.es).toMatchObject({ items: 1, fields: 4, correct: 3, accuracy: 0.75 });
  });

  it("keeps each call once, with its tags, notes and provisional mark, and counts the provisional ones", () => {
    expect(report.dataset).toEqual({ items: 3, provisional_items: 1, scenarios: 2 });
    expect(report.calls.map((call) => [call.id, call.provisional, call.tags])).toEqual([
      ["a", undefined, ["long"]],
      ["b", true, ["es", "long"]],
      ["c", false, []],
    ]);
    expect(report.calls[0]).toMatchObject({ source: "sales.jsonl:1", transcript: "Agent: Hello.\nCustomer: Hi." });
  });

  it("puts expected against predicted for every call, and the failed call's error", () => {
    const [a, , c] = model.items;
    expect(a!.fields.map((f) => [f.name, f.expected, f.predicted, f.outcome])).toEqual([
      ["status", true, true, "correct"],
      ["fleet_size", 45, 45, "correct"],
      ["demo_date", null, "2026-06-16", "hallucination"],
      ["plan", "pro", null, "miss"],
    ]);
    expect(a).toMatchObject({ id: "a", status: "ok", summary: "Demo talk", latency_ms: 100, accuracy: 0.5 });
    expect(c).toMatchObject({ status: "failed", error: { code: "llm_unavailable" }, accuracy: 0 });
    expect(c!.fields.every((f) => f.outcome === "failed")).toBe(true);
  });

  it("reports latency percentiles, cost from the price table, and tokens and cost per 1,000 calls", () => {
    expect(model.latency_ms).toEqual({ p50: 100, p95: 300, max: 300 });
    expect(model.usage.prompt_tokens).toBe(3000);
    expect(model.usage.completion_tokens).toBe(300);
    // gpt-4o-mini: $0.15 / 1M prompt, $0.60 / 1M completion.
    const cost = (3000 * 0.15 + 300 * 0.6) / 1e6;
    expect(model.usage.cost_usd).toBeCloseTo(cost, 12);
    // Two calls answered: the mean call, a thousand times.
    expect(model.per_1000_calls!.prompt_tokens).toBe(1_500_000);
    expect(model.per_1000_calls!.completion_tokens).toBe(150_000);
    expect(model.per_1000_calls!.cost_usd).toBeCloseTo((cost / 2) * 1000, 12);
    expect(report.definitions.hallucination_rate).toMatch(/null_labels/);
  });

  it("gives tokens only, with a note, when a model has no price", () => {
    const local = [{ ...RUNS[0]!, model: "llama3.1:8b", result: answered({ status: true }, 10, undefined, "llama3.1:8b") }];
    const stats = buildReport({ items: [ITEMS[0]!], models: [{ model: "llama3.1:8b", runs: local }], run: RUN_META, score, prices }).models[0]!;
    expect(stats.usage.cost_usd).toBeNull();
    expect(stats.usage.note).toMatch(/llama3\.1:8b/);
    expect(stats.per_1000_calls).toEqual({ prompt_tokens: 1_000_000, completion_tokens: 100_000, cost_usd: null });
  });

  it("has no spend per 1,000 calls when no call answered", () => {
    expect(one([RUNS[2]!]).models[0]!.per_1000_calls).toBeNull();
  });

  it("leaves calibration out when the results carry no confidence", () => {
    expect(model.calibration).toBeUndefined();
    expect(model.items.flatMap((i) => i.fields).some((f) => "confidence" in f)).toBe(false);
  });

  it("buckets the scored non-null answers by the confidence the result carries", () => {
    const sure = { status: 0.97, fleet_size: 0.92, demo_date: 0.55, plan: 0.99, summary: 0.5 };
    const runs: ItemRun[] = [
      { ...RUNS[0]!, result: { ...RUNS[0]!.result!, confidence: sure } as ExtractResult },
      { ...RUNS[1]!, result: { ...RUNS[1]!.result!, confidence: { status: 0.99, fleet_size: 0.91, demo_date: 0.93 } } as ExtractResult },
      RUNS[2]!,
    ];
    const stats = one(runs).models[0]!;
    // A's plan answer is null: a confidence for it is never counted. summary is not a field.
    expect(stats.items[0]!.fields.map((f) => f.confidence)).toEqual([0.97, 0.92, 0.55, undefined]);
    const byRange = Object.fromEntries(stats.calibration!.buckets.filter((b) => b.n > 0).map((b) => [`${b.from}-${b.to}`, [b.n, b.accuracy]]));
    expect(byRange).toEqual({
      "0.5-0.6": [1, 0], // A's invented demo_date
      "0.9-0.95": [3, 2 / 3], // A's fleet_size (right), B's fleet_size (wrong), B's demo_date (right)
      "0.95-0.99": [1, 1], // A's status
      "0.99-1": [1, 1], // B's status
    });
    expect(stats.calibration!.fields).toBe(6);
  });
});

describe("calibrate", () => {
  it("lists every bucket, puts 1.0 in the last one, and weighs the calibration error by n", () => {
    const result = calibrate([
      { confidence: 1, correct: true },
      { confidence: 0.99, correct: false },
      { confidence: 0.9, correct: true },
      { confidence: 0.949, correct: true },
      { confidence: 0.1, correct: false },
    ]);
    expect(result.buckets.map((b) => [b.from, b.to, b.n])).toEqual([
      [0, 0.5, 1],
      [0.5, 0.6, 0],
      [0.6, 0.7, 0],
      [0.7, 0.8, 0],
      [0.8, 0.9, 0],
      [0.9, 0.95, 2],
      [0.95, 0.99, 0],
      [0.99, 1, 2],
    ]);
    const top = result.buckets.at(-1)!;
    expect(top.accuracy).toBe(0.5);
    expect(top.mean_confidence).toBeCloseTo(0.995, 12);
    expect(result.buckets[1]).toMatchObject({ n: 0, accuracy: null, mean_confidence: null });
    // |0 − 0.1|·1 + |1 − 0.9245|·2 + |0.5 − 0.995|·2, over 5.
    expect(result.ece).toBeCloseTo((0.1 + 2 * (1 - 0.9245) + 2 * 0.495) / 5, 12);
  });

  it("says a model is perfectly calibrated when each bucket's accuracy is its confidence", () => {
    const points = [...Array(10)].map((_, i) => ({ confidence: 0.8, correct: i < 8 }));
    expect(calibrate(points, [0, 0.5, 1]).ece).toBeCloseTo(0, 12);
  });

  it("has no error to report without points", () => {
    expect(calibrate([])).toMatchObject({ fields: 0, ece: null });
  });
});

describe("readConfidence", () => {
  it.each([
    ["no confidence key", {}, undefined],
    ["a map of shares", { confidence: { budget: 0.9, name: 1 } }, { budget: 0.9, name: 1 }],
    ["a number out of range (never trusted)", { confidence: { budget: 1.2 } }, undefined],
    ["another shape", { confidence: [0.9] }, undefined],
  ])("%s", (_name, result, expected) => {
    expect(readConfidence(result)).toEqual(expected);
  });
});

describe("several models", () => {
  const report = two();

  it("scores the same calls on each model, in the order given", () => {
    expect(report.models.map((m) => [m.model, m.overall.accuracy, m.overall.joint_accuracy])).toEqual([
      ["gpt-4o-mini", 0.5, 0],
      ["gpt-4.1-mini", 1, 1],
    ]);
    expect(report.calls).toHaveLength(3);
    expect(report.models.every((m) => m.items.map((i) => i.id).join() === "a,b,c")).toBe(true);
    // gpt-4.1-mini: $0.40 / 1M prompt, $1.60 / 1M completion, three calls of 1,000 + 100 tokens.
    expect(report.models[1]!.per_1000_calls!.cost_usd).toBeCloseTo(((1000 * 0.4 + 100 * 1.6) / 1e6) * 1000, 12);
  });

  it("prints a short summary: the models side by side, per scenario, and the worst variables", () => {
    const text = renderTerminalReport(report);
    expect(text).toMatch(/^Debrief eval · 3 calls \(1 provisional\) · 10 fields · 2 scenarios/);
    expect(text).toMatch(/gpt-4o-mini\s+50\.0%\s+50\.0%\s+16\.7%\s+0\.0%\s+66\.7%\s+100 ms\s+1,500,000 \+ 150,000\s+\$0\.3150/);
    expect(text).toMatch(/gpt-4\.1-mini\s+100\.0%\s+0\.0%\s+0\.0%\s+100\.0%\s+100\.0%\s+50 ms/);
    expect(text).toMatch(/sales\s+2\s+62\.5% \(0\.0%\)\s+100\.0% \(100\.0%\)/);
    expect(text).toContain("gpt-4o-mini: 1 failed call(s): llm_unavailable ×1");
    expect(text).toContain("The 5 worst of 5 variables");
  });

  it("ranks variables by their lowest accuracy on any model, and lists none when every one is at 100%", () => {
    expect(worstVariables(report)).toEqual(["priority", "demo_date", "fleet_size", "plan", "status"]);
    expect(worstVariables(report, 2)).toEqual(["priority", "demo_date"]);
    expect(worstVariables({ ...report, models: [report.models[1]!] })).toEqual([]);
    expect(renderTerminalReport({ ...report, models: [report.models[1]!] })).toContain("Every variable at 100%.");
  });

  it("shows each model's answer beside the label in the HTML page", () => {
    const page = renderHtml(report);
    expect(page).toContain("Models side by side");
    expect(page.match(/<code>gpt-4\.1-mini<\/code>/g)!.length).toBeGreaterThan(3);
    // Call a's plan: missed by one model, right on the other.
    expect(page).toMatch(/<td class="o-miss"><span class="null">null<\/span><small class="outcome">miss<\/small><\/td><td class="o-correct">pro/);
    expect(page).not.toContain("Accuracy by confidence");
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
  const at = (model: string, accuracy: number | null, variables: Record<string, number> = {}) => ({
    model,
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
    const comparison = compareReports([at("m", before)], [at("m", after)], { maxDrop: 0.02, baselinePath: "base.json" });
    expect(comparison.regressed).toBe(regressed);
    expect(comparison.models[0]!.overall.delta).toBeCloseTo(after - before);
  });

  it("gives the change of every variable, null for one only one side has", () => {
    const comparison = compareReports([at("m", 0.9, { budget: 1, name: 0.5 })], [at("m", 0.9, { budget: 0.75, email: 1 })], { maxDrop: 0.02, baselinePath: "b" });
    expect(comparison.models[0]!.by_variable).toEqual({
      budget: { baseline: 1, current: 0.75, delta: -0.25 },
      email: { baseline: null, current: 1, delta: null },
      name: { baseline: 0.5, current: null, delta: null },
    });
  });

  it("compares one model with a one-model baseline whatever their names", () => {
    const comparison = compareReports([at("gpt-4o-mini", 0.9)], [at("gpt-4.1-mini", 0.8)], { maxDrop: 0.02, baselinePath: "b" });
    expect(comparison.models).toMatchObject([{ model: "gpt-4.1-mini", baseline_model: "gpt-4o-mini", regressed: true }]);
    expect(comparison.regressed).toBe(true);
  });

  it("compares several models by name, fails when any one fell, and never gates a model the baseline lacks", () => {
    const baseline = [at("a", 0.9), at("b", 0.9)];
    const fine = compareReports(baseline, [at("a", 0.95), at("b", 0.89), at("c", 0.1)], { maxDrop: 0.02, baselinePath: "b" });
    expect(fine.models.map((m) => [m.model, m.baseline_model, m.regressed])).toEqual([["a", "a", false], ["b", "b", false]]);
    expect(fine.unmatched).toEqual(["c"]);
    expect(fine.regressed).toBe(false);
    const fell = compareReports(baseline, [at("a", 0.95), at("b", 0.8)], { maxDrop: 0.02, baselinePath: "b" });
    expect(fell.regressed).toBe(true);
    expect(renderComparison(fell)).toMatch(/REGRESSION: overall accuracy fell −10\.0 pt on b/);
  });

  it("pairs nothing when the names differ and either side has several models", () => {
    expect(pairModels([at("a", 1), at("b", 1)], ["c"])).toEqual({ pairs: [], unmatched: ["c"] });
    expect(pairModels([at("a", 1)], ["a", "c"]).pairs.map(([model]) => model)).toEqual(["a"]);
  });

  it("reads a report from before the model matrix as a one-model baseline", () => {
    const old = { run: { model: "gpt-4o-mini" }, overall: { accuracy: 0.9, fields: 10 }, by_variable: { budget: { accuracy: 1 } }, by_scenario: {}, items: [] };
    expect(BaselineSchema.parse(old)).toEqual([{ model: "gpt-4o-mini", overall: { accuracy: 0.9 }, by_variable: { budget: { accuracy: 1 } }, by_scenario: {} }]);
    expect(BaselineSchema.parse(two()).map((m) => m.model)).toEqual(["gpt-4o-mini", "gpt-4.1-mini"]);
  });
});

describe("renderHtml", () => {
  const hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>';
  const hostileItem = item(`id-${hostile}`, `scenario-${hostile}`, [{ name: "note", type: "string", description: "A note" }], { note: hostile }, {
    notes: hostile,
    transcript: `AI: ${hostile}\nCustomer: & more`,
  });
  const runs: ItemRun[] = [{ item: hostileItem, model: `m-${hostile}`, result: answered({ status: null, summary: hostile, note: "<b>bold</b>" }, 5) }];
  const page = renderHtml(buildReport({ items: [hostileItem], models: [{ model: `m-${hostile}`, runs }], run: RUN_META, score, prices }));

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

  it("shows accuracy by confidence bucket only when a model reported confidence", () => {
    const sure: ItemRun[] = [{ ...RUNS[0]!, result: { ...RUNS[0]!.result!, confidence: { status: 0.97, fleet_size: 0.92 } } as ExtractResult }];
    const withConfidence = renderHtml(buildReport({ items: [ITEMS[0]!], models: [{ model: "gpt-4o-mini", runs: sure }], run: RUN_META, score, prices }));
    expect(withConfidence).toContain("Accuracy by confidence");
    expect(withConfidence).toContain("confidence 0.92");
  });
});
