// The service on the embedded model, for tests: the tiny random-weights GGUF from tiny-gguf.ts, settings that keep
// every answer short (so a test generates a few hundred tokens at most), and a wait until /readyz says it is loaded.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { until } from "./poll.js";
import { startTestService, type TestService } from "./service.js";
import { writeTinyGguf, type TinyModelOptions } from "./tiny-gguf.js";

/** Writes the tiny model into a fresh temp dir and returns its path (`<name>.gguf`, so meta.model is `local:<name>`). */
export function tinyModelFile(name = "debrief-tiny", options: TinyModelOptions = {}): string {
  const file = join(mkdtempSync(join(tmpdir(), "debrief-model-")), `${name}.gguf`);
  writeTinyGguf(file, options);
  return file;
}

/** Small answers: strings of at most 4 characters, at most 600 answer tokens, a 6k context, two sequences. */
export const LOCAL_TEST_SETTINGS: Record<string, string> = {
  DEBRIEF_LOCAL_CONTEXT: "6144",
  DEBRIEF_LOCAL_ANSWER_TOKENS: "600",
  DEBRIEF_LOCAL_MAX_STRING_CHARS: "4",
  DEBRIEF_LLM_CONCURRENCY: "2",
  // These tests count LLM work per request: the cache stays out of the way.
  DEBRIEF_CACHE: "false",
};

/** `readyz.body.model` once it is no longer "loading" (bounded: the tiny model loads in about a second). */
export async function waitForModel(service: TestService, timeoutMs = 30_000): Promise<{ status: number; body: any }> {
  return until(() => service.get("/readyz"), (res) => res.body.model !== "loading", timeoutMs);
}

/** A service on the local model at `model`, loaded and ready. */
export async function startLocalService(model: string, env: Record<string, string> = {}): Promise<TestService> {
  const service = await startTestService({ ...LOCAL_TEST_SETTINGS, DEBRIEF_LOCAL_MODEL: model, ...env });
  const ready = await waitForModel(service);
  if (ready.body.model !== "ready") {
    await service.close();
    throw new Error(`the local model did not load: ${JSON.stringify(ready.body)}`);
  }
  return service;
}
