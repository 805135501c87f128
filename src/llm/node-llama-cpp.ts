// The optional node-llama-cpp package in one place: the types Debrief uses from it, and its loader. A lean install
// (npm ci --omit=optional) lacks it; the @ts-ignore directives let that install still build (these types are then
// `any`), while a full install checks them exactly: the directive stays silent when the import resolves.
// @ts-ignore -- optional dependency, see above (one line: the directive covers only the line after it)
import type { ChatHistoryItem, ChatWrapper, GbnfJsonSchema, Llama, LlamaContext, LlamaContextSequence, LlamaGrammar, LlamaLogLevel, LlamaModel } from "node-llama-cpp";

export type { ChatHistoryItem, ChatWrapper, GbnfJsonSchema, Llama, LlamaContext, LlamaContextSequence, LlamaGrammar, LlamaLogLevel, LlamaModel };

// @ts-ignore -- optional dependency, see above
export type NodeLlamaCpp = typeof import("node-llama-cpp");

/** Rejects with code ERR_MODULE_NOT_FOUND on a lean install. */
export function importNodeLlamaCpp(): Promise<NodeLlamaCpp> {
  // @ts-ignore -- optional dependency, see above
  return import("node-llama-cpp");
}
