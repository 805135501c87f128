// Public surface of the LLM layer.
export { createLlm, OpenAiLlm, unconfiguredLlm, type Llm, type LlmObserver, type Completion, type CompletionRequest, type ChatMessage, type ResponseFormat, type Usage } from "./client.js";
