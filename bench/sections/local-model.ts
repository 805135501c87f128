// Section 9: the embedded model on this machine. Prompt and generation tokens per second of the llama.cpp runtime
// itself (node-llama-cpp, the threads Debrief gives it), then one extraction through Debrief beside what the runtime
// alone takes for the same tokens. DEBRIEF_LOCAL_MODEL=/path/model.gguf measures a real model; without it, the tiny
// random-weights model the tests use (no real weights can be fetched here), which shows the per-token overhead only.
import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { loadSettings } from "../../src/settings.js";
import { inferenceThreads } from "../../src/llm/local-llm.js";
import { downloadModel } from "../../src/llm/model-download.js";
import { writeTinyGguf } from "../../test/support/tiny-gguf.js";
import { dataDir, expectOk, type BenchContext, type Figure, type SectionResult } from "../lib/context.js";
import { median } from "../lib/stats.js";
import { extractBody, generateTranscript, UNIQUE_MARKER } from "../lib/transcripts.js";

interface ModelUnderTest {
  file: string;
  tiny: boolean;
  label: string;
}

/** The model file to measure: DEBRIEF_LOCAL_MODEL (a path, or a URL / hf: reference downloaded once), else the tiny one. */
async function modelUnderTest(context: BenchContext): Promise<ModelUnderTest> {
  const named = process.env.DEBRIEF_LOCAL_MODEL;
  if (!named || named === "off") {
    const file = join(context.runDir, "debrief-tiny.gguf");
    writeTinyGguf(file);
    return { file, tiny: true, label: "tiny random-weights test model (64-dim, 2 layers, byte vocabulary)" };
  }
  const models = join(context.root, "bench", "out", "models");
  mkdirSync(models, { recursive: true });
  const local = loadSettings({ DEBRIEF_LOCAL_MODEL: named, DEBRIEF_DATA_DIR: join(models, "..") }).llm.local;
  if (!local) throw new Error(`DEBRIEF_LOCAL_MODEL=${named} names no model`);
  if (local.source.kind === "file") return { file: resolve(local.source.path), tiny: false, label: local.source.path };
  const file = join(local.modelsDir, local.source.fileName);
  if (!existsSync(file)) await downloadModel({ url: local.source.url, destination: file, sha256: local.sha256 });
  return { file, tiny: false, label: named };
}

interface RuntimeSpeed {
  promptTokens: number;
  promptSeconds: number;
  generatedTokens: number;
  generationSeconds: number;
  threads: number;
  gpu: string;
}

/** The runtime alone: one prompt evaluated in batches, then greedy tokens one by one (end-of-text ignored). */
async function runtimeSpeed(file: string, promptTokens: number, generatedTokens: number): Promise<RuntimeSpeed> {
  const { getLlama } = await import("node-llama-cpp");
  const threads = inferenceThreads();
  const llama = await getLlama({ build: "never", skipDownload: true, progressLogs: false, maxThreads: threads });
  try {
    const model = await llama.loadModel({ modelPath: file });
    const context = await model.createContext({ contextSize: Math.min(model.trainContextSize, promptTokens + generatedTokens + 256), threads });
    const sequence = context.getSequence();
    const text = generateTranscript({ seed: 800, tokens: promptTokens }).text;
    const tokens = model.tokenize(text).slice(0, promptTokens);
    let started = performance.now();
    await sequence.evaluateWithoutGeneratingNewTokens(tokens.slice(0, -1));
    const promptSeconds = (performance.now() - started) / 1000;
    started = performance.now();
    let generated = 0;
    for await (const _token of sequence.evaluate(tokens.slice(-1), { temperature: 0, yieldEogToken: true })) {
      generated += 1;
      if (generated >= generatedTokens) break;
    }
    const generationSeconds = (performance.now() - started) / 1000;
    return { promptTokens: tokens.length - 1, promptSeconds, generatedTokens: generated, generationSeconds, threads, gpu: llama.gpu || "none" };
  } finally {
    await llama.dispose();
  }
}

export async function localModel(context: BenchContext): Promise<SectionResult> {
  const quick = context.mode === "quick";
  const model = await modelUnderTest(context);
  const speed = await runtimeSpeed(model.file, quick ? 1_024 : 2_048, quick ? 128 : 256);
  const promptTps = speed.promptTokens / speed.promptSeconds;
  const generationTps = speed.generatedTokens / speed.generationSeconds;

  // Through Debrief: one sequence, no cache, a short call, each request distinct.
  const debrief = await context.startDebrief("local-model", {
    DEBRIEF_LOCAL_MODEL: model.file,
    DEBRIEF_LLM_CONCURRENCY: "1",
    DEBRIEF_CACHE: "false",
    DEBRIEF_DATA_DIR: dataDir(context, "local-model"),
    // Random weights write random strings: a short bound keeps the tiny model's answers within its token limit.
    ...(model.tiny ? { DEBRIEF_LOCAL_MAX_STRING_CHARS: "16" } : {}),
  });
  try {
    const deadline = performance.now() + 600_000;
    for (;;) {
      const readiness = (await (await fetch(`${debrief.url}/readyz`)).json()) as { model?: string; reason?: string };
      if (readiness.model === "ready") break;
      if (readiness.model === "unavailable") throw new Error(`the local model did not load: ${readiness.reason}`);
      if (performance.now() > deadline) throw new Error("the local model did not load within 10 minutes");
      await sleep(200);
    }
    const transcript = generateTranscript({ seed: 801, tokens: 400, withMarker: true });
    const runs = quick ? 2 : 5;
    const latencies: number[] = [];
    const expected: number[] = [];
    for (let run = 0; run < runs; run += 1) {
      const body = JSON.stringify(extractBody(transcript, 5)).replaceAll(UNIQUE_MARKER, `local-${run}`);
      const response = await expectOk(debrief, body);
      const usage = response.body.meta!.usage;
      latencies.push(response.ms);
      expected.push((usage.prompt_tokens / promptTps + usage.completion_tokens / generationTps) * 1000);
    }
    const latency = median(latencies);
    const floor = median(expected);
    const figures: Figure[] = [
      {
        id: "local.prompt_tokens_per_second",
        label: `prompt evaluation, ${speed.promptTokens} tokens`,
        value: Math.round(promptTps),
        unit: "tokens/s",
        note: `${speed.threads} thread(s), GPU: ${speed.gpu}`,
      },
      {
        id: "local.generation_tokens_per_second",
        label: `generation, ${speed.generatedTokens} tokens one by one`,
        value: Math.round(generationTps * 10) / 10,
        unit: "tokens/s",
      },
      {
        id: "local.extraction_latency",
        label: "one extraction (5 variables, ~400-token call), median",
        value: Math.round(latency),
        unit: "ms",
        baseline: { label: "the runtime alone for the same prompt and answer tokens", value: Math.round(floor), unit: "ms" },
        ratio: Math.round((latency / floor) * 100) / 100,
        note: "the rest: the grammar, the chat template, HTTP and validation",
      },
    ];
    return {
      id: "local_model",
      title: `Local model: ${model.label}`,
      figures,
      notes: model.tiny
        ? ["No real weights on this machine: this is the tiny random-weights model the tests use, so these figures show llama.cpp's and node-llama-cpp's per-token overhead, not a real model's speed. DEBRIEF_LOCAL_MODEL=/path/model.gguf npm run bench -- --only=9 measures one."]
        : [],
      details: { model: model.label, speed, latencies, expected },
    };
  } finally {
    await debrief.stop();
  }
}
