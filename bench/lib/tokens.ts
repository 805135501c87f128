// Token counting for the bench with tiktoken's o200k_base (the gpt-4o family's encoding): exact, and a memoised
// line-by-line form that the fake LLM uses so that counting does not become the LLM floor's own cost.
import { get_encoding, type Tiktoken } from "tiktoken";

let encoder: Tiktoken | undefined;

function o200k(): Tiktoken {
  encoder ??= get_encoding("o200k_base");
  return encoder;
}

export function countTokens(text: string): number {
  return text === "" ? 0 : o200k().encode_ordinary(text).length;
}

/** Each token's UTF-8 bytes, in order: what an OpenAI server's `logprobs.content[].bytes` holds for an answer. */
export function tokenBytes(text: string): Uint8Array[] {
  const encoder = o200k();
  return [...encoder.encode_ordinary(text)].map((token) => encoder.decode_single_token_bytes(token));
}

const lineCounts = new Map<string, number>();
const MAX_MEMO_LINES = 200_000;

/**
 * Tokens of `text` counted line by line, memoised per line: requests that differ only in one line (a per-request
 * reference) cost one line's count. A newline after punctuation joins that punctuation's token in o200k_base, so
 * newlines count nothing here; for transcripts this is within ~1% of a whole-text count (test/bench checks it).
 */
export function countTokensByLine(text: string): number {
  const lines = text.split("\n");
  let total = 0;
  for (const line of lines) {
    let count = lineCounts.get(line);
    if (count === undefined) {
      count = countTokens(line);
      if (lineCounts.size >= MAX_MEMO_LINES) lineCounts.clear();
      lineCounts.set(line, count);
    }
    total += count;
  }
  return total;
}

export interface PromptMessage {
  role: string;
  content: string | null;
}

/** OpenAI's published accounting for chat prompts: 3 tokens of framing per message, 1 per role name, 3 to prime the reply. */
const PER_MESSAGE = 3;
const PER_ROLE = 1;
const REPLY_PRIMING = 3;
/** A structured-output schema is injected into the prompt; its JSON text plus a little framing is what it costs. */
const SCHEMA_FRAMING = 8;

/** Prompt tokens of a chat completion request, as an OpenAI server would report `usage.prompt_tokens`. */
export function countChatPrompt(messages: readonly PromptMessage[], jsonSchema?: unknown): number {
  let total = REPLY_PRIMING;
  for (const message of messages) total += PER_MESSAGE + PER_ROLE + countTokensByLine(message.content ?? "");
  if (jsonSchema !== undefined) total += SCHEMA_FRAMING + countTokensByLine(JSON.stringify(jsonSchema));
  return total;
}
