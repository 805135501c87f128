// `npm run eval` end to end: a real process, the real openai SDK, a scripted loopback LLM and the fixture calls.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Report } from "../../evals/index.js";
import { answerFor, startFakeLlm, userMessage, type FakeLlm, type RecordedRequest, type Reply } from "../support/fake-llm.js";

const DATASET = "test/fixtures/evals/calls";

interface Labelled {
  id: string;
  scenario: string;
  expected: Record<string, unknown>;
}

const LABELLED: Labelled[] = readdirSync(DATASET)
  .filter((name) => name.endsWith(".jsonl"))
  .flatMap((name) => readFileSync(join(DATASET, name), "utf8").split("\n").filter(Boolean))
  .map((line) => JSON.parse(line) as Labelled);

/** A phrase only that call's transcript has: how the fake LLM knows which call it is answering. */
const PHRASES: Record<string, string> = {
  "hvac-001": "grinding noise",
  "hvac-002": "Okafor residence",
  "plumb-003": "FlowRight Plumbing",
  "sales-001": "Brightline Logistics",
  "sales-002": "Take me off your list",
  "support-001": "error E-42",
};

/** Scored fields: every label but summary. */
const FIELDS = LABELLED.flatMap((call) => Object.entries(call.expected).filter(([name]) => name !== "summary"));

function callFor(request: RecordedRequest): Labelled {
  const message = userMessage(request);
  const matches = LABELLED.filter((call) => message.includes(PHRASES[call.id]!));
  if (matches.length !== 1) throw new Error(`expected exactly one call to match, got ${matches.map((c) => c.id).join(", ") || "none"}`);
  return matches[0]!;
}

function answer(request: RecordedRequest, values: Record<string, unknown>): Reply {
  return { json: answerFor(request, values) };
}

const answerTheLabels = (request: RecordedRequest): Reply => answer(request, { ...callFor(request).expected, summary: "A short note." });
const answerNull = (request: RecordedRequest): Reply => answer(request, {});

let llm: FakeLlm;
let outRoot: string;

beforeAll(async () => {
  llm = await startFakeLlm();
  outRoot = mkdtempSync(join(tmpdir(), "debrief-eval-"));
});
afterAll(async () => {
  await llm.close();
});

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
  out: string;
  report: () => Report;
}

/** Spawns the CLI as CI would; async, because the fake LLM answers from this process's event loop. */
async function runEval(name: string, args: string[], script: FakeLlm["script"]): Promise<Finished> {
  llm.script = script;
  llm.requests.length = 0;
  const out = join(outRoot, name);
  const child = spawn(process.execPath, ["--import", "tsx", "evals/run.ts", "--out", out, ...args], {
    env: { PATH: process.env.PATH, OPENAI_BASE_URL: llm.url, OPENAI_API_KEY: "test-key", DEBRIEF_LLM_MAX_RETRIES: "0" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => (stdout += chunk));
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  return { code, stdout, stderr, out, report: () => JSON.parse(readFileSync(join(out, "report.json"), "utf8")) as Report };
}

describe("npm run eval", () => {
  it("scores 1.0 when the LLM answers exactly the labels, and writes both reports", async () => {
    const run = await runEval("labels", ["--dataset", DATASET], answerTheLabels);
    expect(run.stderr).not.toMatch(/FAILED|crashed/);
    expect(run.code).toBe(0);

    const report = run.report();
    expect(report.run.models).toEqual(["gpt-4o-mini"]);
    const [model] = report.models;
    expect(model!.overall).toMatchObject({
      accuracy: 1,
      hallucination_rate: 0,
      miss_rate: 0,
      joint_accuracy: 1,
      items: LABELLED.length,
      fields: FIELDS.length,
      schema_valid_rate: 1,
    });
    expect(model!.failed).toEqual({ count: 0, by_code: {} });
    expect(Object.keys(model!.by_scenario)).toEqual(["home_services", "sales", "support"]);
    expect(Object.keys(model!.by_variable).sort()).toEqual([...new Set(FIELDS.map(([name]) => name))].sort());
    expect(report.calls.map((call) => call.id)).toEqual(LABELLED.map((call) => call.id));
    expect(model!.items.map((item) => item.id)).toEqual(LABELLED.map((call) => call.id));
    expect(model!.latency_ms.p50).toEqual(expect.any(Number));
    expect(model!.latency_ms.p95).toEqual(expect.any(Number));
    // The fake LLM bills 100 prompt + 20 completion tokens per call; gpt-4o-mini has a price.
    expect(model!.usage).toMatchObject({ prompt_tokens: 100 * LABELLED.length, completion_tokens: 20 * LABELLED.length });
    expect(model!.usage.cost_usd).toBeGreaterThan(0);
    expect(model!.per_1000_calls).toMatchObject({ prompt_tokens: 100_000, completion_tokens: 20_000 });
    expect(model!.calibration).toBeUndefined();
    expect(report.definitions.hallucination_rate).toBeTruthy();
    expect(llm.requests).toHaveLength(LABELLED.length);
    expect(llm.requests.every((request) => request.body.model === "gpt-4o-mini")).toBe(true);

    expect(run.stdout).toMatch(/gpt-4o-mini\s+100\.0%\s+0\.0%\s+0\.0%\s+100\.0%\s+100\.0%/);
    expect(run.stdout).toContain("Every variable at 100%.");
    expect(run.stderr).toContain(`[${LABELLED.length}/${LABELLED.length}] gpt-4o-mini `);

    const html = readFileSync(join(run.out, "report.html"), "utf8");
    expect(html).toContain("&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt; &amp; see what happens");
    expect(html).not.toMatch(/<script/i);
  });

  it("reports accuracy by confidence when the server gives token log-probabilities", async () => {
    llm.logprobs = "give";
    try {
      const run = await runEval("confidence", ["--dataset", DATASET], answerTheLabels);
      expect(run.code).toBe(0);
      const calibration = run.report().models[0]!.calibration!;
      expect(calibration.fields).toBeGreaterThan(0);
      // Every token near certain (p 0.9999), every answer right: all in the top bucket, right every time.
      const top = calibration.buckets.at(-1)!;
      expect(top).toMatchObject({ from: 0.99, to: 1, n: calibration.fields, accuracy: 1 });
      expect(llm.requests.every((request) => request.body.logprobs === true)).toBe(true);
    } finally {
      llm.logprobs = "omit";
    }
  });

  it("scores exactly the share of null labels when the LLM answers null everywhere, and the gate fails (exit 1)", async () => {
    const run = await runEval("nulls", ["--dataset", DATASET, "--compare", join(outRoot, "labels", "report.json")], answerNull);
    expect(run.code).toBe(1);

    const nullShare = FIELDS.filter(([, value]) => value === null).length / FIELDS.length;
    const report = run.report();
    const { overall } = report.models[0]!;
    expect(overall.accuracy).toBeCloseTo(nullShare, 12);
    expect(overall.hallucination_rate).toBe(0);
    expect(overall.miss_rate).toBe(1);
    expect(report.comparison).toMatchObject({ regressed: true, max_drop: 0.02, models: [{ regressed: true, overall: { baseline: 1, current: overall.accuracy } }] });
    expect(run.stdout).toContain("REGRESSION");
    // The terminal lists the worst variables; the page has every one.
    expect(run.stdout).toMatch(/The 10 worst of \d+ variables/);
  });

  it("passes the gate (exit 0) against an equal baseline; --model and --judge reach the LLM", async () => {
    const isJudge = (request: RecordedRequest) => request.body.response_format?.json_schema?.name === "summary_judgement";
    const run = await runEval("equal", ["--dataset", DATASET, "--model", "gpt-4.1-mini", "--judge", "--compare", join(outRoot, "labels")], (request) =>
      isJudge(request) ? { json: { values: { passes: !userMessage(request).includes("Okafor residence"), reason: "Checked." } } } : answerTheLabels(request),
    );
    expect(run.code).toBe(0);
    const report = run.report();
    // A one-model run is compared with a one-model baseline whatever its name.
    expect(report.comparison).toMatchObject({
      regressed: false,
      models: [{ model: "gpt-4.1-mini", baseline_model: "gpt-4o-mini", overall: { baseline: 1, current: 1, delta: 0 } }],
    });
    expect(run.stdout).toContain("OK: overall accuracy");

    expect(report.run.models).toEqual(["gpt-4.1-mini"]);
    expect(llm.requests.every((request) => request.body.model === "gpt-4.1-mini")).toBe(true);
    expect(llm.requests.filter(isJudge)).toHaveLength(LABELLED.length);
    const [model] = report.models;
    expect(model!.summary_judge).toMatchObject({ model: "gpt-4.1-mini", judged: LABELLED.length, passed: LABELLED.length - 1, errors: 0 });
    expect(model!.items.find((item) => item.id === "hvac-002")?.summary_judge).toEqual({ pass: false, reason: "Checked." });
    // The judge is reported apart: accuracy is the same as without it.
    expect(model!.overall.accuracy).toBe(1);
  });

  it("reports a call the LLM fails as failed, counts its fields as wrong, and completes the run", async () => {
    const failing = "plumb-003";
    const run = await runEval("failing", ["--dataset", DATASET], (request) =>
      callFor(request).id === failing ? { status: 500 } : answerTheLabels(request),
    );
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(`${failing} FAILED llm_unavailable`);

    const model = run.report().models[0]!;
    const failedFields = FIELDS.length - LABELLED.filter((call) => call.id !== failing).flatMap((call) => Object.keys(call.expected)).length;
    expect(model.failed).toEqual({ count: 1, by_code: { llm_unavailable: 1 } });
    expect(model.overall.schema_valid_rate).toBeCloseTo((LABELLED.length - 1) / LABELLED.length, 12);
    expect(model.overall.failed).toBe(failedFields);
    expect(model.overall.accuracy).toBeCloseTo((FIELDS.length - failedFields) / FIELDS.length, 12);
    expect(model.items.find((item) => item.id === failing)).toMatchObject({ status: "failed", error: { code: "llm_unavailable" }, accuracy: 0 });
    expect(existsSync(join(run.out, "report.html"))).toBe(true);
  });

  it("refuses a baseline that has none of the models before any LLM call (exit 2)", async () => {
    const run = await runEval("unpaired", ["--dataset", DATASET, "--models", "gpt-4.1-mini,o4-mini", "--compare", join(outRoot, "labels")], answerTheLabels);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("has results for gpt-4o-mini, and none for gpt-4.1-mini, o4-mini: nothing to compare");
    expect(llm.requests).toHaveLength(0);
  });

  it("stops a broken dataset with exit 2, naming each bad line, before any LLM call", async () => {
    const run = await runEval("broken", ["--dataset", "test/fixtures/evals/broken.jsonl"], answerTheLabels);
    expect(run.code).toBe(2);
    for (const line of [2, 4, 5, 6, 7]) expect(run.stderr).toContain(`test/fixtures/evals/broken.jsonl:${line}: `);
    expect(run.stderr).toContain("expected.budget: is labelled but not defined in variables");
    expect(llm.requests).toHaveLength(0);
    expect(existsSync(run.out)).toBe(false);
  });
});

describe("npm run eval --models", () => {
  const isJudge = (request: RecordedRequest) => request.body.response_format?.json_schema?.name === "summary_judgement";
  const extractions = () => llm.requests.filter((request) => !isJudge(request));

  it("runs the same calls on each model, one after the other, and writes one report side by side", async () => {
    // gpt-4.1-mini gets every label right; gpt-4o-mini misses every value of one call. Their token bills differ.
    const run = await runEval("matrix", ["--dataset", DATASET, "--models", "gpt-4o-mini,gpt-4.1-mini", "--judge"], (request) => {
      if (isJudge(request)) return { json: { values: { passes: true, reason: "Fine." } } };
      if (request.body.model === "gpt-4.1-mini") return { json: answerFor(request, { ...callFor(request).expected, summary: "ok" }), usage: { prompt_tokens: 300, completion_tokens: 30 } };
      return callFor(request).id === "sales-001" ? answerNull(request) : answerTheLabels(request);
    });
    expect(run.stderr).not.toMatch(/FAILED|crashed/);
    expect(run.code).toBe(0);

    const report = run.report();
    expect(report.run.models).toEqual(["gpt-4o-mini", "gpt-4.1-mini"]);
    expect(report.calls).toHaveLength(LABELLED.length);
    const [mini, next] = report.models;
    const salesValues = Object.entries(LABELLED.find((call) => call.id === "sales-001")!.expected).filter(([name, value]) => name !== "summary" && value !== null).length;
    expect(mini).toMatchObject({ model: "gpt-4o-mini", overall: { fields: FIELDS.length, misses: salesValues, joint_accuracy: (LABELLED.length - 1) / LABELLED.length } });
    expect(mini!.overall.accuracy).toBeCloseTo((FIELDS.length - salesValues) / FIELDS.length, 12);
    expect(next).toMatchObject({ model: "gpt-4.1-mini", overall: { accuracy: 1, joint_accuracy: 1, misses: 0 } });
    expect(mini!.per_1000_calls).toMatchObject({ prompt_tokens: 100_000, completion_tokens: 20_000 });
    expect(next!.per_1000_calls).toMatchObject({ prompt_tokens: 300_000, completion_tokens: 30_000 });
    // gpt-4.1-mini: $0.40 / 1M prompt, $1.60 / 1M completion.
    expect(next!.per_1000_calls!.cost_usd).toBeCloseTo(((300 * 0.4 + 30 * 1.6) / 1e6) * 1000, 12);

    // Each model saw every call, through the real SDK; the second model started after the first one finished.
    const models = extractions().map((request) => request.body.model);
    expect(models).toEqual([...Array(LABELLED.length).fill("gpt-4o-mini"), ...Array(LABELLED.length).fill("gpt-4.1-mini")]);
    // One judge, the first model, graded both models' summaries (the call answered null has none to grade: a fail).
    expect(llm.requests.filter(isJudge).map((request) => request.body.model)).toEqual(Array(2 * LABELLED.length - 1).fill("gpt-4o-mini"));
    expect(report.run.judge_model).toBe("gpt-4o-mini");
    expect(report.models.map((model) => model.summary_judge?.passed)).toEqual([LABELLED.length - 1, LABELLED.length]);

    const rows = run.stdout.split("\n");
    const row = (model: string) => rows.findIndex((line) => line.startsWith(`${model} `));
    expect(row("gpt-4o-mini")).toBeGreaterThan(-1);
    expect(row("gpt-4.1-mini")).toBe(row("gpt-4o-mini") + 1);
    expect(rows[row("gpt-4.1-mini")]).toMatch(/100\.0%\s+0\.0%\s+0\.0%\s+100\.0%\s+100\.0%\s+\S+ ms\s+300,000 \+ 30,000\s+\$0\.1680\s+100\.0%/);
    expect(run.stdout).toMatch(/scenario\s+calls\s+gpt-4o-mini\s+gpt-4\.1-mini/);
    expect(run.stderr).toContain(`[${2 * LABELLED.length}/${2 * LABELLED.length}] gpt-4.1-mini `);

    const html = readFileSync(join(run.out, "report.html"), "utf8");
    expect(html).toContain("Models side by side");
    expect(html).toContain("<code>gpt-4.1-mini</code>");
  });

  it("gates each model against the same model of a matrix baseline, and never gates a model the baseline lacks", async () => {
    // Against the run above: gpt-4.1-mini now answers null everywhere, gpt-4o-mini gets everything right.
    const run = await runEval("matrix-gate", ["--dataset", DATASET, "--models", "gpt-4.1-mini,gpt-4o-mini,gpt-4.1-nano", "--compare", join(outRoot, "matrix")], (request) =>
      request.body.model === "gpt-4.1-mini" ? answerNull(request) : answerTheLabels(request),
    );
    expect(run.code).toBe(1);
    const { comparison } = run.report();
    expect(comparison).toMatchObject({ regressed: true, unmatched: ["gpt-4.1-nano"] });
    expect(comparison!.models.map((m) => [m.model, m.baseline_model, m.regressed])).toEqual([
      ["gpt-4.1-mini", "gpt-4.1-mini", true],
      ["gpt-4o-mini", "gpt-4o-mini", false],
    ]);
    expect(comparison!.models[1]!.overall.delta).toBeGreaterThan(0);
    expect(run.stdout).toMatch(/REGRESSION: overall accuracy fell −\d+\.\d pt on gpt-4\.1-mini \(allowed drop 2\.0 pt\)/);
    expect(run.stdout).toContain("Not in the baseline, so not gated: gpt-4.1-nano");
  });
});
