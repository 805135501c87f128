// The eval command's flags: parsed with node:util, validated with zod, turned into EvalOptions.
import { parseArgs } from "node:util";
import { z } from "zod";
import { DEFAULT_SCORE_OPTIONS } from "./score.js";

export const USAGE = `Usage: npm run eval -- --dataset <file.jsonl or folder> [options]

  --dataset PATH           labelled calls: a .jsonl file or a folder of them (repeatable)
  --model NAME             extract with this model instead of DEBRIEF_MODEL
  --models A,B,…           run the same calls on each model in turn, one report side by side
  --concurrency N          calls in flight at once (default 4)
  --out DIR                where report.json and report.html go (default evals/out/<timestamp>)
  --compare REPORT         a baseline report.json (or its folder): print deltas, gate on each model's overall accuracy
  --max-drop RATE          with --compare: exit 1 when overall accuracy falls by more than this (default 0.02)
  --judge                  grade each extracted summary with an LLM judge (reported as summary_judge)
  --judge-model NAME       the judge's model (default: the first extraction model)
  --string-threshold F1    token F1 from which two strings count as the same answer (default ${DEFAULT_SCORE_OPTIONS.stringThreshold})
  --number-tolerance REL   relative tolerance for number variables (default ${DEFAULT_SCORE_OPTIONS.numberTolerance})
  --prices FILE            prices (USD per 1M tokens) that add to or replace src/llm/prices.ts
  --help                   show this text

Exit codes: 0 done, 1 overall accuracy regressed beyond --max-drop, 2 bad usage, settings or dataset.
The LLM comes from the environment, as for the service: OPENAI_API_KEY, OPENAI_BASE_URL, DEBRIEF_MODEL,
DEBRIEF_STRUCTURED_OUTPUT (json_object for servers without json_schema).`;

export class UsageError extends Error {}

const number = () => z.coerce.number({ invalid_type_error: "must be a number" });
const rate = () => number().min(0, "must be between 0 and 1").max(1, "must be between 0 and 1");

/** A model name, as a request's options.model takes it. */
const modelName = () => z.string().trim().min(1, "needs a model name").max(200, "is longer than 200 characters");

const OptionsSchema = z.object({
  datasets: z.array(z.string().min(1)).min(1, "is required"),
  /** Empty: DEBRIEF_MODEL. Distinct names, in the order given. */
  models: z
    .array(modelName())
    .refine((names) => new Set(names).size === names.length, "names a model twice")
    .default([]),
  concurrency: number().int("must be a whole number").positive("must be at least 1").default(4),
  out: z.string().min(1).optional(),
  compare: z.string().min(1).optional(),
  maxDrop: rate().default(0.02),
  judge: z.boolean().default(false),
  judgeModel: modelName().optional(),
  stringThreshold: rate().default(DEFAULT_SCORE_OPTIONS.stringThreshold),
  numberTolerance: number().nonnegative("must be at least 0").default(DEFAULT_SCORE_OPTIONS.numberTolerance),
  prices: z.string().min(1).optional(),
});

export type EvalOptions = z.infer<typeof OptionsSchema>;

/** maxDrop → --max-drop; datasets → --dataset. */
function flagName(key: string): string {
  return key === "datasets" ? "--dataset" : `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** `--help` gives "help"; anything malformed throws UsageError with a message for a person. */
export function parseEvalArgs(argv: readonly string[]): EvalOptions | "help" {
  let values: Record<string, string | string[] | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        dataset: { type: "string", multiple: true },
        model: { type: "string" },
        models: { type: "string", multiple: true },
        concurrency: { type: "string" },
        out: { type: "string" },
        compare: { type: "string" },
        "max-drop": { type: "string" },
        judge: { type: "boolean" },
        "judge-model": { type: "string" },
        "string-threshold": { type: "string" },
        "number-tolerance": { type: "string" },
        prices: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return "help";
  if (values.model !== undefined && values.models !== undefined) throw new UsageError("--model and --models cannot be used together: list every model in --models");
  // --models a,b and --models a --models b say the same thing; --model is --models with one name.
  const models = values.model !== undefined ? [values.model] : (values.models as string[] | undefined)?.flatMap((list) => list.split(",")) ?? [];
  const parsed = OptionsSchema.safeParse({
    datasets: values.dataset ?? [],
    models,
    concurrency: values.concurrency,
    out: values.out,
    compare: values.compare,
    maxDrop: values["max-drop"],
    judge: values.judge,
    judgeModel: values["judge-model"],
    stringThreshold: values["string-threshold"],
    numberTolerance: values["number-tolerance"],
    prices: values.prices,
  });
  if (!parsed.success) {
    throw new UsageError(parsed.error.issues.map((issue) => `${flagName(String(issue.path[0]))} ${issue.message}`).join("\n"));
  }
  return parsed.data;
}
