// Runs every labelled call through the service's own Extractor, a bounded number at a time; a failure is
// recorded with its error code and never stops the run.
import pLimit from "p-limit";
import { DebriefError } from "../src/errors.js";
import type { ExtractResult, Extractor } from "../src/extract/index.js";
import type { DatasetItem } from "./dataset.js";
import type { JudgedSummary, SummaryJudge } from "./judge.js";

export interface ItemRun {
  item: DatasetItem;
  /** The model the call ran on. */
  model: string;
  /** Present when the extraction returned a valid result. */
  result?: ExtractResult;
  error?: { code: string; message: string };
  judged?: JudgedSummary;
}

export interface RunItemsOptions {
  extractor: Pick<Extractor, "extract">;
  /** Calls in flight at once (each may make several LLM requests: chunks, repair rounds). */
  concurrency: number;
  /** The model every call runs on, as a request's `options.model` would set it. */
  model: string;
  judge?: SummaryJudge;
  onItemDone?: (run: ItemRun) => void;
}

function describeError(error: unknown): { code: string; message: string } {
  if (error instanceof DebriefError) return { code: error.code, message: error.message };
  return { code: "internal_error", message: error instanceof Error ? error.message : String(error) };
}

async function runOne(item: DatasetItem, options: RunItemsOptions): Promise<ItemRun> {
  const { model } = options;
  const job = { ...item.job, options: { ...item.job.options, model } };
  let run: ItemRun;
  try {
    run = { item, model, result: await options.extractor.extract(job) };
  } catch (error) {
    return { item, model, error: describeError(error) };
  }
  if (options.judge) {
    const summary = run.result!.extracted_variables.summary;
    const reference = item.expected.summary;
    run.judged = await options.judge(job, typeof summary === "string" ? summary : null, typeof reference === "string" ? reference : null);
  }
  return run;
}

/** Results come back in dataset order, whatever order the calls finish in. */
export async function runItems(items: readonly DatasetItem[], options: RunItemsOptions): Promise<ItemRun[]> {
  const limit = pLimit(options.concurrency);
  return Promise.all(
    items.map((item) =>
      limit(async () => {
        const run = await runOne(item, options);
        options.onItemDone?.(run);
        return run;
      }),
    ),
  );
}
