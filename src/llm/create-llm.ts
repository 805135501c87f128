// The one place that picks the LLM provider from the settings: an OpenAI-compatible server, the embedded local
// model, or none (every call a 503 that says what to set).
import type { Settings } from "../settings.js";
import { LlmNotConfiguredError } from "../errors.js";
import type { Logger } from "../logger.js";
import { OpenAiLlm, type Llm, type LlmObserver } from "./client.js";
import type { LlmBudget } from "./budget.js";
import { LocalLlm, type LlmReadiness, type LocalLlmOptions } from "./local-llm.js";

/** The LLM used when neither OPENAI_API_KEY nor OPENAI_BASE_URL is set and DEBRIEF_LOCAL_MODEL is off. */
export const unconfiguredLlm: Llm = {
  complete: () => Promise.reject(new LlmNotConfiguredError()),
};

export interface CreateLlmOptions {
  observer?: LlmObserver;
  logger?: Logger;
  /** The LLM budget shared by every instance (an OpenAI-compatible server only: the local model has no account limits). */
  budget?: LlmBudget;
  /** Download progress of the local model, for a terminal progress bar. */
  onDownloadProgress?: LocalLlmOptions["onDownloadProgress"];
}

/** The local model is only created here, not loaded: its owner calls `start()` (in the background, for the service). */
export function createLlm(settings: Settings["llm"], options: CreateLlmOptions = {}): Llm | LocalLlm {
  switch (settings.provider) {
    case "openai":
      return new OpenAiLlm(settings, { observer: options.observer, logger: options.logger, budget: options.budget });
    case "local":
      return new LocalLlm(settings, options);
    case "none":
      return unconfiguredLlm;
  }
}

/**
 * What /readyz says of the LLM: an API server is taken as ready (its failures are per request), no LLM never is, and
 * the local model says whether it is loading or why it cannot serve.
 */
export function llmReadiness(llm: Llm | LocalLlm): LlmReadiness {
  if (llm instanceof LocalLlm) return llm.readiness();
  if (llm === unconfiguredLlm) return { ready: false, reason: new LlmNotConfiguredError().message };
  return { ready: true };
}
