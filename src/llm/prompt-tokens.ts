// A request's prompt tokens, for what the shared LLM budget reserves: counted with tiktoken as OpenAI bills them (the
// messages, the response schema, the chat framing), at a cost bounded on the event loop whatever the prompt's length.
import { tokenCounter, type TokenCounter } from "../transcript/index.js";

/** OpenAI's chat format adds about this many tokens to each message's text, and this many to each request (the reply's priming). */
export const TOKENS_PER_MESSAGE = 3;
export const TOKENS_PER_REQUEST = 3;

/**
 * Texts up to this long are counted whole (about a millisecond). A longer one (a long call's transcript, which the
 * planner measures on a worker thread) is estimated from samples of it: a reservation, corrected by the answer's
 * `usage`, is not worth tokenising 100 KB on the event loop for.
 */
export const EXACT_COUNT_CHARS = 4_096;
const SAMPLES = 4;
const SAMPLE_CHARS = 1_024;

/** Counts kept per model: the instructions and variables of a profile's prompt repeat on each of its calls, and retries resend it all. */
const CACHED_TEXTS = 128;
/** Only texts this short are kept (the cache holds at most CACHED_TEXTS × this many characters per model). */
const CACHED_TEXT_CHARS = 32_768;
/** Models counted for (the name can come from a request): past this many, the oldest is forgotten. */
const MODELS = 16;

/** A text's tokens: exact up to EXACT_COUNT_CHARS, else the tokens of evenly spaced samples scaled to its length. */
export function countOrEstimate(text: string, count: TokenCounter): number {
  if (text.length <= EXACT_COUNT_CHARS) return count(text);
  const step = (text.length - SAMPLE_CHARS) / (SAMPLES - 1);
  let tokens = 0;
  for (let index = 0; index < SAMPLES; index += 1) {
    const start = Math.floor(index * step);
    tokens += count(text.slice(start, start + SAMPLE_CHARS));
  }
  // A sample cut mid-word counts a token or two more than the word: the estimate errs high, as a reservation should.
  return Math.ceil((tokens * text.length) / (SAMPLES * SAMPLE_CHARS));
}

/** Recently counted texts, oldest first (a Map keeps insertion order). */
class TextCounts {
  readonly #counts = new Map<string, number>();
  readonly count: TokenCounter;

  constructor(count: TokenCounter) {
    this.count = count;
  }

  tokens(text: string): number {
    const known = this.#counts.get(text);
    if (known !== undefined) return known;
    const tokens = countOrEstimate(text, this.count);
    if (text.length <= CACHED_TEXT_CHARS) {
      if (this.#counts.size >= CACHED_TEXTS) this.#counts.delete(this.#counts.keys().next().value!);
      this.#counts.set(text, tokens);
    }
    return tokens;
  }
}

export interface PromptParts {
  model: string;
  messages: readonly { content: string }[];
  /** The response_format's JSON Schema: OpenAI bills it as prompt. */
  schema?: object;
}

/** Counts requests' prompts per model with the model's tiktoken encoding (o200k_base for models it does not know). */
export class PromptTokens {
  readonly #models = new Map<string, TextCounts>();
  /** Per schema object and model: the extractor compiles one per distinct variable set and sends it on every call. */
  readonly #schemas = new WeakMap<object, Map<string, number>>();
  readonly #counterFor: (model: string) => TokenCounter;

  constructor(counterFor: (model: string) => TokenCounter = tokenCounter) {
    this.#counterFor = counterFor;
  }

  count({ model, messages, schema }: PromptParts): number {
    const texts = this.#texts(model);
    const framing = TOKENS_PER_REQUEST + messages.length * TOKENS_PER_MESSAGE;
    return messages.reduce((sum, message) => sum + texts.tokens(message.content), framing + (schema ? this.#schemaTokens(schema, model, texts) : 0));
  }

  #schemaTokens(schema: object, model: string, texts: TextCounts): number {
    let byModel = this.#schemas.get(schema);
    if (!byModel) this.#schemas.set(schema, (byModel = new Map()));
    let tokens = byModel.get(model);
    if (tokens === undefined) byModel.set(model, (tokens = countOrEstimate(JSON.stringify(schema), texts.count)));
    return tokens;
  }

  #texts(model: string): TextCounts {
    let texts = this.#models.get(model);
    if (!texts) {
      if (this.#models.size >= MODELS) this.#models.delete(this.#models.keys().next().value!);
      this.#models.set(model, (texts = new TextCounts(this.#counterFor(model))));
    }
    return texts;
  }
}
