// `npm run eval`: runs labelled calls through the service's extraction pipeline on one model or several, scores
// them, writes report.json and report.html, prints a summary, and gates on a baseline. Exit 0 ok, 1 regression,
// 2 bad input, 3 crash.
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadSettings, SettingsError, type Settings } from "../src/settings.js";
import { LlmNotConfiguredError, LocalModelUnavailableError, LocalRuntimeNotInstalledError } from "../src/errors.js";
import { Extractor } from "../src/extract/index.js";
import { createLlm, LocalLlm } from "../src/llm/index.js";
import { terminalDownloadBar } from "../src/llm/download-bar.js";
import { tokenCounter } from "../src/transcript/index.js";
import { buildReport, type ModelRuns } from "./build-report.js";
import { parseEvalArgs, USAGE, UsageError, type EvalOptions } from "./cli-options.js";
import { assertComparable, BaselineError, compareReports, loadBaseline } from "./compare.js";
import { DatasetError, loadDatasets } from "./dataset.js";
import { createSummaryJudge } from "./judge.js";
import { loadPrices, PricesError } from "../src/llm/prices.js";
import { createProgress } from "./progress.js";
import { renderHtml } from "./render-html.js";
import { renderComparison, renderTerminalReport } from "./render-table.js";
import { runItems } from "./run-items.js";

/** 3 is a crash of the harness itself, so CI never mistakes one for a regression (1). */
const EXIT = { ok: 0, regression: 1, usage: 2, crash: 3 } as const;

async function evaluate(options: EvalOptions, settings: Settings): Promise<number> {
  const models = options.models.length > 0 ? options.models : [settings.llm.model];
  // Everything that can be wrong with the input is checked before the first LLM call.
  const prices = loadPrices(options.prices);
  const baseline = options.compare ? loadBaseline(options.compare) : undefined;
  if (baseline && options.compare) assertComparable(baseline, models, options.compare);
  const items = loadDatasets(options.datasets, settings.limits);
  if (!settings.llm.configured) throw new LlmNotConfiguredError();

  // One judge for every model, so their summaries are graded by the same standard.
  const judgeModel = options.judge ? (options.judgeModel ?? models[0]!) : undefined;
  const llm = createLlm(settings.llm, { onDownloadProgress: process.stderr.isTTY ? terminalDownloadBar(process.stderr) : undefined });
  if (llm instanceof LocalLlm) {
    // Downloaded once into DEBRIEF_DATA_DIR/models (a progress bar on a terminal), then loaded: every call waits for it.
    process.stderr.write(`Loading the local model ${settings.llm.model}…\n`);
    localLlm = llm;
    await llm.start();
  }
  // No cache: every call reaches the LLM, so latency and cost are real.
  const extractor = new Extractor({ llm, settings: settings.llm });
  const judge = judgeModel
    ? createSummaryJudge({ llm, model: judgeModel, mode: settings.llm.structuredOutput, repairAttempts: settings.llm.repairAttempts })
    : undefined;

  if (options.concurrency > settings.llm.concurrency) {
    process.stderr.write(
      `Note: --concurrency ${options.concurrency} is above DEBRIEF_LLM_CONCURRENCY=${settings.llm.concurrency}: calls will queue for the LLM, and their latency includes the wait.\n`,
    );
  }
  const startedAt = new Date();
  const progress = createProgress(items.length * models.length);
  const modelRuns: ModelRuns[] = [];
  // One model after the other: models running at once would share the concurrency bound and skew each other's latency.
  for (const model of models) {
    // A running service has its tokenizer loaded; loading it now keeps that one-off second out of the first calls' latency.
    tokenCounter(model);
    const runs = await runItems(items, { extractor, concurrency: options.concurrency, model, judge, onItemDone: (run) => progress.itemDone(run) });
    modelRuns.push({ model, runs });
  }
  progress.stop();

  const report = buildReport({
    items,
    models: modelRuns,
    run: {
      started_at: startedAt.toISOString(),
      finished_at: new Date().toISOString(),
      models,
      prompt_version: extractor.promptVersion,
      structured_output: settings.llm.structuredOutput,
      datasets: options.datasets,
      concurrency: options.concurrency,
      number_tolerance: options.numberTolerance,
      string_threshold: options.stringThreshold,
      judge: options.judge,
      ...(judgeModel ? { judge_model: judgeModel } : {}),
    },
    score: { numberTolerance: options.numberTolerance, stringThreshold: options.stringThreshold },
    prices,
  });
  if (baseline && options.compare) {
    report.comparison = compareReports(baseline, report.models, { maxDrop: options.maxDrop, baselinePath: options.compare });
  }

  const outDir = resolve(options.out ?? join("evals", "out", startedAt.toISOString().replace(/[:.]/g, "-")));
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, "report.json"), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(outDir, "report.html"), renderHtml(report));

  process.stdout.write(`\n${renderTerminalReport(report)}\n`);
  if (report.comparison) process.stdout.write(`\n${renderComparison(report.comparison)}\n`);
  process.stdout.write(`\nReport: ${join(outDir, "report.json")}\n        ${join(outDir, "report.html")} (every table in full)\n`);
  return report.comparison?.regressed ? EXIT.regression : EXIT.ok;
}

/** Errors a user fixes by changing the command, the environment or the dataset: exit 2 with the message alone. */
const INPUT_ERRORS = [UsageError, SettingsError, DatasetError, PricesError, BaselineError, LlmNotConfiguredError, LocalModelUnavailableError, LocalRuntimeNotInstalledError];

/** The local model, when the run loads one: freed before the process exits, whatever happens. */
let localLlm: LocalLlm | undefined;

async function main(argv: readonly string[], env: Record<string, string | undefined>): Promise<number> {
  try {
    const options = parseEvalArgs(argv);
    if (options === "help") {
      process.stdout.write(`${USAGE}\n`);
      return EXIT.ok;
    }
    return await evaluate(options, loadSettings(env));
  } catch (error) {
    if (!INPUT_ERRORS.some((type) => error instanceof type)) {
      process.stderr.write(`The eval harness crashed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      return EXIT.crash;
    }
    process.stderr.write(`${(error as Error).message}\n`);
    if (error instanceof UsageError) process.stderr.write(`\n${USAGE}\n`);
    return EXIT.usage;
  } finally {
    await localLlm?.close();
  }
}

process.exitCode = await main(process.argv.slice(2), process.env);
