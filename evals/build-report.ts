// Turns the runs into report.json: each labelled field scored, then counted per model overall, per variable,
// per scenario and per tag, with latency, spend per 1,000 calls and, when values carry confidence, calibration.
import { sumUsage } from "../src/extract/index.js";
import { formatForModel } from "../src/transcript/index.js";
import { calibrate, readConfidence } from "./calibration.js";
import { UNSCORED_VARIABLES, type DatasetItem } from "./dataset.js";
import { costOf, type PriceTable } from "../src/llm/prices.js";
import type { ItemRun } from "./run-items.js";
import type { CallInfo, FieldResult, GroupStats, ItemResult, ModelResult, Report, VariableStats } from "./report-schema.js";
import { isNested, scoreLeaves } from "./nested-score.js";
import { scoreField, type ScoreOptions } from "./score.js";

/** Written into every report, so a reader of the numbers has the meaning beside them. */
export const DEFINITIONS: Record<string, string> = {
  field: "One (call, variable) pair with a label in `expected`. `summary` is never a field (see summary_judge); `status` is one when labelled.",
  accuracy: "correct fields / all fields. Fields of failed calls count as not correct, so a broken model or endpoint looks broken.",
  hallucination_rate:
    "hallucinations / null_labels: of the fields whose label is null (the call never said), the share where the model gave a value anyway. Calls that failed are left out.",
  miss_rate:
    "misses / value_labels: of the fields whose label has a value, the share where the model answered null. Calls that failed are left out.",
  joint_accuracy:
    "Calls with every scored field right / calls with at least one scored field (joint goal accuracy). A failed call is not right.",
  wrong: "The label has a value and the model gave a different non-null value.",
  failed: "Fields of calls whose extraction raised an error (after the client's retries and the repair rounds); see `failed.by_code`.",
  schema_valid_rate: "Calls whose extraction returned a valid result / all calls.",
  equality:
    "boolean, enum, integer: exact. number: |predicted − expected| ≤ tolerance × |expected|. date: same calendar date. datetime: same instant (offsets may differ). string: equal after dropping case, accents, spacing and punctuation, or token F1 ≥ string_threshold. list: equal as sets (items compared like strings); mean_f1 gives set F1. 0, false, \"\" and [] are values, not null.",
  latency_ms: "Wall time of each successful extraction as the service measures it (meta.latency_ms, no cache), nearest-rank percentiles.",
  usage: "Tokens of successful extractions (a failed call's spend is not reported by the LLM client); cost from the price table, null when a model has no price.",
  per_1000_calls: "The mean tokens and cost of a successful call on this model, times 1,000. Cost is null when the model has no price.",
  calibration:
    "Only when the extraction results carry per-value confidence: the scored fields with a non-null answer, grouped by confidence; in each bucket, how many were right. A calibrated model's 0.9 is right 90% of the time. ece is the n-weighted mean gap.",
  by_tag: "The same counts for the calls carrying each tag of the dataset (`long`, `es`, `asr_noise`…); a call counts under each of its tags.",
  provisional_items: "Calls exported from production whose labels nobody has reviewed yet (`provisional: true`); scored like the others.",
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

/** A set of calls: their fields, how many failed, how many had every field right. */
class GroupCounter {
  readonly fields = new FieldCounter();
  items = 0;
  failedItems = 0;
  jointRight = 0;
  jointCounted = 0;

  add(item: ItemResult): void {
    this.items += 1;
    if (item.status === "failed") this.failedItems += 1;
    for (const field of item.fields) this.fields.add(field);
    if (item.all_correct === null) return;
    this.jointCounted += 1;
    if (item.all_correct) this.jointRight += 1;
  }

  stats(): GroupStats {
    return { items: this.items, failed_items: this.failedItems, ...this.fields.stats(), joint_accuracy: ratio(this.jointRight, this.jointCounted) };
  }
}

/** Scores one call on one model: every labelled variable but the unscored ones, in the order the request defines them. */
export function scoreItem(run: ItemRun, options: ScoreOptions): ItemResult {
  const { item, result, error } = run;
  const predicted = result?.extracted_variables ?? {};
  const confidence = result ? readConfidence(result) : undefined;
  const fields: FieldResult[] = item.job.variables
    .filter((spec) => spec.name in item.expected && !UNSCORED_VARIABLES.has(spec.name))
    .flatMap((spec): FieldResult[] => {
      if (!isNested(spec)) return [scoreFlat(spec)];
      // One result per leaf, named by its path; `variable` lets the report count them per variable as well.
      const value = result ? (predicted[spec.name] ?? null) : null;
      return scoreLeaves(spec, item.expected[spec.name] ?? null, value, spec.name, options).map((leaf) => ({
        name: leaf.path,
        variable: spec.name,
        type: leaf.type,
        expected: (leaf.expected ?? null) as FieldResult["expected"],
        predicted: (leaf.predicted ?? null) as FieldResult["predicted"],
        outcome: result ? leaf.outcome : "failed",
        ...(leaf.f1 === undefined || !result ? {} : { f1: leaf.f1 }),
      }));
    });
  function scoreFlat(spec: (typeof item.job.variables)[number]): FieldResult {
      const expected = item.expected[spec.name] ?? null;
      if (!result) return { name: spec.name, type: spec.type, expected, predicted: null, outcome: "failed" };
      const value = predicted[spec.name] ?? null;
      const score = scoreField(spec.type, expected, value, options);
      const sure = value === null ? undefined : confidence?.[spec.name];
      return {
        name: spec.name,
        type: spec.type,
        expected,
        predicted: value,
        outcome: score.outcome,
        ...(score.f1 === undefined ? {} : { f1: score.f1 }),
        ...(sure === undefined ? {} : { confidence: sure }),
      };
  }
  const correct = fields.filter((field) => field.outcome === "correct").length;
  const summary = predicted.summary;
  return {
    id: item.id,
    status: result ? "ok" : "failed",
    ...(error ? { error } : {}),
    ...(result
      ? {
          latency_ms: result.meta.latency_ms,
          attempts: result.meta.attempts,
          chunks: result.meta.chunks,
          usage: result.meta.usage,
          summary: typeof summary === "string" ? summary : null,
        }
      : {}),
    accuracy: ratio(correct, fields.length),
    all_correct: fields.length === 0 ? null : correct === fields.length,
    fields,
    ...(run.judged ? { summary_judge: run.judged.judgement } : {}),
  };
}

/** Nearest-rank percentile; null for an empty list. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
}

export interface ModelRuns {
  model: string;
  /** One run per dataset item, in dataset order. */
  runs: readonly ItemRun[];
}

export interface ReportInput {
  /** The labelled calls every model ran. */
  items: readonly DatasetItem[];
  models: readonly ModelRuns[];
  run: Report["run"];
  score: ScoreOptions;
  prices: PriceTable;
}

function callInfo(item: DatasetItem): CallInfo {
  return {
    id: item.id,
    scenario: item.scenario,
    source: item.source,
    tags: item.tags,
    ...(item.provisional === undefined ? {} : { provisional: item.provisional }),
    ...(item.notes ? { notes: item.notes } : {}),
    transcript: formatForModel(item.job.turns),
  };
}

function sortedRecord<T>(entries: Iterable<[string, T]>): Record<string, T> {
  return Object.fromEntries([...entries].sort(([a], [b]) => a.localeCompare(b)));
}

export function buildModelResult(model: string, runs: readonly ItemRun[], input: Pick<ReportInput, "score" | "prices" | "run">): ModelResult {
  const items = runs.map((run) => scoreItem(run, input.score));

  const overall = new GroupCounter();
  const byVariable = new Map<string, { types: Set<string>; counter: FieldCounter }>();
  const byScenario = new Map<string, GroupCounter>();
  const byTag = new Map<string, GroupCounter>();
  const group = (map: Map<string, GroupCounter>, key: string) => map.get(key) ?? map.set(key, new GroupCounter()).get(key)!;
  runs.forEach(({ item }, index) => {
    const result = items[index]!;
    overall.add(result);
    group(byScenario, item.scenario).add(result);
    for (const tag of item.tags) group(byTag, tag).add(result);
    for (const field of result.fields) {
      const variable = byVariable.get(field.name) ?? { types: new Set<string>(), counter: new FieldCounter() };
      byVariable.set(field.name, variable);
      variable.types.add(field.type);
      variable.counter.add(field);
      // A nested value's leaf counts under its path and under its variable.
      if (field.variable !== undefined && field.variable !== field.name) {
        const whole = byVariable.get(field.variable) ?? { types: new Set<string>(), counter: new FieldCounter() };
        byVariable.set(field.variable, whole);
        whole.types.add("object");
        whole.counter.add(field);
      }
    }
  });

  const byCode: Record<string, number> = {};
  for (const item of items) if (item.error) byCode[item.error.code] = (byCode[item.error.code] ?? 0) + 1;

  const answered = runs.filter((run) => run.result).map((run) => run.result!);
  const latencies = answered.map((result) => result.meta.latency_ms);
  const calls = answered.map((result) => ({ model: result.meta.model, usage: result.meta.usage }));
  const usage = { ...sumUsage(calls.map((call) => call.usage)), ...costOf(calls, input.prices) };

  const points = items.flatMap((item) => item.fields.filter((f) => f.confidence !== undefined).map((f) => ({ confidence: f.confidence!, correct: f.outcome === "correct" })));
  const totals = overall.stats();

  const result: ModelResult = {
    model,
    overall: {
      items: totals.items,
      ...overall.fields.stats(),
      schema_valid_rate: ratio(answered.length, items.length),
      joint_accuracy: totals.joint_accuracy,
    },
    failed: { count: overall.failedItems, by_code: byCode },
    by_variable: sortedRecord(
      [...byVariable.entries()].map(([name, { types, counter }]): [string, VariableStats] => {
        const stats = counter.stats();
        const meanF1 = counter.meanF1();
        return [name, { type: [...types].join("|"), n: stats.fields, ...stats, ...(meanF1 === null ? {} : { mean_f1: meanF1 }) }];
      }),
    ),
    by_scenario: sortedRecord([...byScenario.entries()].map(([name, counter]) => [name, counter.stats()])),
    by_tag: sortedRecord([...byTag.entries()].map(([name, counter]) => [name, counter.stats()])),
    latency_ms: { p50: percentile(latencies, 0.5), p95: percentile(latencies, 0.95), max: latencies.length ? Math.max(...latencies) : null },
    usage,
    per_1000_calls:
      answered.length === 0
        ? null
        : {
            prompt_tokens: (usage.prompt_tokens / answered.length) * 1000,
            completion_tokens: (usage.completion_tokens / answered.length) * 1000,
            cost_usd: usage.cost_usd === null ? null : (usage.cost_usd / answered.length) * 1000,
          },
    ...(points.length > 0 ? { calibration: calibrate(points) } : {}),
    items,
  };
  const judgeModel = input.run.judge_model;
  if (input.run.judge && judgeModel) result.summary_judge = summarizeJudge(runs, items, judgeModel, input.prices);
  return result;
}

export function buildReport(input: ReportInput): Report {
  return {
    run: input.run,
    dataset: {
      items: input.items.length,
      provisional_items: input.items.filter((item) => item.provisional === true).length,
      scenarios: new Set(input.items.map((item) => item.scenario)).size,
    },
    definitions: DEFINITIONS,
    calls: input.items.map(callInfo),
    models: input.models.map(({ model, runs }) => buildModelResult(model, runs, input)),
  };
}

function summarizeJudge(runs: readonly ItemRun[], items: readonly ItemResult[], model: string, prices: PriceTable): NonNullable<ModelResult["summary_judge"]> {
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
