// `npm run eval` against the embedded model: a real process loading the tiny random-weights GGUF through llama.cpp.
// The scores are noise; what is tested is that the harness loads the model, runs every call on it and reports it.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Report } from "../../evals/index.js";
import { LOCAL_TEST_SETTINGS, tinyModelFile } from "../support/local-model.js";

const DATASET = "test/fixtures/evals/calls/home_services.jsonl";

async function runEval(env: Record<string, string>): Promise<{ code: number | null; stderr: string; out: string }> {
  const out = mkdtempSync(join(tmpdir(), "debrief-eval-local-"));
  const child = spawn(process.execPath, ["--import", "tsx", "evals/run.ts", "--dataset", DATASET, "--out", out, "--concurrency", "2"], {
    env: { PATH: process.env.PATH, DEBRIEF_DATA_DIR: out, ...LOCAL_TEST_SETTINGS, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stdout.resume();
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  return { code, stderr, out };
}

describe("npm run eval on the local model", () => {
  it("loads the model, runs every labelled call on it, and names it in the report", async () => {
    const run = await runEval({ DEBRIEF_LOCAL_MODEL: tinyModelFile("eval-tiny") });
    expect(run.stderr).toContain("Loading the local model local:eval-tiny");
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(readFileSync(join(run.out, "report.json"), "utf8")) as Report;
    expect(report.run.models).toEqual(["local:eval-tiny"]);
    const [run_] = report.models;
    expect(run_!.model).toBe("local:eval-tiny");
    expect(run_!.items).toHaveLength(3);
    for (const item of run_!.items) expect(item.status === "ok" ? "ok" : item.error?.code).toMatch(/^ok$|^extraction_failed$/);
    expect(run_!.items.some((item) => item.status === "ok")).toBe(true);
  }, 120_000);

  it("stops with exit 2 and the reason when the model cannot be loaded", async () => {
    const run = await runEval({ DEBRIEF_LOCAL_MODEL: "/nowhere/model.gguf" });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("The local model is unavailable");
    expect(run.stderr).toContain("/nowhere/model.gguf");
  });
});
