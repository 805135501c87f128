// Public surface of the LLM layer.
export { OpenAiLlm, type Llm, type LlmObserver, type Completion, type CompletionRequest, type ChatMessage, type PromptBudget, type ResponseFormat, type TokenLogprob, type Usage } from "./client.js";
export { createLlm, unconfiguredLlm } from "./create-llm.js";
export { LocalLlm, type LocalModelStatus } from "./local-llm.js";
export { costOf, loadPrices, priceFor, PricesError, SHIPPED_PRICES, type ModelPrice, type PriceTable } from "./prices.js";
