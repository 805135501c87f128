// The extraction pipeline: prompt → LLM → validate (repair) → merge chunks → ground evidence → result.
import { createHash } from "node:crypto";
import { z } from "zod";
// The hashing module alone: the cache's store adapters (SQLite, Redis) are not the extractor's to load.
import { canonicalHash } from "../cache/canonical-hash.js";
import { InvalidRequestError, LlmNotConfiguredError } from "../errors.js";
import type { Settings } from "../config.js";
import type { ChatMessage, Llm, Usage } from "../llm/index.js";
import { outputSchemaFor, type ExtractJob, type ModelAnswer, type OutputSchema, type VariableSpec } from "../schema/index.js";
import { chunkTurns, tokenCounter } from "../transcript/index.js";
import { groundEvidence, type Evidence } from "./evidence.js";
import { mergeChunkAnswers } from "./merge.js";
import { buildExtractionMessages, buildFinalizeMessages, PROMPT_VERSION } from "./prompt.js";
import { completeStructured } from "./structured.js";

const UsageSchema = z.object({ prompt_tokens: z.number(), completion_tokens: z.number() });

/** What an extraction produced, as cached: everything but the per-request meta. A cached entry failing this is a miss. */
export const ExtractionSchema = z.object({
  extracted_variables: z.record(z.unknown()),
  evidence: z.record(z.object({ quote: z.string(), turn: z.number().int() })).optional(),
  model: z.string(),
  prompt_version: z.string(),
  attempts: z.number().int(),
  chunks: z.number().int().positive(),
  llm_calls: z.number().int(),
  ungrounded: z.number().int().optional(),
  usage: UsageSchema,
  extracted_at: z.string(),
});
export type Extraction = z.infer<typeof ExtractionSchema>;

export interface ExtractResult {
  extracted_variables: Record<string, unknown>;
  evidence?: Record<string, Evidence>;
  meta: {
    model: string;
    prompt_version: string;
    cached: boolean;
    attempts: number;
    chunks: number;
    llm_calls: number;
    usage: Usage;
    /** On a cache hit: what the original extraction cost. */
    original_usage?: Usage;
    ungrounded?: number;
    latency_ms: number;
    extracted_at: string;
  };
}

/** The narrow view of the result cache the pipeline needs; the cache module provides it. */
export interface ExtractionCache {
  /** `compute` gets a signal that aborts once every caller waiting for it has given up (their `signal`s). */
  getOrCompute(
    key: string,
    compute: (signal: AbortSignal) => Promise<Extraction>,
    options: { read: boolean; signal?: AbortSignal },
  ): Promise<{ value: Extraction; cached: boolean }>;
}

export interface ExtractorObserver {
  /** `cache`: "bypass" when the request asked not to read the cache (options.cache false), or there is none. */
  onExtraction?(event: { chunks: number; attempts: number; usage: Usage; cached: boolean; cache: "hit" | "miss" | "bypass" }): void;
}

export interface ExtractorDeps {
  llm: Llm;
  settings: Settings["llm"];
  cache?: ExtractionCache;
  observer?: ExtractorObserver;
}

const SCHEMA_NAME = "call_extraction";
/** Room for the chat framing around the messages, which the token count of their text does not see. */
const FRAMING_TOKENS = 32;
const MIN_TRANSCRIPT_BUDGET = 256;

/** The response_format schema's text, serialised once per compiled schema rather than on every request. */
const schemaTexts = new WeakMap<OutputSchema, string>();
function schemaTextOf(schema: OutputSchema): string {
  let text = schemaTexts.get(schema);
  if (text === undefined) schemaTexts.set(schema, (text = JSON.stringify(schema.jsonSchema)));
  return text;
}

export class Extractor {
  readonly #deps: ExtractorDeps;

  constructor(deps: ExtractorDeps) {
    this.#deps = deps;
  }

  /** The model a job runs on: the request's choice, else the deployment's. The local provider has one model only. */
  modelFor(job: ExtractJob): string {
    const { settings } = this.#deps;
    const requested = job.options.model;
    if (settings.provider === "local" && requested !== undefined && requested !== settings.model && `local:${requested}` !== settings.model) {
      throw new InvalidRequestError(
        `This deployment runs the local model ${settings.model} only`,
        [{ path: "options.model", message: `must be ${settings.model} (or left out), not "${requested}"` }],
        "model_not_available",
      );
    }
    return settings.provider === "local" ? settings.model : (requested ?? settings.model);
  }

  /** SHA-256 over a canonical form of everything that changes the answer, and nothing else. */
  cacheKey(job: ExtractJob): string {
    return canonicalHash(this.cacheKeyParts(job));
  }

  cacheKeyParts(job: ExtractJob): unknown {
    const settings = this.#deps.settings;
    return {
      // Turns are strings in a fixed order, already canonical as plain JSON: hashed natively, not walked value by value.
      transcript: createHash("sha256").update(JSON.stringify(job.turns.map((turn) => [turn.speaker, turn.text]))).digest("hex"),
      variables: [...job.variables]
        // Code-unit order, not localeCompare: instances sharing Redis must agree whatever their locale.
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
        .map((spec) => ({ name: spec.name, type: spec.type, description: spec.description, options: spec.options ?? null })),
      context: {
        system_prompt: job.context.systemPrompt ?? null,
        call_created_at: job.context.callCreatedAt ?? null,
        timezone: job.context.timezone ?? null,
        input_variables: job.context.inputVariables ?? null,
      },
      model: this.modelFor(job),
      structured_output: settings.structuredOutput,
      prompt_version: PROMPT_VERSION,
      evidence: job.options.evidence,
      chunking: [settings.maxInputTokens, settings.chunkOverlapTurns, ...(settings.local ? [settings.local.contextTokens, settings.local.answerTokens] : [])],
    };
  }

  /** `signal`: the caller no longer waits (the client left); the LLM work is given up unless another caller shares it. */
  async extract(job: ExtractJob, options: { signal?: AbortSignal } = {}): Promise<ExtractResult> {
    if (!this.#deps.settings.configured) throw new LlmNotConfiguredError();
    const started = performance.now();
    const { cache, observer } = this.#deps;
    const { value, cached } = cache
      ? await cache.getOrCompute(this.cacheKey(job), (signal) => this.#run(job, signal), { read: job.options.cache, signal: options.signal })
      : { value: await this.#run(job, options.signal), cached: false };
    const usage = cached ? { prompt_tokens: 0, completion_tokens: 0 } : value.usage;
    const lookup = !cache || !job.options.cache ? "bypass" : cached ? "hit" : "miss";
    observer?.onExtraction?.({ chunks: value.chunks, attempts: value.attempts, usage, cached, cache: lookup });
    return {
      extracted_variables: value.extracted_variables,
      ...(value.evidence ? { evidence: value.evidence } : {}),
      meta: {
        model: value.model,
        prompt_version: value.prompt_version,
        cached,
        attempts: cached ? 0 : value.attempts,
        chunks: value.chunks,
        llm_calls: cached ? 0 : value.llm_calls,
        usage,
        ...(cached ? { original_usage: value.usage } : {}),
        ...(value.ungrounded !== undefined ? { ungrounded: value.ungrounded } : {}),
        latency_ms: Math.round(performance.now() - started),
        extracted_at: value.extracted_at,
      },
    };
  }

  async #run(job: ExtractJob, signal: AbortSignal | undefined): Promise<Extraction> {
    const { llm, settings } = this.#deps;
    const model = this.modelFor(job);
    const mode = settings.structuredOutput;
    const schema = outputSchemaFor(job.variables, { evidence: job.options.evidence });
    const schemaInPrompt = mode === "json_object" ? schema.jsonSchema : undefined;
    const calls = this.#plan(job, model, schema, schemaInPrompt);

    // One chunk failing fails the call: the others are given up rather than left holding LLM slots.
    const failed = new AbortController();
    const chunkSignal = signal ? AbortSignal.any([signal, failed.signal]) : failed.signal;
    const results = await Promise.all(
      calls.map((messages) =>
        completeStructured({ llm, model, mode, schema, schemaName: SCHEMA_NAME, repairAttempts: settings.repairAttempts, messages, signal: chunkSignal }).catch(
          (error: unknown) => {
            failed.abort(error);
            throw error;
          },
        ),
      ),
    );
    const usage = sumUsage(results.map((result) => result.usage));
    let attempts = Math.max(...results.map((result) => result.attempts));
    let llmCalls = results.reduce((sum, result) => sum + result.requests, 0);

    const merged = mergeChunkAnswers(job.variables, results.map((result) => result.answer));
    if (calls.length > 1) {
      const final = await this.#finalize(model, job.variables, results.map((result) => result.answer), signal);
      if (final) {
        // The final pass settles status and summary; where it cannot tell (null), what the chunks concluded stands.
        for (const [name, value] of Object.entries(final.answer.values)) if (value !== null) merged.values[name] = value;
        usage.prompt_tokens += final.usage.prompt_tokens;
        usage.completion_tokens += final.usage.completion_tokens;
        attempts = Math.max(attempts, final.attempts);
        llmCalls += final.requests;
      }
    }

    const grounded = job.options.evidence ? groundEvidence(job.turns, merged.values, merged.evidence) : undefined;
    return {
      extracted_variables: merged.values,
      ...(grounded ? { evidence: grounded.evidence, ungrounded: grounded.ungrounded } : {}),
      model,
      prompt_version: PROMPT_VERSION,
      attempts,
      chunks: calls.length,
      llm_calls: llmCalls,
      usage,
      extracted_at: new Date().toISOString(),
    };
  }

  /**
   * The messages of each LLM call. A token is at least one UTF-8 byte, so a call whose whole prompt fits the budget
   * in bytes goes out as it is, without running the tokenizer; only a longer one is measured and split into chunks.
   */
  #plan(job: ExtractJob, model: string, schema: OutputSchema, schemaInPrompt: Record<string, unknown> | undefined): ChatMessage[][] {
    const { settings, llm } = this.#deps;
    // A provider that knows its model (the local one) gives its own budget and tokenizer; others: the settings' and tiktoken.
    const own = llm.promptBudget?.();
    const maxInputTokens = own?.maxInputTokens ?? settings.maxInputTokens;
    // The response schema is prompt text for an API server; a local model gets it as a grammar instead.
    const schemaText = schemaInPrompt || own ? "" : schemaTextOf(schema);
    const whole = buildExtractionMessages(job, { start: 0, turns: job.turns }, { schemaInPrompt, chunkIndex: 0, chunkCount: 1 });
    const bytes = whole.reduce((sum, message) => sum + Buffer.byteLength(message.content, "utf8"), Buffer.byteLength(schemaText, "utf8"));
    if (bytes + FRAMING_TOKENS <= maxInputTokens) return [whole];

    // The fixed part of every chunk's prompt (instructions, variables, schema) is measured with an empty transcript.
    const count = own?.countTokens ?? tokenCounter(model);
    const frame = buildExtractionMessages(job, { start: 0, turns: [] }, { schemaInPrompt, chunkIndex: 0, chunkCount: 2 });
    const overhead = frame.reduce((sum, message) => sum + count(message.content), count(schemaText)) + FRAMING_TOKENS;
    const budget = maxInputTokens - overhead;
    if (budget < MIN_TRANSCRIPT_BUDGET) {
      throw new InvalidRequestError(
        `The variables and instructions alone take ${overhead} prompt tokens, leaving no room for the transcript within ${own ? `the local model's prompt budget of ${maxInputTokens}` : `DEBRIEF_MAX_INPUT_TOKENS=${settings.maxInputTokens}`}`,
        [{ path: "variables", message: "too many or too long variable descriptions for the prompt budget" }],
        "prompt_budget_exceeded",
      );
    }
    const chunks = chunkTurns(job.turns, { budgetTokens: budget, overlapTurns: settings.chunkOverlapTurns, countTokens: count });
    return chunks.map((chunk, chunkIndex) => buildExtractionMessages(job, chunk, { schemaInPrompt, chunkIndex, chunkCount: chunks.length }));
  }

  /** `status` and `summary` of a chunked call come from one pass over what every chunk concluded. */
  async #finalize(model: string, variables: readonly VariableSpec[], answers: readonly ModelAnswer[], signal: AbortSignal | undefined) {
    const specs = variables.filter((spec) => spec.name === "status" || spec.name === "summary");
    if (specs.length === 0 || answers.length < 2) return undefined;
    const byName = Object.fromEntries(specs.map((spec) => [spec.name, spec]));
    return completeStructured({
      llm: this.#deps.llm,
      model,
      mode: this.#deps.settings.structuredOutput,
      schema: outputSchemaFor(specs, { evidence: false }),
      schemaName: "call_outcome",
      repairAttempts: this.#deps.settings.repairAttempts,
      messages: buildFinalizeMessages(
        answers.map((answer) => ({ summary: answer.values.summary ?? null, status: answer.values.status ?? null })),
        { status: byName.status, summary: byName.summary },
      ),
      signal,
    });
  }
}

export function sumUsage(usages: readonly Usage[]): Usage {
  return usages.reduce(
    (total, usage) => ({
      prompt_tokens: total.prompt_tokens + usage.prompt_tokens,
      completion_tokens: total.completion_tokens + usage.completion_tokens,
    }),
    { prompt_tokens: 0, completion_tokens: 0 },
  );
}
