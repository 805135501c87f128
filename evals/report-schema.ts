// The shape of report.json, in zod: the one definition the report builder's types and the --compare reader share.
import { z } from "zod";

/** A share from 0 to 1, or null when nothing was counted (its denominator was 0). */
const Rate = z.number().min(0).max(1).nullable();
const Count = z.number().int().nonnegative();
const Json = z.unknown();

export const OutcomeSchema = z.enum(["correct", "wrong", "hallucination", "miss", "failed"]);

/** Counts over a set of scored fields; `failed` are fields of items whose extraction failed. */
const FieldCounts = {
  fields: Count,
  correct: Count,
  wrong: Count,
  hallucinations: Count,
  misses: Count,
  failed: Count,
  /** Fields labelled null, of items that returned a result: the denominator of hallucination_rate. */
  null_labels: Count,
  /** Fields labelled with a value, of items that returned a result: the denominator of miss_rate. */
  value_labels: Count,
  accuracy: Rate,
  hallucination_rate: Rate,
  miss_rate: Rate,
};

export const VariableStatsSchema = z.object({
  type: z.string(),
  /** Labelled fields of this variable: the denominator of accuracy. */
  n: Count,
  ...FieldCounts,
  /** Strings and lists: mean token/set F1 over the fields of items that returned a result. */
  mean_f1: z.number().min(0).max(1).optional(),
});

/** A group of calls (a scenario, a tag): field counts, and the share of its calls with every field right. */
export const GroupStatsSchema = z.object({
  items: Count,
  failed_items: Count,
  ...FieldCounts,
  joint_accuracy: Rate,
});

export const OverallSchema = z.object({
  items: Count,
  ...FieldCounts,
  schema_valid_rate: Rate,
  /** Calls with every scored field right / calls with at least one scored field (failed calls count as not right). */
  joint_accuracy: Rate,
});

const UsageTotals = z.object({
  prompt_tokens: Count,
  completion_tokens: Count,
  cost_usd: z.number().nonnegative().nullable(),
  note: z.string().optional(),
});

/** Mean spend of a successful call, times 1,000: what a thousand calls like these cost on this model. */
const PerThousandCalls = z.object({
  prompt_tokens: z.number().nonnegative(),
  completion_tokens: z.number().nonnegative(),
  cost_usd: z.number().nonnegative().nullable(),
});

export const FieldResultSchema = z.object({
  /** The variable, or for a nested value the leaf's path (`order.items[].quantity`). */
  name: z.string(),
  /** For a nested value's leaf: the variable it belongs to. */
  variable: z.string().optional(),
  type: z.string(),
  expected: Json,
  predicted: Json,
  outcome: OutcomeSchema,
  f1: z.number().optional(),
  /** The model's confidence in its (non-null) value, when the extraction result carries one. */
  confidence: z.number().min(0).max(1).optional(),
});

const ErrorInfo = z.object({ code: z.string(), message: z.string() });

export const JudgementSchema = z.union([
  z.object({ pass: z.boolean(), reason: z.string() }),
  z.object({ error: ErrorInfo }),
]);

/** One labelled call, once per report whatever the number of models. */
export const CallInfoSchema = z.object({
  id: z.string(),
  scenario: z.string(),
  /** `file:line` of the labelled call. */
  source: z.string(),
  tags: z.array(z.string()),
  provisional: z.boolean().optional(),
  notes: z.string().optional(),
  /** The call as the model saw it (`Agent: …` / `Customer: …` lines). */
  transcript: z.string(),
});

/** One call's outcome on one model; `id` joins it to its CallInfo. */
export const ItemResultSchema = z.object({
  id: z.string(),
  status: z.enum(["ok", "failed"]),
  error: ErrorInfo.optional(),
  latency_ms: z.number().optional(),
  attempts: z.number().int().optional(),
  chunks: z.number().int().optional(),
  usage: z.object({ prompt_tokens: Count, completion_tokens: Count }).optional(),
  accuracy: Rate,
  /** Every scored field right (null when the call has no scored field). */
  all_correct: z.boolean().nullable(),
  fields: z.array(FieldResultSchema),
  /** The predicted summary (not scored unless --judge). */
  summary: z.string().nullable().optional(),
  summary_judge: JudgementSchema.optional(),
});

/** Values the model was n% sure of: how often they were right. `to` is exclusive except for the last bucket (1.0). */
export const CalibrationSchema = z.object({
  /** Scored fields with a non-null answer and a confidence. */
  fields: Count,
  buckets: z.array(
    z.object({ from: z.number(), to: z.number(), n: Count, mean_confidence: z.number().nullable(), accuracy: Rate }),
  ),
  /** Expected calibration error: the n-weighted mean of |accuracy − mean confidence| over the buckets. */
  ece: z.number().nullable(),
});

export const ModelResultSchema = z.object({
  model: z.string(),
  overall: OverallSchema,
  failed: z.object({ count: Count, by_code: z.record(Count) }),
  by_variable: z.record(VariableStatsSchema),
  by_scenario: z.record(GroupStatsSchema),
  by_tag: z.record(GroupStatsSchema),
  latency_ms: z.object({ p50: z.number().nullable(), p95: z.number().nullable(), max: z.number().nullable() }),
  usage: UsageTotals,
  per_1000_calls: PerThousandCalls.nullable(),
  /** Present only when the extraction results carried per-value confidence. */
  calibration: CalibrationSchema.optional(),
  summary_judge: z
    .object({ model: z.string(), judged: Count, passed: Count, accuracy: Rate, errors: Count, usage: UsageTotals })
    .optional(),
  items: z.array(ItemResultSchema),
});

const Delta = z.object({ baseline: Rate, current: Rate, delta: z.number().nullable() });

export const ModelComparisonSchema = z.object({
  model: z.string(),
  /** The baseline model it was compared with (the same name, or the only model of each side). */
  baseline_model: z.string(),
  regressed: z.boolean(),
  overall: Delta,
  by_variable: z.record(Delta),
  by_scenario: z.record(Delta),
});

export const ComparisonSchema = z.object({
  baseline: z.string(),
  max_drop: z.number(),
  /** Any compared model fell by more than max_drop. */
  regressed: z.boolean(),
  models: z.array(ModelComparisonSchema),
  /** Models of this run the baseline has no result for: shown, never gated. */
  unmatched: z.array(z.string()),
});

export const ReportSchema = z.object({
  run: z.object({
    started_at: z.string(),
    finished_at: z.string(),
    /** In the order given; every model ran the same calls. */
    models: z.array(z.string()).min(1),
    prompt_version: z.string(),
    structured_output: z.string(),
    datasets: z.array(z.string()),
    concurrency: z.number().int(),
    number_tolerance: z.number(),
    string_threshold: z.number(),
    judge: z.boolean(),
    judge_model: z.string().optional(),
  }),
  dataset: z.object({ items: Count, provisional_items: Count, scenarios: Count }),
  definitions: z.record(z.string()),
  calls: z.array(CallInfoSchema),
  models: z.array(ModelResultSchema).min(1),
  comparison: ComparisonSchema.optional(),
});

const Accuracies = {
  overall: z.object({ accuracy: Rate }),
  by_variable: z.record(z.object({ accuracy: Rate })).default({}),
  by_scenario: z.record(z.object({ accuracy: Rate })).default({}),
};

/**
 * What --compare needs from a baseline: each model's accuracies, so reports with more or less detail still load.
 * A report from before the model matrix (one model, its numbers at the top level) reads as a one-model baseline.
 */
export const BaselineSchema = z.union([
  z.object({ models: z.array(z.object({ model: z.string(), ...Accuracies })).min(1) }).transform((report) => report.models),
  z
    .object({ run: z.object({ model: z.string() }).partial().optional(), ...Accuracies })
    .transform((report) => [{ model: report.run?.model ?? "baseline", overall: report.overall, by_variable: report.by_variable, by_scenario: report.by_scenario }]),
]);

export type Report = z.infer<typeof ReportSchema>;
export type Baseline = z.infer<typeof BaselineSchema>;
export type BaselineModel = Baseline[number];
export type Comparison = z.infer<typeof ComparisonSchema>;
export type ModelComparison = z.infer<typeof ModelComparisonSchema>;
export type ModelResult = z.infer<typeof ModelResultSchema>;
export type CallInfo = z.infer<typeof CallInfoSchema>;
export type ItemResult = z.infer<typeof ItemResultSchema>;
export type FieldResult = z.infer<typeof FieldResultSchema>;
export type FieldOutcome = z.infer<typeof OutcomeSchema>;
export type VariableStats = z.infer<typeof VariableStatsSchema>;
export type GroupStats = z.infer<typeof GroupStatsSchema>;
export type Calibration = z.infer<typeof CalibrationSchema>;
export type Judgement = z.infer<typeof JudgementSchema>;
