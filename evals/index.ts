// Public surface of the eval harness: the pure core (scoring, loading, reporting, comparing) that tests and tools use.
export { scoreField, tokenF1, setF1, normalizedTokens, DEFAULT_SCORE_OPTIONS, type Outcome, type ScoreOptions, type FieldScore } from "./score.js";
export { parseDataset, loadDatasets, DatasetError, UNSCORED_VARIABLES, type DatasetItem, type DatasetProblem } from "./dataset.js";
export { buildReport, buildModelResult, scoreItem, percentile, DEFINITIONS, type ModelRuns } from "./build-report.js";
export { calibrate, readConfidence, BUCKET_EDGES, type ConfidencePoint } from "./calibration.js";
export { compareReports, pairModels, loadBaseline, BaselineError } from "./compare.js";
export { costOf, loadPrices, priceFor, PricesError, type PriceTable } from "../src/llm/prices.js";
export { parseEvalArgs, UsageError, type EvalOptions } from "./cli-options.js";
export { runItems, type ItemRun } from "./run-items.js";
export { createSummaryJudge, type SummaryJudge } from "./judge.js";
export { renderHtml, escapeHtml } from "./render-html.js";
export { renderTerminalReport, renderComparison, worstVariables } from "./render-table.js";
export { ReportSchema, BaselineSchema, type Report, type Comparison, type ItemResult, type ModelResult } from "./report-schema.js";
