// Turns the runs into report.json: each labelled field scored, then counted overall, per variable and per scenario.
import { sumUsage } from "../src/extract/index.js";
import type { Usage } from "../src/llm/index.js";
import { formatForModel } from "../src/transcript/index.js";
import { UNSCORED_VARIABLES } from "./dataset.js";
import { costOf, type PriceTable } from "./prices.js";
import type { ItemRun } from "./run-items.js";
import type { FieldResult, ItemResult, Report, ScenarioStats, VariableStats } from "./report-schema.js";
import { scoreField, type ScoreOptions } from "./score.js";

/** Written into every report, so a reader of the numbers has the meaning beside them. */
export const DEFINITIONS: Record<string, string> = {
  field: "One (call, variable) pair with a label in `expected`. `summary` is never a field (see summary_judge); `status` is one when labelled.",
  accuracy: "correct fields / all fields. Fields of failed calls count as not correct, so a broken model or endpoint looks broken.",
  hallucination_rate:
    "hallucinations / null_labels: of the fields whose label is null (the call never said), the share where the model gave a value anyway. Calls that failed are left out.",
  miss_rate:
    "misses / value_labels: of the fields whose label has a value, the share where the model answered null. Calls that failed are left out.",
  wrong: "The label has a value and the model gave a different non-null value.",
  failed: "Fields of calls whose extraction raised an error (after the client's retries and the repair rounds); see `failed.by_code`.",
  schema_valid_rate: "Calls whose extraction returned a valid result / all calls.",
  equality:
    "boolean, enum, integer: exact. number: |predicted − expected| ≤ tolerance × |expected|. date: same calendar date. datetime: same instant (offsets may differ). string: equal after dropping case, accents, spacing and punctuation, or token F1 ≥ string_threshold. list: equal as sets (items compared like strings); mean_f1 gives set F1. 0, false, \"\" and [] are values, not null.",
  latency_ms: "Wall time of each successful extraction as the service measures it (meta.latency_ms, no cache), nearest-rank percentiles.",
  usage: "Tokens of successful extractions (a failed call's spend is not reported by the LLM client); cost from the price table, null when a model has no price.",
  summary_judge: "With --judge: an LLM grades each extracted summary against the transcript; passed / judged. Calls that failed or had no summary count as not passed; judge errors are left out.",
};

const ratio = (part: number, whole: number): number | null => (whole === 0 ? null : part / whole);

const COUNT_KEY = { correct: "correct", wrong: "wrong", hallucination: "hallucinations", miss: "misses", failed: "failed" } as const;

/** Counts fields by outcome, and by label (null or value) among calls that answered: the rates' denominators. */
class FieldCounter {
  readonly counts = { correct: 0, wrong: 0, hallucinations: 0, misses: 0, failed: 0 };
  nullLabels = 0;
  valueLabels = 0;
  readonly f1s: number[] = [];

  add(field: FieldResult): void {
    this.counts[COUNT_KEY[field.outcome]] += 1;
    if (field.outcome === "failed") return;
    if (field.expected === null) this.nullLabels += 1;
    else this.valueLabels += 1;
    if (field.f1 !== undefined) this.f1s.push(field.f1);
  }

  stats() {
    const { correct, wrong, hallucinations, misses, failed } = this.counts;
    const fields = correct + wrong + hallucinations + misses + failed;
    return {
      fields,
      ...this.counts,
      null_labels: this.nullLabels,
      value_labels: this.valueLabels,
      accuracy: ratio(correct, fields),
      hallucination_rate: ratio(hallucinations, this.nullLabels),
      miss_rate: ratio(misses, this.valueLabels),
    };
  }

  meanF1(): number | null {
    return ratio(this.f1s.reduce((a, b) => a + b, 0), this.f1s.length);
  }
}

/** Scores one call: every labelled variable but the unscored ones, in the order the request defines them. */
export function scoreItem(run: ItemRun, options: ScoreOptions): ItemResult {
  const { item, result, error } = run;
  const predicted = result?.extracted_variables ?? {};
  const fields: FieldResult[] = item.job.variables
    .filter((spec) => spec.name in item.expected && !UNSCORED_VARIABLES.has(spec.name))
    .map((spec) => {
      const expected = item.expected[spec.name] ?? null;
      if (!result) return { name: spec.name, type: spec.type, expected, predicted: null, outcome: "failed" };
      const value = predicted[spec.name] ?? null;
      const score = scoreField(spec.type, expected, value, options);
      return { name: spec.name, type: spec.type, expected, predicted: value, outcome: score.outcome, ...(score.f1 === undefined ? {} : { f1: score.f1 }) };
    });
  const correct = fields.filter((field) => field.outcome === "correct").length;
  const summary = predicted.summary;
  return {
    id: item.id,
    scenario: item.scenario,
    source: item.source,
    status: result ? "ok" : "failed",
    ...(error ? { error } : {}),
    ...(result
      ? {
          model: result.meta.model,
          latency_ms: result.meta.latency_ms,
          attempts: result.meta.attempts,
          chunks: result.meta.chunks,
          usage: result.meta.usage,
          summary: typeof summary === "string" ? summary : null,
        }
      : {}),
    accuracy: ratio(correct, fields.length),
    fields,
    ...(run.judged ? { summary_judge: run.judged.judgement } : {}),
    ...(item.notes ? { notes: item.notes } : {}),
    transcript: formatForModel(item.job.turns),
  };
}


/** Nearest-rank percentile; null for an empty list. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
}

export interface ReportInput {
  runs: readonly ItemRun[];
  run: Report["run"];
  score: ScoreOptions;
  prices: PriceTable;
  /** Set when --judge ran: the model that judged. */
  judgeModel?: string;
}

export function buildReport(input: ReportInput): Report {
  const items = input.runs.map((run) => scoreItem(run, input.score));

  const overall = new FieldCounter();
  const byVariable = new Map<string, { types: Set<string>; counter: FieldCounter }>();
  const byScenario = new Map<string, { items: number; failed: number; counter: FieldCounter }>();
  for (const item of items) {
    const scenario = byScenario.get(item.scenario) ?? { items: 0, failed: 0, counter: new FieldCounter() };
    byScenario.set(item.scenario, scenario);
    scenario.items += 1;
    if (item.status === "failed") scenario.failed += 1;
    for (const field of item.fields) {
      overall.add(field);
      scenario.counter.add(field);
      const variable = byVariable.get(field.name) ?? { types: new Set<string>(), counter: new FieldCounter() };
      byVariable.set(field.name, variable);
      variable.types.add(field.type);
      variable.counter.add(field);
    }
  }

  const failedItems = items.filter((item) => item.status === "failed");
  const byCode: Record<string, number> = {};
  for (const item of failedItems) byCode[item.error!.code] = (byCode[item.error!.code] ?? 0) + 1;

  const answered = input.runs.filter((run) => run.result).map((run) => run.result!);
  const latencies = answered.map((result) => result.meta.latency_ms);
  const calls = answered.map((result) => ({ model: result.meta.model, usage: result.meta.usage }));

  const report: Report = {
    run: input.run,
    definitions: DEFINITIONS,
    overall: { items: items.length, ...overall.stats(), schema_valid_rate: ratio(answered.length, items.length) },
    failed: { count: failedItems.length, by_code: byCode },
    by_variable: Object.fromEntries(
      [...byVariable.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, { types, counter }]): [string, VariableStats] => {
          const stats = counter.stats();
          const meanF1 = counter.meanF1();
          return [name, { type: [...types].join("|"), n: stats.fields, ...stats, ...(meanF1 === null ? {} : { mean_f1: meanF1 }) }];
        }),
    ),
    by_scenario: Object.fromEntries(
      [...byScenario.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, { items: n, failed, counter }]): [string, ScenarioStats] => [name, { items: n, failed_items: failed, ...counter.stats() }]),
    ),
    latency_ms: { p50: percentile(latencies, 0.5), p95: percentile(latencies, 0.95), max: latencies.length ? Math.max(...latencies) : null },
    usage: { ...sumUsage(calls.map((call) => call.usage)), ...costOf(calls, input.prices) },
    items,
  };

  if (input.judgeModel) report.summary_judge = summarizeJudge(input.runs, items, input.judgeModel, input.prices);
  return report;
}

function summarizeJudge(runs: readonly ItemRun[], items: readonly ItemResult[], model: string, prices: PriceTable): NonNullable<Report["summary_judge"]> {
  let judged = 0;
  let passed = 0;
  let errors = 0;
  for (const item of items) {
    const judgement = item.summary_judge;
    if (judgement && "error" in judgement) {
      errors += 1;
      continue;
    }
    // A call that failed never produced a summary to judge: it counts as not passed.
    judged += 1;
    if (judgement?.pass) passed += 1;
  }
  const calls = runs.filter((run) => run.judged).map((run) => ({ model, usage: run.judged!.usage }));
  return { model, judged, passed, accuracy: ratio(passed, judged), errors, usage: { ...sumUsage(calls.map((call) => call.usage)), ...costOf(calls, prices) } };
}
