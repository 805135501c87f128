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
    expect(report.overall).toMatchObject({
      accuracy: 1,
      hallucination_rate: 0,
      miss_rate: 0,
      items: LABELLED.length,
      fields: FIELDS.length,
      schema_valid_rate: 1,
    });
    expect(report.failed).toEqual({ count: 0, by_code: {} });
    expect(Object.keys(report.by_scenario)).toEqual(["home_services", "sales", "support"]);
    expect(Object.keys(report.by_variable).sort()).toEqual([...new Set(FIELDS.map(([name]) => name))].sort());
    expect(report.items.map((item) => item.id)).toEqual(LABELLED.map((call) => call.id));
    expect(report.latency_ms.p50).toEqual(expect.any(Number));
    expect(report.latency_ms.p95).toEqual(expect.any(Number));
    // The fake LLM bills 100 prompt + 20 completion tokens per call; gpt-4o-mini has a price.
    expect(report.usage).toMatchObject({ prompt_tokens: 100 * LABELLED.length, completion_tokens: 20 * LABELLED.length });
    expect(report.usage.cost_usd).toBeGreaterThan(0);
    expect(report.definitions.hallucination_rate).toBeTruthy();
    expect(llm.requests).toHaveLength(LABELLED.length);
    expect(llm.requests.every((request) => request.body.model === "gpt-4o-mini")).toBe(true);

    expect(run.stdout).toMatch(/accuracy\s+100\.0%/);
    expect(run.stdout).toMatch(/customer_name\s+string\s+3\s+100\.0%/);
    expect(run.stderr).toContain(`[${LABELLED.length}/${LABELLED.length}]`);

    const html = readFileSync(join(run.out, "report.html"), "utf8");
    expect(html).toContain("&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt; &amp; see what happens");
    expect(html).not.toMatch(/<script/i);
  });

  it("scores exactly the share of null labels when the LLM answers null everywhere, and the gate fails (exit 1)", async () => {
    const run = await runEval("nulls", ["--dataset", DATASET, "--compare", join(outRoot, "labels", "report.json")], answerNull);
    expect(run.code).toBe(1);

    const nullShare = FIELDS.filter(([, value]) => value === null).length / FIELDS.length;
    const report = run.report();
    expect(report.overall.accuracy).toBeCloseTo(nullShare, 12);
    expect(report.overall.hallucination_rate).toBe(0);
    expect(report.overall.miss_rate).toBe(1);
    expect(report.comparison).toMatchObject({ regressed: true, max_drop: 0.02, overall: { baseline: 1, current: report.overall.accuracy } });
    expect(run.stdout).toContain("REGRESSION");
  });

  it("passes the gate (exit 0) against an equal baseline; --model and --judge reach the LLM", async () => {
    const isJudge = (request: RecordedRequest) => request.body.response_format?.json_schema?.name === "summary_judgement";
    const run = await runEval("equal", ["--dataset", DATASET, "--model", "gpt-4.1-mini", "--judge", "--compare", join(outRoot, "labels")], (request) =>
      isJudge(request) ? { json: { values: { passes: !userMessage(request).includes("Okafor residence"), reason: "Checked." } } } : answerTheLabels(request),
    );
    expect(run.code).toBe(0);
    const report = run.report();
    expect(report.comparison).toMatchObject({ regressed: false, overall: { baseline: 1, current: 1, delta: 0 } });
    expect(run.stdout).toContain("OK: overall accuracy");

    expect(report.run.model).toBe("gpt-4.1-mini");
    expect(llm.requests.every((request) => request.body.model === "gpt-4.1-mini")).toBe(true);
    expect(llm.requests.filter(isJudge)).toHaveLength(LABELLED.length);
    expect(report.summary_judge).toMatchObject({ model: "gpt-4.1-mini", judged: LABELLED.length, passed: LABELLED.length - 1, errors: 0 });
    expect(report.items.find((item) => item.id === "hvac-002")?.summary_judge).toEqual({ pass: false, reason: "Checked." });
    // The judge is reported apart: accuracy is the same as without it.
    expect(report.overall.accuracy).toBe(1);
  });

  it("reports a call the LLM fails as failed, counts its fields as wrong, and completes the run", async () => {
    const failing = "plumb-003";
    const run = await runEval("failing", ["--dataset", DATASET], (request) =>
      callFor(request).id === failing ? { status: 500 } : answerTheLabels(request),
    );
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(`${failing} FAILED llm_unavailable`);

    const report = run.report();
    const failedFields = FIELDS.length - LABELLED.filter((call) => call.id !== failing).flatMap((call) => Object.keys(call.expected)).length;
    expect(report.failed).toEqual({ count: 1, by_code: { llm_unavailable: 1 } });
    expect(report.overall.schema_valid_rate).toBeCloseTo((LABELLED.length - 1) / LABELLED.length, 12);
    expect(report.overall.failed).toBe(failedFields);
    expect(report.overall.accuracy).toBeCloseTo((FIELDS.length - failedFields) / FIELDS.length, 12);
    expect(report.items.find((item) => item.id === failing)).toMatchObject({ status: "failed", error: { code: "llm_unavailable" }, accuracy: 0 });
    expect(existsSync(join(run.out, "report.html"))).toBe(true);
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
