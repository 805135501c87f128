// Public surface of the LLM layer.
export { OpenAiLlm, type Llm, type LlmObserver, type Completion, type CompletionRequest, type ChatMessage, type PromptBudget, type ResponseFormat, type TokenLogprob, type Usage } from "./client.js";
export { createLlm, llmReadiness, unconfiguredLlm } from "./create-llm.js";
export { createLlmBudget, SharedLlmBudget, observedFromHeaders, type LlmBudget, type LlmPriority, type ObservedLimits } from "./budget.js";
export { LocalLlm, type LlmReadiness, type LocalModelStatus } from "./local-llm.js";
export { costOf, extractionCostUsd, loadPrices, roundUsd, priceFor, PricesError, SHIPPED_PRICES, type ModelPrice, type PriceTable } from "./prices.js";
