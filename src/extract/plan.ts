// Plans an extraction's LLM calls: renders the prompt, measures it against the budget, and chunks a call that does
// not fit. Pure and synchronous, so it can run on a worker thread (offload/) as well as inline.
import type { ChatMessage } from "../llm/index.js";
import type { ExtractJob } from "../schema/index.js";
import { chunkTurns, tokenCounter, type TokenCounter } from "../transcript/index.js";
import { buildExtractionMessages } from "./prompt.js";

/** Room for the chat framing around the messages, which the token count of their text does not see. */
export const FRAMING_TOKENS = 32;
export const MIN_TRANSCRIPT_BUDGET = 256;

/** Everything planning needs, as plain data: it crosses to a worker thread by structured clone. */
export interface PlanInput {
  job: ExtractJob;
  model: string;
  maxInputTokens: number;
  chunkOverlapTurns: number;
  /** json_object mode: the schema the prompt must carry. */
  schemaInPrompt?: Record<string, unknown>;
  /** Whether the prompt describes each variable, or only names it and its type (the JSON Schema describes it). */
  descriptions: boolean;
  /** The response_format schema's JSON text ("" in json_object mode): it counts against the budget too. */
  schemaText: string;
  /** Also count each call's prompt tokens (a backfill's estimate): the whole prompt is then always tokenised. */
  countTokens?: boolean;
}

export type PlanResult =
  /** The messages of each LLM call: one call, or one per chunk. */
  | { ok: true; calls: ChatMessage[][]; /** With `countTokens`: each call's prompt tokens (promptTokensOf). */ promptTokens?: number[] }
  /** The variables and instructions alone leave too little room for any transcript. */
  | { ok: false; overheadTokens: number };

const bytesOf = (messages: readonly ChatMessage[], extra: string) =>
  messages.reduce((sum, message) => sum + Buffer.byteLength(message.content, "utf8"), Buffer.byteLength(extra, "utf8"));

/**
 * The cheap path: a token is at least one UTF-8 byte, so a prompt that fits the budget in bytes fits in tokens.
 * Undefined when it may not fit: then `planCalls` must measure it. Its cost is bounded by the budget, not the input:
 * a transcript longer in characters than the budget is turned away before anything is rendered.
 */
export function planWithoutTokenizer(input: PlanInput): ChatMessage[][] | undefined {
  const { job, maxInputTokens } = input;
  let characters = job.context.systemPrompt?.length ?? 0;
  for (const turn of job.turns) characters += turn.text.length;
  if (characters > maxInputTokens) return undefined;
  const whole = buildExtractionMessages(job, { start: 0, turns: job.turns }, { schemaInPrompt: input.schemaInPrompt, descriptions: input.descriptions, chunkIndex: 0, chunkCount: 1 });
  return bytesOf(whole, input.schemaText) + FRAMING_TOKENS <= maxInputTokens ? [whole] : undefined;
}

/**
 * The messages of each LLM call; a call longer than the budget is measured with the tokenizer and chunked. `count`:
 * tiktoken's estimate for the model unless the provider has the model's own (a counter cannot cross to a worker thread).
 */
export function planCalls(input: PlanInput, count: TokenCounter = tokenCounter(input.model)): PlanResult {
  const planned = planAndChunk(input, count);
  if (planned.ok && input.countTokens) planned.promptTokens = planned.calls.map((messages) => promptTokensOf(messages, input.schemaText, count));
  return planned;
}

/** OpenAI's chat format adds about this many tokens to each message's text, and this many to each request (the reply's priming). */
export const TOKENS_PER_MESSAGE = 3;
export const TOKENS_PER_REQUEST = 3;

/** An LLM call's prompt tokens: its messages' text and the response schema (which OpenAI bills as prompt), with the chat format's framing. */
export function promptTokensOf(messages: readonly ChatMessage[], schemaText: string, count: TokenCounter): number {
  return messages.reduce((sum, message) => sum + count(message.content) + TOKENS_PER_MESSAGE, count(schemaText) + TOKENS_PER_REQUEST);
}

function planAndChunk(input: PlanInput, count: TokenCounter): PlanResult {
  const fast = planWithoutTokenizer(input);
  if (fast) return { ok: true, calls: fast };
  const { job, schemaInPrompt, descriptions, schemaText, maxInputTokens } = input;
  // The fixed part of every chunk's prompt (instructions, variables, schema) is measured with an empty transcript.
  const frame = buildExtractionMessages(job, { start: 0, turns: [] }, { schemaInPrompt, descriptions, chunkIndex: 0, chunkCount: 2 });
  const overhead = frame.reduce((sum, message) => sum + count(message.content), count(schemaText)) + FRAMING_TOKENS;
  const budget = maxInputTokens - overhead;
  if (budget < MIN_TRANSCRIPT_BUDGET) return { ok: false, overheadTokens: overhead };
  const chunks = chunkTurns(job.turns, { budgetTokens: budget, overlapTurns: input.chunkOverlapTurns, countTokens: count });
  return {
    ok: true,
    calls: chunks.map((chunk, chunkIndex) => buildExtractionMessages(job, chunk, { schemaInPrompt, descriptions, chunkIndex, chunkCount: chunks.length })),
  };
}
