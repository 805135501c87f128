// The summary judge over real HTTP, on a shipped dataset: each call's reference summary reaches the judge through the
// openai SDK and the loopback LLM server, one judge grades every model's summaries, and the verdicts land in the report.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildReport, createSummaryJudge, loadDatasets, loadPrices, runItems, type DatasetItem } from "../../evals/index.js";
import { loadSettings } from "../../src/settings.js";
import { Extractor } from "../../src/extract/index.js";
import { createLlm } from "../../src/llm/index.js";
import { answerFor, startFakeLlm, userMessage, type FakeLlm, type RecordedRequest, type Reply } from "../support/fake-llm.js";

const DATASET = "evals/datasets/recruiting_screen.jsonl";
const MODELS = ["gpt-4o-mini", "gpt-4.1-mini"];
/** The judge fails this call's summary; it passes every other. */
const FAILED_BY_JUDGE = "recruit-004";

let llm: FakeLlm;
let items: DatasetItem[];

const isJudge = (request: RecordedRequest) => request.body.response_format?.json_schema?.name === "summary_judgement";

/** The dataset call a request is about: the only one whose first line the request quotes. */
function callFor(request: RecordedRequest): DatasetItem {
  const message = userMessage(request);
  const matches = items.filter((item) => message.includes(item.job.turns[0]!.text));
  if (matches.length !== 1) throw new Error(`expected one call to match, got ${matches.length}`);
  return matches[0]!;
}

function reply(request: RecordedRequest): Reply {
  const call = callFor(request);
  if (isJudge(request)) return { json: { values: { passes: call.id !== FAILED_BY_JUDGE, reason: "Checked against the reference." } } };
  return { json: answerFor(request, { ...call.expected, summary: `Screened ${String(call.expected.candidate_name)}.` }) };
}

beforeAll(async () => {
  llm = await startFakeLlm(reply);
  items = loadDatasets([DATASET], { maxVariables: 200, maxDescriptionChars: 2000 });
});
afterAll(async () => {
  await llm.close();
});

describe("the summary judge on a shipped dataset", () => {
  it("grades every model's summaries with one judge that reads the transcript and the call's reference summary", async () => {
    const settings = loadSettings({ OPENAI_BASE_URL: llm.url, OPENAI_API_KEY: "test-key", DEBRIEF_LLM_MAX_RETRIES: "0" });
    const client = createLlm(settings.llm);
    const extractor = new Extractor({ llm: client, settings: settings.llm });
    const judge = createSummaryJudge({ llm: client, model: MODELS[0]!, mode: "json_schema", repairAttempts: 1 });
    const models = [];
    for (const model of MODELS) models.push({ model, runs: await runItems(items, { extractor, concurrency: 2, model, judge }) });

    const judged = llm.requests.filter(isJudge);
    expect(judged).toHaveLength(items.length * MODELS.length);
    expect(new Set(judged.map((request) => request.body.model))).toEqual(new Set([MODELS[0]]));
    for (const request of judged) {
      const call = callFor(request);
      const message = userMessage(request);
      expect(typeof call.expected.summary).toBe("string");
      expect(message).toContain(`Reference summary: ${JSON.stringify(call.expected.summary)}`);
      expect(message).toContain(`Summary to grade: ${JSON.stringify(`Screened ${String(call.expected.candidate_name)}.`)}`);
      expect(message).toContain(`Customer: ${call.job.turns[1]!.text}`);
    }

    const report = buildReport({
      items,
      models,
      run: {
        started_at: "2026-06-12T00:00:00.000Z",
        finished_at: "2026-06-12T00:01:00.000Z",
        models: MODELS,
        prompt_version: "test",
        structured_output: "json_schema",
        datasets: [DATASET],
        concurrency: 2,
        number_tolerance: 0.01,
        string_threshold: 0.8,
        judge: true,
        judge_model: MODELS[0]!,
      },
      score: { numberTolerance: 0.01, stringThreshold: 0.8 },
      prices: loadPrices(),
    });
    for (const result of report.models) {
      expect(result.summary_judge).toMatchObject({ model: MODELS[0], judged: items.length, passed: items.length - 1, errors: 0 });
      expect(result.items.find((item) => item.id === FAILED_BY_JUDGE)?.summary_judge).toEqual({ pass: false, reason: "Checked against the reference." });
      // The labels were answered exactly: the judge's verdicts never change accuracy.
      expect(result.overall.accuracy).toBe(1);
    }
  });
});
