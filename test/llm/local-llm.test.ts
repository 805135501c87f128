// The local provider on its own: what it says when it cannot serve (a lean install, a missing or broken file, still
// loading), the prompt budget it gives the planner, and the download progress it logs.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadSettings } from "../../src/settings.js";
import { DebriefError } from "../../src/errors.js";
import { inferenceThreads, LocalLlm } from "../../src/llm/local-llm.js";
import { tinyModelFile } from "../support/local-model.js";
import { captureLogs } from "../support/log-capture.js";
import { startModelServer } from "../support/model-server.js";
import { tinyGguf } from "../support/tiny-gguf.js";

const REQUEST = {
  model: "local:debrief-tiny",
  messages: [{ role: "user" as const, content: "hi" }],
  responseFormat: { type: "json_object" as const },
};

const opened: LocalLlm[] = [];
function localLlm(env: Record<string, string>, options: ConstructorParameters<typeof LocalLlm>[1] = {}): LocalLlm {
  const dataDir = mkdtempSync(join(tmpdir(), "debrief-local-"));
  const llm = new LocalLlm(loadSettings({ DEBRIEF_DATA_DIR: dataDir, DEBRIEF_LOCAL_CONTEXT: "2048", DEBRIEF_LOCAL_ANSWER_TOKENS: "300", DEBRIEF_LLM_CONCURRENCY: "1", ...env }).llm, options);
  opened.push(llm);
  return llm;
}
afterAll(async () => {
  await Promise.all(opened.map((llm) => llm.close()));
});

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  return error instanceof DebriefError ? `${error.status} ${error.code}` : `not a DebriefError: ${String(error)}`;
}

describe("LocalLlm when it cannot serve", { timeout: 60_000 }, () => {
  it("says a lean install (npm ci --omit=optional) lacks the runtime, and what to do", async () => {
    const missing = Object.assign(new Error("Cannot find package 'node-llama-cpp'"), { code: "ERR_MODULE_NOT_FOUND" });
    const llm = localLlm({ DEBRIEF_LOCAL_MODEL: "/nowhere/model.gguf" }, { importRuntime: () => Promise.reject(missing) });
    expect(await codeOf(llm.start())).toBe("503 local_runtime_not_installed");
    expect(await codeOf(llm.complete(REQUEST))).toBe("503 local_runtime_not_installed");
    const status = llm.status();
    expect(status.model).toBe("unavailable");
    expect(status.reason).toContain("node-llama-cpp");
    expect(status.reason).toContain("--omit=optional");
    expect(status.reason).toContain("OPENAI_API_KEY");
  });

  it("names the missing model file and the two ways out", async () => {
    const llm = localLlm({ DEBRIEF_LOCAL_MODEL: "/nowhere/model.gguf" });
    expect(await codeOf(llm.start())).toBe("503 local_model_unavailable");
    const reason = llm.status().reason!;
    expect(reason).toContain("/nowhere/model.gguf");
    expect(reason).toContain("OPENAI_API_KEY");
    expect(reason).toContain("DEBRIEF_LOCAL_MODEL");
    expect(() => llm.promptBudget()).toThrow(/unavailable/);
  });

  it("refuses a file that is not a GGUF model", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "debrief-notgguf-")), "broken.gguf");
    writeFileSync(file, "this is not a model");
    const llm = localLlm({ DEBRIEF_LOCAL_MODEL: file });
    expect(await codeOf(llm.start())).toBe("503 local_model_unavailable");
    expect(llm.status().reason).toContain(file);
  });

  it("answers 503 local_model_loading, with Retry-After, until it has loaded", async () => {
    const llm = localLlm({ DEBRIEF_LOCAL_MODEL: tinyModelFile() });
    const error = await llm.complete(REQUEST).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DebriefError);
    expect((error as DebriefError).code).toBe("local_model_loading");
    expect((error as DebriefError).headers["Retry-After"]).toBe("10");
    expect(llm.status()).toEqual({ model: "loading" });
  });
});

describe("LocalLlm's prompt budget", { timeout: 60_000 }, () => {
  it("is the context minus the room kept for answers and repair rounds, counted with the model's own tokenizer", async () => {
    const llm = localLlm({ DEBRIEF_LOCAL_MODEL: tinyModelFile(), DEBRIEF_LOCAL_CONTEXT: "4096", DEBRIEF_LOCAL_ANSWER_TOKENS: "500", DEBRIEF_REPAIR_ATTEMPTS: "1" });
    await llm.start();
    const budget = llm.promptBudget();
    // 4096 − (500 answer + 500 previous answer + 256 repair request) − the chat template's own tokens.
    expect(budget.maxInputTokens).toBeLessThan(4096 - 1256);
    expect(budget.maxInputTokens).toBeGreaterThan(4096 - 1256 - 64);
    // The tiny model's vocabulary is bytes: one token per byte, where tiktoken would count 2 for this text.
    expect(budget.countTokens("hello world")).toBe(11);
  });

  it("is DEBRIEF_MAX_INPUT_TOKENS when that is smaller", async () => {
    const llm = localLlm({ DEBRIEF_LOCAL_MODEL: tinyModelFile(), DEBRIEF_MAX_INPUT_TOKENS: "700" });
    await llm.start();
    expect(llm.promptBudget().maxInputTokens).toBe(700);
  });

  it("refuses to load when the answer room leaves too little of the context", async () => {
    const llm = localLlm({ DEBRIEF_LOCAL_MODEL: tinyModelFile(), DEBRIEF_LOCAL_CONTEXT: "1024", DEBRIEF_LOCAL_ANSWER_TOKENS: "500" });
    expect(await codeOf(llm.start())).toBe("503 local_model_unavailable");
    expect(llm.status().reason).toContain("raise DEBRIEF_LOCAL_CONTEXT");
  });
});

describe("LocalLlm's download", { timeout: 60_000 }, () => {
  it("logs the download every tenth, then the model it loaded", async () => {
    const file = tinyGguf({ seed: 3 });
    const server = await startModelServer(file);
    try {
      const logs = captureLogs("info");
      const bar: number[] = [];
      const llm = localLlm(
        { DEBRIEF_LOCAL_MODEL: server.fileUrl("downloaded.gguf") },
        { logger: logs.logger, onDownloadProgress: (p) => bar.push(p.downloadedBytes) },
      );
      await llm.start();
      expect(llm.status()).toEqual({ model: "ready" });
      const percents = logs.lines().filter((line) => line.msg === "downloading the local model").map((line) => line.percent);
      expect(percents[0]).toBe(0);
      expect(percents.at(-1)).toBe(100);
      expect(percents).toEqual([...percents].sort((a, b) => a - b));
      expect(new Set(percents).size).toBe(percents.length);
      expect(bar.at(-1)).toBe(file.length);
      expect(logs.lines().some((line) => line.msg === "local model ready" && line.model === "local:downloaded")).toBe(true);
    } finally {
      await server.close();
    }
  });
});

describe("inferenceThreads", () => {
  it("leaves one core to the HTTP event loop, and never goes below one thread", () => {
    expect(inferenceThreads(1)).toBe(1);
    expect(inferenceThreads(2)).toBe(1);
    expect(inferenceThreads(8)).toBe(7);
  });
});
