// The one door to the LLM: an OpenAI-compatible chat completion through the `openai` SDK, bounded by p-limit,
// retried with backoff that honours Retry-After, and failures mapped onto Debrief's error types.
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError } from "openai";
import pLimit, { type LimitFunction } from "p-limit";
import { DebriefError, LlmTimeoutError, LlmUnavailableError, RequestCancelledError } from "../errors.js";
import type { Settings } from "../settings.js";
import type { Logger } from "../logger.js";
import { parseRetryAfterMs } from "../lib/retry-after.js";
import type { TokenCounter } from "../transcript/index.js";
import { observedFromHeaders, type BudgetTicket, type LlmBudget, type LlmPriority } from "./budget.js";
import { PromptTokens } from "./prompt-tokens.js";

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

export type ResponseFormat =
  | { type: "json_schema"; json_schema: { name: string; strict: true; schema: Record<string, unknown> } }
  | { type: "json_object" };

export interface CompletionRequest {
  model: string;
  messages: ChatMessage[];
  responseFormat: ResponseFormat;
  /** Aborted when nobody waits for the answer any more (the client left): the call is given up and its slot freed. */
  signal?: AbortSignal;
  /** Who waits first when the shared LLM budget is short. Default: live. */
  priority?: LlmPriority;
  /** The profile the call runs under: its recent answers' length is the estimate a request reserves. */
  profile?: string;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
}

/** One token of the answer and its log-probability, as OpenAI's `choices[0].logprobs.content[]` gives it. */
export interface TokenLogprob {
  token: string;
  logprob: number;
  /** The token's UTF-8 bytes (a token may hold part of a character); null when the server gave none. */
  bytes: number[] | null;
}

export interface Completion {
  text: string;
  refusal: string | null;
  finishReason: string;
  usage: Usage;
  /** HTTP requests this completion took, retries included. */
  requests: number;
  /** The answer's tokens with their log-probabilities; absent when the server gave none (or was not asked). */
  logprobs?: TokenLogprob[];
}

/** How much prompt (the messages' text) one call may take, counted with the model's own tokenizer. */
export interface PromptBudget {
  maxInputTokens: number;
  countTokens: TokenCounter;
}

export interface Llm {
  complete(request: CompletionRequest): Promise<Completion>;
  /**
   * For a provider that knows its model's tokenizer and context (the local model): the prompt budget the planner
   * splits calls to. Absent: DEBRIEF_MAX_INPUT_TOKENS, counted with tiktoken. Throws what `complete` would when the
   * model cannot run now.
   */
  promptBudget?(): PromptBudget;
}

/** What a caller (metrics, logs) may want to hear about each HTTP attempt. */
export interface LlmObserver {
  onAttempt?(
    outcome: "ok" | "rate_limited" | "server_error" | "timeout" | "connection_error" | "client_error" | "cancelled" | "error",
    latencyMs: number,
  ): void;
}

interface RetryPolicy {
  maxRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** A Retry-After longer than this is not waited out: the caller gets the error (and the hint) at once. */
  maxRetryAfterMs: number;
}

const RETRYABLE_STATUS = new Set([408, 409, 425, 429]);

/** What a request reserves for its answer until its profile has answered MIN_ANSWER_SAMPLES times: then their recent p95. */
export const DEFAULT_ANSWER_TOKENS = 1_000;
const ANSWER_SAMPLES = 50;
const MIN_ANSWER_SAMPLES = 5;

/** The recent answers' length per profile (or model): the p95 is what a request reserves for its answer. */
class AnswerLengths {
  readonly #samples = new Map<string, number[]>();

  add(key: string, tokens: number): void {
    const samples = this.#samples.get(key) ?? [];
    samples.push(tokens);
    if (samples.length > ANSWER_SAMPLES) samples.shift();
    this.#samples.set(key, samples);
  }

  p95(key: string): number {
    const samples = this.#samples.get(key);
    if (!samples || samples.length < MIN_ANSWER_SAMPLES) return DEFAULT_ANSWER_TOKENS;
    const sorted = [...samples].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)]!;
  }
}

/** OpenAI's own `retry-after-ms` first, then the standard header. */
function retryAfterMs(headers: Headers | undefined): number | undefined {
  const ms = headers?.get("retry-after-ms");
  if (ms && !Number.isNaN(Number(ms))) return Number(ms);
  return parseRetryAfterMs(headers?.get("retry-after"), Date.now());
}

function classify(error: unknown): "rate_limited" | "server_error" | "timeout" | "connection_error" | "client_error" | "unknown" {
  if (error instanceof APIConnectionTimeoutError) return "timeout";
  if (error instanceof APIConnectionError) return "connection_error";
  if (error instanceof APIError && typeof error.status === "number") {
    if (error.status === 429) return "rate_limited";
    if (error.status >= 500 || RETRYABLE_STATUS.has(error.status)) return "server_error";
    return "client_error";
  }
  return "unknown";
}

/** Where the LLM is, for error messages: scheme, host and path only (credentials or a query could hold a key). */
export function describeEndpoint(baseURL: string | undefined): string {
  try {
    const url = new URL(baseURL ?? "https://api.openai.com/v1");
    return `${url.protocol}//${url.host}${url.pathname.replace(/\/$/, "")}`;
  } catch {
    return "the configured OPENAI_BASE_URL";
  }
}

function toDebriefError(error: unknown, endpoint: string): DebriefError {
  if (error instanceof DebriefError) return error;
  const kind = classify(error);
  const detail = error instanceof Error ? error.message : String(error);
  if (kind === "timeout") return new LlmTimeoutError(`The LLM at ${endpoint} did not answer in time: ${detail}`, { cause: error });
  if (kind === "connection_error") {
    return new LlmUnavailableError(`The LLM at ${endpoint} could not be reached: ${detail}`, { cause: error });
  }
  if (kind === "rate_limited" || kind === "server_error") {
    const headers = error instanceof APIError ? (error.headers as Headers | undefined) : undefined;
    return new LlmUnavailableError(`The LLM is unavailable: ${detail}`, { cause: error, retryAfterMs: retryAfterMs(headers) });
  }
  if (error instanceof APIError && (error.status === 401 || error.status === 403)) {
    return new DebriefError("llm_unauthorized", 502, `The LLM server refused our credentials (HTTP ${error.status}): check OPENAI_API_KEY`, { cause: error });
  }
  if (error instanceof APIError && error.status === 404) {
    return new DebriefError("llm_model_not_found", 502, `The LLM server does not know this model or route: ${detail}`, { cause: error });
  }
  return new DebriefError("llm_error", 502, `The LLM server rejected the request: ${detail}`, { cause: error });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A request the server turned away as malformed (400, or 422 from servers built on pydantic). With `logprobs` asked
 * for, the parameter is the likely cause: servers word the refusal in many ways, so it is not recognised by its text.
 */
function isRejectedRequest(error: unknown): error is APIError {
  return error instanceof APIError && (error.status === 400 || error.status === 422);
}

/** The token log-probabilities of a choice, when the server gave them. */
function tokenLogprobs(content: readonly { token: string; logprob: number; bytes: number[] | null }[] | null | undefined): TokenLogprob[] | undefined {
  if (!Array.isArray(content) || content.length === 0) return undefined;
  return content.map(({ token, logprob, bytes }) => ({ token, logprob, bytes: bytes ?? null }));
}

export class OpenAiLlm implements Llm {
  readonly #client: OpenAI;
  readonly #limit: LimitFunction;
  readonly #retry: RetryPolicy;
  readonly #observer: LlmObserver;
  readonly #endpoint: string;
  readonly #logprobs: Settings["llm"]["logprobs"];
  readonly #logger: Logger | undefined;
  /** Models this server answered only once asked without `logprobs` (auto mode): never asked for them again. */
  readonly #refusesLogprobs = new Set<string>();
  readonly #budget: LlmBudget | undefined;
  readonly #answers = new AnswerLengths();
  readonly #promptTokens = new PromptTokens();

  constructor(
    settings: Settings["llm"],
    options: { observer?: LlmObserver; retry?: Partial<RetryPolicy>; logger?: Logger; budget?: LlmBudget } = {},
  ) {
    // Retries are ours, not the SDK's: the SDK waits out any Retry-After, however long.
    this.#client = new OpenAI({
      apiKey: settings.apiKey ?? "not-needed",
      baseURL: settings.baseURL,
      timeout: settings.timeoutMs,
      maxRetries: 0,
    });
    this.#limit = pLimit(settings.concurrency);
    this.#retry = { maxRetries: settings.maxRetries, baseDelayMs: 500, maxDelayMs: 8_000, maxRetryAfterMs: 30_000, ...options.retry };
    this.#observer = options.observer ?? {};
    this.#endpoint = describeEndpoint(settings.baseURL);
    this.#logprobs = settings.logprobs;
    this.#logger = options.logger;
    this.#budget = options.budget;
  }

  /** Requests waiting for a concurrency slot (for metrics). */
  get pending(): number {
    return this.#limit.pendingCount;
  }

  /** Requests running now (for metrics). */
  get active(): number {
    return this.#limit.activeCount;
  }

  async complete(request: CompletionRequest): Promise<Completion> {
    // The budget is waited for before a concurrency slot is taken: a backfill waiting for it holds no slot.
    const ticket = await this.#reserve(request);
    return this.#limit(() => this.#completeWithRetries(request, ticket));
  }

  /**
   * The tokens one HTTP request reserves from the shared budget: its prompt's, counted with tiktoken (the messages and
   * the response schema), and its profile's usual answer (the recent p95; 1,000 until it has answered 5 times). None
   * when the model has no token limit (none configured, none said by the server yet): the prompt is then not tokenised
   * for nothing, and the answer's usage settles what the request took should a limit be learned meanwhile.
   */
  #tokensToReserve(budget: LlmBudget, request: CompletionRequest): number {
    if (!budget.limitsTokens(request.model)) return 0;
    const schema = request.responseFormat.type === "json_schema" ? request.responseFormat.json_schema.schema : undefined;
    return this.#promptTokens.count({ model: request.model, messages: request.messages, schema }) + this.#answers.p95(request.profile ?? request.model);
  }

  async #reserve(request: CompletionRequest): Promise<BudgetTicket | undefined> {
    if (!this.#budget) return undefined;
    const tokens = this.#tokensToReserve(this.#budget, request);
    try {
      return await this.#budget.acquire({ model: request.model, tokens, priority: request.priority ?? "live", signal: request.signal });
    } catch (error) {
      // Given up while waiting for the budget: the same error as while waiting for the answer.
      if (request.signal?.aborted) throw new RequestCancelledError({ cause: error });
      throw error;
    }
  }

  async #completeWithRetries(request: CompletionRequest, reserved: BudgetTicket | undefined): Promise<Completion> {
    let ticket = reserved;
    let logprobs = this.#logprobs !== "off" && !this.#refusesLogprobs.has(request.model);
    let refused: APIError | undefined;
    let requests = 0;
    for (let attempt = 0; ; attempt += 1) {
      // Each HTTP request is one of the budget's requests: a retry reserves again.
      ticket ??= await this.#reserve(request);
      const started = performance.now();
      requests += 1;
      try {
        const { data: response, response: http } = await this.#client.chat.completions
          .create(
            {
              model: request.model,
              messages: request.messages,
              response_format: request.responseFormat,
              // Reasoning models accept only their default temperature; every other model answers deterministically.
              ...(/^(o\d|gpt-5)/.test(request.model) ? {} : { temperature: 0 }),
              ...(logprobs ? { logprobs: true } : {}),
            },
            { signal: request.signal },
          )
          .withResponse();
        this.#observer.onAttempt?.("ok", performance.now() - started);
        // The answer's usage corrects the reservation; a server that reports none leaves it as it was.
        if (response.usage) ticket?.settle(response.usage.prompt_tokens + response.usage.completion_tokens);
        ticket = undefined;
        if (response.usage) this.#answers.add(request.profile ?? request.model, response.usage.completion_tokens);
        this.#budget?.learn(request.model, observedFromHeaders(http.headers));
        if (refused) this.#rememberRefusal(request.model, refused);
        const choice = response.choices[0];
        const tokens = logprobs ? tokenLogprobs(choice?.logprobs?.content) : undefined;
        return {
          text: choice?.message?.content ?? "",
          refusal: choice?.message?.refusal ?? null,
          finishReason: choice?.finish_reason ?? "unknown",
          usage: {
            prompt_tokens: response.usage?.prompt_tokens ?? 0,
            completion_tokens: response.usage?.completion_tokens ?? 0,
          },
          requests,
          ...(tokens ? { logprobs: tokens } : {}),
        };
      } catch (error) {
        // A refused or failed request used no tokens; what the server says of its limits lowers the shared budget.
        ticket?.settle(0);
        ticket = undefined;
        if (error instanceof APIError) this.#learnFromRefusal(request.model, error);
        if (request.signal?.aborted) {
          this.#observer.onAttempt?.("cancelled", performance.now() - started);
          throw new RequestCancelledError({ cause: error });
        }
        const kind = classify(error);
        this.#observer.onAttempt?.(kind === "unknown" ? "error" : kind, performance.now() - started);
        if (logprobs && isRejectedRequest(error)) {
          if (this.#logprobs === "on") {
            throw new DebriefError(
              "llm_error",
              502,
              `The LLM server rejected a request that asked for token log-probabilities (DEBRIEF_LOGPROBS=on; auto would ask once more without them): ${error.message}`,
              { cause: error },
            );
          }
          // Asked once more without them; remembered only if that succeeds (then the parameter was the problem).
          // Not a retry of a transient failure: the attempt count stays.
          logprobs = false;
          refused = error;
          attempt -= 1;
          continue;
        }
        const retryable = kind === "rate_limited" || kind === "server_error" || kind === "timeout" || kind === "connection_error";
        if (!retryable || attempt >= this.#retry.maxRetries) throw toDebriefError(error, this.#endpoint);
        const hinted = error instanceof APIError ? retryAfterMs(error.headers as Headers | undefined) : undefined;
        if (hinted !== undefined && hinted > this.#retry.maxRetryAfterMs) throw toDebriefError(error, this.#endpoint);
        const backoff = Math.min(this.#retry.baseDelayMs * 2 ** attempt, this.#retry.maxDelayMs) * (0.8 + Math.random() * 0.4);
        await sleep(hinted ?? backoff);
        if (request.signal?.aborted) throw new RequestCancelledError();
      }
    }
  }

  /**
   * A 429 holds every instance's requests to the model for its Retry-After (1 s without one). A longer one than this
   * client waits out is not shared: its callers get the error and the hint at once, as they always did, rather than
   * every request waiting that long for the budget.
   */
  #learnFromRefusal(model: string, error: APIError): void {
    if (!this.#budget) return;
    const headers = error.headers as Headers | undefined;
    const hinted = error.status === 429 ? (retryAfterMs(headers) ?? 1_000) : undefined;
    this.#budget.learn(model, observedFromHeaders(headers, hinted !== undefined && hinted <= this.#retry.maxRetryAfterMs ? hinted : undefined));
  }

  #rememberRefusal(model: string, error: APIError): void {
    if (this.#refusesLogprobs.has(model)) return;
    this.#refusesLogprobs.add(model);
    this.#logger?.warn(
      { model, endpoint: this.#endpoint, status: error.status, reason: error.message },
      "the LLM server refuses token log-probabilities for this model: its values get no confidence (not asked again until restart)",
    );
  }
}
