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

export const ScenarioStatsSchema = z.object({
  items: Count,
  failed_items: Count,
  ...FieldCounts,
});

export const OverallSchema = z.object({
  items: Count,
  ...FieldCounts,
  schema_valid_rate: Rate,
});

const UsageTotals = z.object({
  prompt_tokens: Count,
  completion_tokens: Count,
  cost_usd: z.number().nonnegative().nullable(),
  note: z.string().optional(),
});

export const FieldResultSchema = z.object({
  name: z.string(),
  type: z.string(),
  expected: Json,
  predicted: Json,
  outcome: OutcomeSchema,
  f1: z.number().optional(),
});

const ErrorInfo = z.object({ code: z.string(), message: z.string() });

export const JudgementSchema = z.union([
  z.object({ pass: z.boolean(), reason: z.string() }),
  z.object({ error: ErrorInfo }),
]);

export const ItemResultSchema = z.object({
  id: z.string(),
  scenario: z.string(),
  /** `file:line` of the labelled call. */
  source: z.string(),
  status: z.enum(["ok", "failed"]),
  error: ErrorInfo.optional(),
  model: z.string().optional(),
  latency_ms: z.number().optional(),
  attempts: z.number().int().optional(),
  chunks: z.number().int().optional(),
  usage: z.object({ prompt_tokens: Count, completion_tokens: Count }).optional(),
  accuracy: Rate,
  fields: z.array(FieldResultSchema),
  /** The predicted summary (not scored unless --judge). */
  summary: z.string().nullable().optional(),
  summary_judge: JudgementSchema.optional(),
  notes: z.string().optional(),
  /** The call as the model saw it (`Agent: …` / `Customer: …` lines). */
  transcript: z.string(),
});

const Delta = z.object({ baseline: Rate, current: Rate, delta: z.number().nullable() });

export const ComparisonSchema = z.object({
  baseline: z.string(),
  max_drop: z.number(),
  regressed: z.boolean(),
  overall: Delta,
  by_variable: z.record(Delta),
  by_scenario: z.record(Delta),
});

export const ReportSchema = z.object({
  run: z.object({
    started_at: z.string(),
    finished_at: z.string(),
    model: z.string(),
    prompt_version: z.string(),
    structured_output: z.string(),
    datasets: z.array(z.string()),
    concurrency: z.number().int(),
    number_tolerance: z.number(),
    string_threshold: z.number(),
    judge: z.boolean(),
  }),
  definitions: z.record(z.string()),
  overall: OverallSchema,
  failed: z.object({ count: Count, by_code: z.record(Count) }),
  by_variable: z.record(VariableStatsSchema),
  by_scenario: z.record(ScenarioStatsSchema),
  latency_ms: z.object({ p50: z.number().nullable(), p95: z.number().nullable(), max: z.number().nullable() }),
  usage: UsageTotals,
  summary_judge: z
    .object({ model: z.string(), judged: Count, passed: Count, accuracy: Rate, errors: Count, usage: UsageTotals })
    .optional(),
  comparison: ComparisonSchema.optional(),
  items: z.array(ItemResultSchema),
});

/** What --compare needs from a baseline report: only the accuracies, so reports with more or less detail still load. */
export const BaselineSchema = z.object({
  overall: OverallSchema.pick({ accuracy: true }),
  by_variable: z.record(VariableStatsSchema.pick({ accuracy: true })).default({}),
  by_scenario: z.record(ScenarioStatsSchema.pick({ accuracy: true })).default({}),
});

export type Report = z.infer<typeof ReportSchema>;
export type Baseline = z.infer<typeof BaselineSchema>;
export type Comparison = z.infer<typeof ComparisonSchema>;
export type ItemResult = z.infer<typeof ItemResultSchema>;
export type FieldResult = z.infer<typeof FieldResultSchema>;
export type FieldOutcome = z.infer<typeof OutcomeSchema>;
export type VariableStats = z.infer<typeof VariableStatsSchema>;
export type ScenarioStats = z.infer<typeof ScenarioStatsSchema>;
export type Judgement = z.infer<typeof JudgementSchema>;
