// The embedded provider: a GGUF model run inside the process by node-llama-cpp (llama.cpp), its answer constrained by
// a grammar built from the request's JSON Schema. Downloads the model once, then serves DEBRIEF_LLM_CONCURRENCY
// context sequences; evaluation runs on llama.cpp's threads, never on the event loop.
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { basename, isAbsolute, join, resolve } from "node:path";
import type { LocalModelSettings, Settings } from "../settings.js";
import {
  DebriefError,
  LlmTimeoutError,
  LocalModelLoadingError,
  LocalModelUnavailableError,
  LocalRuntimeNotInstalledError,
  RequestCancelledError,
} from "../errors.js";
import type { Logger } from "../logger.js";
import type { Completion, CompletionRequest, Llm, LlmObserver, PromptBudget } from "./client.js";
import { GrammarCache } from "./local-grammar.js";
import {
  downloadFailureFile,
  downloadModel,
  forgetDownloadFailure,
  ModelDownloadError,
  ModelFileRejectedError,
  nextDownloadAttempt,
  readDownloadFailure,
  recordDownloadFailure,
  type DownloadOptions,
  type DownloadProgress,
} from "./model-download.js";
import {
  importNodeLlamaCpp,
  type ChatHistoryItem,
  type ChatWrapper,
  type Llama,
  type LlamaContext,
  type LlamaContextSequence,
  type LlamaLogLevel,
  type LlamaModel,
  type NodeLlamaCpp,
} from "./node-llama-cpp.js";

/** What /readyz reports about the local model. */
export interface LocalModelStatus {
  model: "loading" | "ready" | "unavailable";
  /** While loading: the fraction of the file downloaded. */
  progress?: number;
  /** When unavailable: why, and what to do. */
  reason?: string;
}

/** Whether the LLM can extract now, and if not why: what /readyz says of the LLM, whatever the provider. */
export interface LlmReadiness {
  ready: boolean;
  reason?: string;
}

/** Tokens a repair round adds besides the previous answer: the list of what was wrong (see extract/structured.ts). */
const REPAIR_MESSAGE_TOKENS = 256;

interface Runtime {
  llama: Llama;
  model: LlamaModel;
  context: LlamaContext;
  chatWrapper: ChatWrapper;
  lib: NodeLlamaCpp;
  grammars: GrammarCache;
  budget: PromptBudget;
}

type State =
  | { phase: "idle" }
  | { phase: "loading"; progress?: number }
  | { phase: "ready"; runtime: Runtime }
  | { phase: "unavailable"; error: DebriefError }
  | { phase: "closed" };

export interface LocalLlmOptions {
  logger?: Logger;
  observer?: LlmObserver;
  /** Download progress, for a terminal progress bar (the log gets it too). */
  onDownloadProgress?: (progress: DownloadProgress) => void;
  /** How node-llama-cpp is loaded; a test replaces it to play a lean install that lacks the optional package. */
  importRuntime?: () => Promise<NodeLlamaCpp>;
  /** Retry pacing of the download; tests shorten it. */
  download?: Pick<DownloadOptions, "attempts" | "retryDelayMs" | "idleTimeoutMs">;
}

interface Waiter {
  resolve: (sequence: LlamaContextSequence) => void;
  reject: (error: unknown) => void;
}

/** Leave one core to the HTTP event loop (and the tokenizer); llama.cpp gets the rest. */
export function inferenceThreads(cores = availableParallelism()): number {
  return Math.max(1, cores - 1);
}

function isModuleNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND";
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class LocalLlm implements Llm {
  readonly #settings: Settings["llm"];
  readonly #local: LocalModelSettings;
  readonly #options: LocalLlmOptions;
  readonly #free: LlamaContextSequence[] = [];
  readonly #waiters: Waiter[] = [];
  readonly #stop = new AbortController();
  #state: State = { phase: "idle" };
  #starting: Promise<void> | undefined;

  constructor(settings: Settings["llm"], options: LocalLlmOptions = {}) {
    if (!settings.local) throw new Error("LocalLlm needs settings.local (provider \"local\")");
    this.#settings = settings;
    this.#local = settings.local;
    this.#options = options;
  }

  /** Requests waiting for a free context sequence (for metrics). */
  get pending(): number {
    return this.#waiters.length;
  }

  /** Context sequences generating right now (for metrics). */
  get active(): number {
    return this.#state.phase === "ready" ? this.#settings.concurrency - this.#free.length : 0;
  }

  status(): LocalModelStatus {
    switch (this.#state.phase) {
      case "ready":
        return { model: "ready" };
      case "unavailable":
        return { model: "unavailable", reason: this.#state.error.message };
      case "loading":
        return this.#state.progress === undefined ? { model: "loading" } : { model: "loading", progress: this.#state.progress };
      default:
        return { model: "loading" };
    }
  }

  /** Loading says how far it is; unavailable says why and what to do (the 503 every extraction answers). */
  readiness(): LlmReadiness {
    const status = this.status();
    if (status.model === "ready") return { ready: true };
    if (status.model === "unavailable") return { ready: false, reason: status.reason };
    const progress = status.progress === undefined ? "" : ` (${Math.floor(status.progress * 100)}% downloaded)`;
    return { ready: false, reason: `the local model ${this.#settings.model} is loading${progress}; calls are stored and wait for it` };
  }

  /** The model file's path on this machine (downloaded there first when the source is a URL). */
  get modelPath(): string {
    const source = this.#local.source;
    if (source.kind === "file") return isAbsolute(source.path) ? source.path : resolve(source.path);
    return join(this.#local.modelsDir, source.fileName);
  }

  /**
   * Downloads (once) and loads the model. Resolves when it can serve; rejects with the 503 every extraction then
   * answers. Idempotent: the service starts it in the background, the eval harness waits for it.
   */
  start(): Promise<void> {
    this.#starting ??= this.#load().then(
      (runtime) => {
        if (this.#state.phase === "closed") return void runtime.llama.dispose().catch(() => undefined);
        this.#state = { phase: "ready", runtime };
        this.#options.logger?.info({ model: this.#settings.model, context_tokens: runtime.context.contextSize, sequences: this.#settings.concurrency }, "local model ready");
      },
      (error: unknown) => {
        const failure =
          error instanceof DebriefError ? error : new LocalModelUnavailableError(messageOf(error), { cause: error });
        if (this.#state.phase !== "closed") this.#state = { phase: "unavailable", error: failure };
        this.#options.logger?.error({ model: this.#settings.model, code: failure.code, reason: failure.message }, "the local model is unavailable");
        throw failure;
      },
    );
    return this.#starting;
  }

  async #load(): Promise<Runtime> {
    this.#state = { phase: "loading" };
    const logger = this.#options.logger;
    let lib: NodeLlamaCpp;
    try {
      lib = await (this.#options.importRuntime ?? importNodeLlamaCpp)();
    } catch (error) {
      if (isModuleNotFound(error)) throw new LocalRuntimeNotInstalledError({ cause: error });
      throw new LocalModelUnavailableError(`node-llama-cpp failed to load: ${messageOf(error)}`, { cause: error });
    }
    const source = this.#local.source;
    if (source.kind === "url") await this.#download(source.url);
    if (this.#stop.signal.aborted) throw new LocalModelUnavailableError("the service is shutting down");
    this.#state = { phase: "loading", progress: source.kind === "url" ? 1 : undefined };

    const threads = inferenceThreads();
    // build "never" and skipDownload: use the prebuilt binaries shipped in the npm packages, never fetch or compile.
    const llama = await lib.getLlama({
      build: "never",
      skipDownload: true,
      progressLogs: false,
      maxThreads: threads,
      logLevel: lib.LlamaLogLevel.warn,
      logger: (level: LlamaLogLevel, message: string) => {
        const text = message.trim();
        if (!text) return;
        if (level === lib.LlamaLogLevel.error || level === lib.LlamaLogLevel.fatal) logger?.error({ source: "llama.cpp" }, text);
        else logger?.warn({ source: "llama.cpp" }, text);
      },
    });
    try {
      const model = await llama.loadModel({ modelPath: this.modelPath, loadSignal: this.#stop.signal });
      const context = await model.createContext({
        contextSize: this.#local.contextTokens,
        sequences: this.#settings.concurrency,
        threads,
      });
      for (let i = 0; i < this.#settings.concurrency; i += 1) this.#free.push(context.getSequence());
      const chatWrapper = lib.resolveChatWrapper(model);
      const runtime: Runtime = {
        llama,
        model,
        context,
        chatWrapper,
        lib,
        grammars: new GrammarCache(llama, { maxStringChars: this.#local.maxStringChars }),
        budget: { maxInputTokens: 0, countTokens: (text) => (text === "" ? 0 : model.tokenize(text).length) },
      };
      runtime.budget.maxInputTokens = this.#maxInputTokens(runtime);
      if (runtime.budget.maxInputTokens < 256) {
        throw new LocalModelUnavailableError(
          `DEBRIEF_LOCAL_CONTEXT=${this.#local.contextTokens} leaves ${Math.max(0, runtime.budget.maxInputTokens)} prompt tokens once ${this.#answerRoom()} are kept for answers (DEBRIEF_LOCAL_ANSWER_TOKENS, repair rounds): raise DEBRIEF_LOCAL_CONTEXT`,
        );
      }
      logger?.info({ model: this.#settings.model, gpu: llama.gpu || "none", threads, prompt_budget_tokens: runtime.budget.maxInputTokens }, "local model loaded");
      return runtime;
    } catch (error) {
      await llama.dispose().catch(() => undefined);
      if (error instanceof DebriefError) throw error;
      throw new LocalModelUnavailableError(`${this.modelPath} could not be loaded: ${messageOf(error)}`, { cause: error });
    }
  }

  async #download(url: string): Promise<void> {
    const logger = this.#options.logger;
    let loggedStep = -1;
    if (existsSync(this.modelPath)) return;
    // Offline machines restart too: after a failure a start tries once, and not at all before the backoff has passed.
    const failed = readDownloadFailure(this.modelPath, url);
    if (failed && Date.now() < nextDownloadAttempt(failed)) {
      throw new LocalModelUnavailableError(
        `the download of ${url} failed ${failed.failures === 1 ? "1 time" : `${failed.failures} times`}, last at ${failed.failed_at} (${failed.reason}); ` +
          `a start after ${new Date(nextDownloadAttempt(failed)).toISOString()} tries again (delete models/${basename(downloadFailureFile(this.modelPath))} in the data dir to try at the next start)`,
      );
    }
    logger?.info({ model: this.#settings.model, url, to: this.modelPath, failures: failed?.failures ?? 0 }, "downloading the local model (once; resumed if interrupted)");
    try {
      await downloadModel({
        url,
        destination: this.modelPath,
        sha256: this.#local.sha256,
        signal: this.#stop.signal,
        ...this.#options.download,
        ...(failed ? { attempts: 1 } : {}),
        onProgress: (progress) => {
          const fraction = progress.totalBytes ? progress.downloadedBytes / progress.totalBytes : undefined;
          if (this.#state.phase === "loading") this.#state = { phase: "loading", progress: fraction };
          this.#options.onDownloadProgress?.(progress);
          // Every tenth in the log: enough to watch, never a flood.
          const step = fraction === undefined ? -1 : Math.floor(fraction * 10);
          if (step > loggedStep) {
            loggedStep = step;
            logger?.info({ downloaded_bytes: progress.downloadedBytes, total_bytes: progress.totalBytes, percent: step * 10 }, "downloading the local model");
          }
        },
      });
    } catch (error) {
      // A file that arrived whole and was wrong is deleted, not remembered: that is a setting to fix, not a network to wait for.
      if (error instanceof ModelFileRejectedError) throw new LocalModelUnavailableError(`the download of ${url} failed: ${error.message}`, { cause: error });
      if (error instanceof ModelDownloadError) {
        const failure = recordDownloadFailure(this.modelPath, url, error.message);
        throw new LocalModelUnavailableError(`the download of ${url} failed: ${error.message}; a start after ${failure.next_attempt_after} tries again`, {
          cause: error,
        });
      }
      throw error;
    }
    forgetDownloadFailure(this.modelPath);
  }

  /** Room kept free in every sequence: the answer, and for each repair round the previous answer and the repair request. */
  #answerRoom(): number {
    const repairs = this.#settings.repairAttempts;
    return this.#local.answerTokens * (repairs + 1) + REPAIR_MESSAGE_TOKENS * repairs;
  }

  /** The smaller of DEBRIEF_MAX_INPUT_TOKENS and what the context holds beside the answer room and the chat template. */
  #maxInputTokens(runtime: Runtime): number {
    const framing = runtime.chatWrapper
      .generateContextState({ chatHistory: [{ type: "system", text: "" }, { type: "user", text: "" }, { type: "model", response: [] }] })
      .contextText.tokenize(runtime.model.tokenizer).length;
    return Math.min(this.#settings.maxInputTokens, runtime.context.contextSize - this.#answerRoom() - framing);
  }

  #runtime(): Runtime {
    switch (this.#state.phase) {
      case "ready":
        return this.#state.runtime;
      case "unavailable":
        throw this.#state.error;
      case "closed":
        throw new LocalModelUnavailableError("the service is shutting down");
      case "loading":
        throw new LocalModelLoadingError(this.#state.progress);
      default:
        throw new LocalModelLoadingError(undefined);
    }
  }

  promptBudget(): PromptBudget {
    return this.#runtime().budget;
  }

  async complete(request: CompletionRequest): Promise<Completion> {
    const runtime = this.#runtime();
    const grammar =
      request.responseFormat.type === "json_schema"
        ? await runtime.grammars.forSchema(request.responseFormat.json_schema.schema)
        : await runtime.grammars.anyJson();
    const history: ChatHistoryItem[] = request.messages.map((message) =>
      message.role === "assistant" ? { type: "model", response: [message.content] } : { type: message.role, text: message.content },
    );

    const sequence = await this.#acquire(request.signal);
    const started = performance.now();
    const timeout = AbortSignal.timeout(this.#settings.timeoutMs);
    const signal = request.signal ? AbortSignal.any([timeout, request.signal]) : timeout;
    const outputBefore = sequence.tokenMeter.usedOutputTokens;
    const chat = new runtime.lib.LlamaChat({ contextSequence: sequence, chatWrapper: runtime.chatWrapper, autoDisposeSequence: false });
    let aborted = false;
    try {
      const promptTokens = await this.#prefill(runtime, sequence, history, signal);
      const response = await chat.generateResponse(history, {
        grammar,
        maxTokens: this.#local.answerTokens,
        temperature: 0,
        signal,
        contextShift: {
          // Dropping part of the call to make room would silently lose what the customer said: fail instead.
          strategy: ({ maxTokensCount }: { maxTokensCount: number }) => {
            throw new DebriefError(
              "llm_error",
              502,
              `The prompt does not fit the local model's context of ${maxTokensCount} tokens: raise DEBRIEF_LOCAL_CONTEXT or lower DEBRIEF_MAX_INPUT_TOKENS`,
            );
          },
        },
      });
      const completionTokens = sequence.tokenMeter.usedOutputTokens - outputBefore;
      this.#options.observer?.onAttempt?.("ok", performance.now() - started);
      return {
        text: response.response,
        refusal: null,
        finishReason: response.metadata.stopReason === "maxTokens" ? "length" : "stop",
        usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens },
        requests: 1,
      };
    } catch (error) {
      aborted = signal.aborted;
      const outcome = timeout.aborted ? "timeout" : request.signal?.aborted ? "cancelled" : "error";
      this.#options.observer?.onAttempt?.(outcome, performance.now() - started);
      if (timeout.aborted) throw new LlmTimeoutError(`The local model did not answer within DEBRIEF_LLM_TIMEOUT (${this.#settings.timeoutMs} ms)`, { cause: error });
      if (request.signal?.aborted) throw new RequestCancelledError({ cause: error });
      if (error instanceof DebriefError) throw error;
      throw new DebriefError("llm_error", 502, `The local model failed: ${messageOf(error)}`, { cause: error });
    } finally {
      chat.dispose({ disposeSequence: false });
      // A generation cut short leaves a half-written answer in the sequence: clear it before the next request.
      if (aborted) await sequence.clearHistory().catch(() => undefined);
      this.#release(sequence);
    }
  }

  /**
   * Evaluates the prompt into the sequence one batch at a time, keeping whatever prefix it already holds (the
   * instructions a previous call on this sequence shared). node-llama-cpp checks an abort signal only between
   * generated tokens, so a long prompt evaluated in one go would keep a cancelled or timed-out request's sequence
   * busy until the end; between batches, it stops. Returns the prompt's length in tokens.
   */
  async #prefill(runtime: Runtime, sequence: LlamaContextSequence, history: ChatHistoryItem[], signal: AbortSignal): Promise<number> {
    const tokens = runtime.chatWrapper
      .generateContextState({ chatHistory: [...history, { type: "model", response: [] }] })
      .contextText.tokenize(runtime.model.tokenizer);
    if (tokens.length + this.#local.answerTokens > sequence.contextSize) {
      throw new DebriefError(
        "llm_error",
        502,
        `The prompt (${tokens.length} tokens) and room for the answer (${this.#local.answerTokens}) do not fit the local model's context of ${sequence.contextSize} tokens: raise DEBRIEF_LOCAL_CONTEXT or lower DEBRIEF_MAX_INPUT_TOKENS`,
      );
    }
    await sequence.adaptStateToTokens(tokens, false);
    const batch = runtime.context.batchSize;
    // The last token is left to the chat, which samples the answer from its logits.
    for (let at = sequence.nextTokenIndex; at < tokens.length - 1; at += batch) {
      signal.throwIfAborted();
      await sequence.evaluateWithoutGeneratingNewTokens(tokens.slice(at, Math.min(at + batch, tokens.length - 1)));
    }
    signal.throwIfAborted();
    return tokens.length;
  }

  /** A free context sequence; waits for one (in order of arrival) when all are busy, unless the caller gives up. */
  #acquire(signal: AbortSignal | undefined): Promise<LlamaContextSequence> {
    if (signal?.aborted) return Promise.reject(new RequestCancelledError());
    const free = this.#free.pop();
    if (free) return Promise.resolve(free);
    return new Promise((resolvePromise, reject) => {
      const waiter: Waiter = {
        resolve: (sequence) => {
          signal?.removeEventListener("abort", leave);
          resolvePromise(sequence);
        },
        reject,
      };
      const leave = () => {
        const index = this.#waiters.indexOf(waiter);
        if (index >= 0) this.#waiters.splice(index, 1);
        reject(new RequestCancelledError());
      };
      signal?.addEventListener("abort", leave, { once: true });
      this.#waiters.push(waiter);
    });
  }

  #release(sequence: LlamaContextSequence): void {
    const next = this.#waiters.shift();
    if (next) next.resolve(sequence);
    else this.#free.push(sequence);
  }

  /** Stops a download in progress and frees the model. Requests still waiting for a sequence get a 503. */
  async close(): Promise<void> {
    const state = this.#state;
    this.#state = { phase: "closed" };
    this.#stop.abort();
    for (const waiter of this.#waiters.splice(0)) waiter.reject(new LocalModelUnavailableError("the service is shutting down"));
    await this.#starting?.catch(() => undefined);
    const runtime = state.phase === "ready" ? state.runtime : undefined;
    await runtime?.llama.dispose();
  }
}
