// The extraction pipeline: prompt → LLM → validate (repair) → merge chunks → ground evidence → result.
import { createHash } from "node:crypto";
import { z } from "zod";
// The hashing module alone: the cache's store adapters (SQLite, Redis) are not the extractor's to load.
import { canonicalHash } from "../lib/canonical-hash.js";
import { InvalidRequestError, LlmNotConfiguredError } from "../errors.js";
import type { Settings } from "../settings.js";
import type { ChatMessage, Llm, LlmPriority, Usage } from "../llm/index.js";
// The price table alone: the LLM layer's index would load the local model's runtime.
import { extractionCostUsd, SHIPPED_PRICES, type PriceTable } from "../llm/prices.js";
import { outputSchemaFor, type ExtractJob, type ModelAnswer, type OutputSchema, type VariableSpec } from "../schema/index.js";
import { boundedCounter } from "../transcript/index.js";
import { groundEvidence, type Evidence } from "./evidence.js";
import { extractionSchemaFor } from "./extraction-schema.js";
import { mergeChunkAnswers, mergedPath, type LeafSource, type MergedAnswer } from "./merge.js";
import { isNested, leafPaths } from "./paths.js";
import { planCalls, planWithoutTokenizer, type PlanInput, type PlanResult } from "./plan.js";
import { buildFinalizeMessages, promptVersion } from "./prompt.js";
import { addFlag, ANSWER_FLAGS, reviewOf, type AnswerFlag, type Review } from "./review.js";
import { completeStructured, type StructuredResult } from "./structured.js";
import type { LoopPacer } from "../lib/loop-pacer.js";

const UsageSchema = z.object({ prompt_tokens: z.number(), completion_tokens: z.number() });

/** What an extraction produced, as cached: everything but the per-request meta. A cached entry failing this is a miss. */
export const ExtractionSchema = z.object({
  extracted_variables: z.record(z.unknown()),
  /** By variable name, or by leaf path inside an object or a list of objects (`contact.email`, `items[1].quantity`). */
  evidence: z
    .record(z.object({ quote: z.string(), turn: z.number().int() }))
    .optional()
    .describe(
      "With options.evidence: a verbatim quote and its turn for each non-null value found in the transcript, by variable name; " +
        "inside an object or a list of objects, for each non-null leaf by its path (contact.email, items[1].quantity)",
    ),
  model: z.string(),
  prompt_version: z.string(),
  attempts: z.number().int(),
  chunks: z.number().int().positive(),
  llm_calls: z.number().int(),
  ungrounded: z.number().int().optional(),
  usage: UsageSchema,
  extracted_at: z.string(),
  /** Each non-null value's confidence (a nested one's per leaf path); absent when the LLM gave no token log-probabilities. */
  confidence: z
    .record(z.number().min(0).max(1))
    .optional()
    .describe(
      "For each non-null value, 0..1: the probability of the least likely token of the value in the model's answer; inside an object " +
        "or a list of objects, for each non-null leaf by its path (contact.email, items[1].quantity). Absent when the LLM gave no token log-probabilities",
    ),
  /** The flags known when the answer was made, per non-null value or leaf path (low_confidence is judged per request). */
  flags: z.record(z.array(z.enum(ANSWER_FLAGS))).optional(),
});
export type Extraction = z.infer<typeof ExtractionSchema>;

export interface ExtractResult {
  extracted_variables: Record<string, unknown>;
  evidence?: Record<string, Evidence>;
  confidence?: Record<string, number>;
  review: Review;
  meta: {
    model: string;
    prompt_version: string;
    cached: boolean;
    attempts: number;
    chunks: number;
    llm_calls: number;
    usage: Usage;
    /** What `usage` cost in USD (0 on a cache hit), by the model asked for; null when the price table does not know it. */
    cost_usd: number | null;
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
  onExtraction?(event: {
    chunks: number;
    attempts: number;
    usage: Usage;
    cached: boolean;
    cache: "hit" | "miss" | "bypass";
    /** The model asked for, and the profile the call ran under (`_extract` for POST /v1/extract). */
    model: string;
    profile: string;
    cost_usd: number | null;
  }): void;
}

/** Plans a call that does not fit the budget in bytes (tokeniser, chunking): on a worker thread in the service. */
export type Planner = (input: PlanInput) => Promise<PlanResult>;

export interface ExtractorDeps {
  llm: Llm;
  settings: Settings["llm"];
  cache?: ExtractionCache;
  observer?: ExtractorObserver;
  /** Default: plan on the calling thread (the eval harness, unit tests). */
  planner?: Planner;
  /** What `meta.cost_usd` is priced from. Default: the shipped table. */
  prices?: PriceTable;
}

/** The profile label of extractions that ran under no profile (POST /v1/extract). */
export const NO_PROFILE = "_extract";

const SCHEMA_NAME = "call_extraction";
const planInline: Planner = async (input) => planCalls(input);

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

  /** The price table extractions are priced from (DEBRIEF_PRICES added to the shipped one). */
  get prices(): PriceTable {
    return this.#deps.prices ?? SHIPPED_PRICES;
  }

  /** `meta.prompt_version`: the templates' version, and where the variable descriptions go. */
  get promptVersion(): string {
    return promptVersion(this.#deps.settings.schemaInPrompt);
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
    return this.effectiveModel(requested);
  }

  /** The model a choice (a profile's `model`, a request's) runs on, without checking it is available here. */
  effectiveModel(requested: string | undefined): string {
    const { settings } = this.#deps;
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
        // Rich keys (fields, items, format, pattern, examples, default_region) only when set: a flat variable's key is unchanged.
        .map(({ name, type, description, options, ...rich }) => ({ name, type, description, options: options ?? null, ...rich })),
      context: {
        system_prompt: job.context.systemPrompt ?? null,
        call_created_at: job.context.callCreatedAt ?? null,
        timezone: job.context.timezone ?? null,
        input_variables: job.context.inputVariables ?? null,
      },
      model: this.modelFor(job),
      structured_output: settings.structuredOutput,
      // The descriptions' place (DEBRIEF_SCHEMA_IN_PROMPT) is in the prompt version.
      prompt_version: this.promptVersion,
      // Whether the answer may carry confidence: `on` and `auto` give the same answers from the same server.
      logprobs: settings.logprobs !== "off",
      evidence: job.options.evidence,
      // Nested values are judged per leaf path (evidence, confidence, flags): an entry cached before that is not reused.
      ...(job.variables.some(isNested) ? { judged: "leaf_paths" } : {}),
      chunking: [settings.maxInputTokens, settings.chunkOverlapTurns, ...(settings.local ? [settings.local.contextTokens, settings.local.answerTokens] : [])],
    };
  }

  /**
   * With `pacer` (the post-call pipeline's background extractions), each LLM request is built, and each answer
   * validated, in its own turn of the event loop, so HTTP requests are served in between. `signal`: the caller no
   * longer waits (the client left); the LLM work is given up unless another caller shares it. `profile`: the name the
   * metrics count its tokens and cost under.
   */
  async extract(
    job: ExtractJob,
    options: { pacer?: Pick<LoopPacer, "next">; signal?: AbortSignal; profile?: string; priority?: LlmPriority } = {},
  ): Promise<ExtractResult> {
    if (!this.#deps.settings.configured) throw new LlmNotConfiguredError();
    const started = performance.now();
    const { cache, observer } = this.#deps;
    const { value, cached } = cache
      ? await cache.getOrCompute(this.cacheKey(job), (signal) => this.#run(job, options, signal), { read: job.options.cache, signal: options.signal })
      : { value: await this.#run(job, options, options.signal), cached: false };
    const usage = cached ? { prompt_tokens: 0, completion_tokens: 0 } : value.usage;
    const lookup = !cache || !job.options.cache ? "bypass" : cached ? "hit" : "miss";
    // Every LLM call of a chunked extraction runs on the same model: its summed usage prices it whole.
    const cost = extractionCostUsd(value.model, usage, this.prices);
    observer?.onExtraction?.({
      chunks: value.chunks,
      attempts: value.attempts,
      usage,
      cached,
      cache: lookup,
      model: value.model,
      profile: options.profile ?? NO_PROFILE,
      cost_usd: cost,
    });
    return {
      extracted_variables: value.extracted_variables,
      ...(value.evidence ? { evidence: value.evidence } : {}),
      ...(value.confidence ? { confidence: value.confidence } : {}),
      review: reviewOf({ values: value.extracted_variables, confidence: value.confidence, flags: value.flags, minConfidence: job.options.min_confidence }),
      meta: {
        model: value.model,
        prompt_version: value.prompt_version,
        cached,
        attempts: cached ? 0 : value.attempts,
        chunks: value.chunks,
        llm_calls: cached ? 0 : value.llm_calls,
        usage,
        cost_usd: cost,
        ...(cached ? { original_usage: value.usage } : {}),
        ...(value.ungrounded !== undefined ? { ungrounded: value.ungrounded } : {}),
        latency_ms: Math.round(performance.now() - started),
        extracted_at: value.extracted_at,
      },
    };
  }

  async #run(
    job: ExtractJob,
    { pacer, profile, priority }: { pacer?: Pick<LoopPacer, "next">; profile?: string; priority?: LlmPriority },
    signal: AbortSignal | undefined,
  ): Promise<Extraction> {
    const { settings } = this.#deps;
    const traffic = trafficOf(this.#deps.llm, { profile, priority });
    const llm = pacer ? paced(traffic, pacer) : traffic;
    const model = this.modelFor(job);
    const mode = settings.structuredOutput;
    const schema = extractionSchemaFor(job.variables, { evidence: job.options.evidence });
    const calls = await this.#plan(job, model, schema);

    // Each chunk's request is serialised and sent on the event loop (a 100 KB prompt costs milliseconds in the SDK):
    // they are started one loop turn apart, so other requests are served between them rather than after them all.
    // One chunk failing fails the call: the others are given up (or never sent) rather than left holding LLM slots.
    const failed = new AbortController();
    const chunkSignal = signal ? AbortSignal.any([signal, failed.signal]) : failed.signal;
    const pending: Promise<StructuredResult>[] = [];
    for (const [index, messages] of calls.entries()) {
      if (index > 0) await new Promise((resolve) => setImmediate(resolve));
      if (failed.signal.aborted) break;
      const call = completeStructured({
        llm,
        model,
        mode,
        schema,
        schemaName: SCHEMA_NAME,
        repairAttempts: settings.repairAttempts,
        messages,
        variables: job.variables,
        signal: chunkSignal,
      });
      // Handled now, not only by Promise.all below: a chunk failing while later ones are still being started must not
      // be an unhandled rejection (which ends the process).
      call.catch((error: unknown) => failed.abort(error));
      pending.push(call);
    }
    const results = await Promise.all(pending);
    const usage = sumUsage(results.map((result) => result.usage));
    let attempts = Math.max(...results.map((result) => result.attempts));
    let llmCalls = results.reduce((sum, result) => sum + result.requests, 0);

    const merged = mergeChunkAnswers(job.variables, results.map((result) => result.answer));
    const judged = judgeValues(job.variables, merged, results);
    if (calls.length > 1) {
      const final = await this.#finalize(llm, model, job.variables, results.map((result) => result.answer), signal);
      if (final) {
        // The final pass settles status and summary; where it cannot tell (null), what the chunks concluded stands.
        for (const [name, value] of Object.entries(final.answer.values)) if (value !== null) merged.values[name] = value;
        settleFromFinalPass(judged, final);
        usage.prompt_tokens += final.usage.prompt_tokens;
        usage.completion_tokens += final.usage.completion_tokens;
        attempts = Math.max(attempts, final.attempts);
        llmCalls += final.requests;
      }
    }

    const grounded = job.options.evidence ? groundEvidence(job.turns, merged.values, merged.evidence) : undefined;
    for (const name of grounded?.ungroundedNames ?? []) addFlag(judged.flags, name, "ungrounded");
    return {
      extracted_variables: merged.values,
      ...(grounded ? { evidence: grounded.evidence, ungrounded: grounded.ungrounded } : {}),
      ...(judged.confidence ? { confidence: judged.confidence } : {}),
      ...(Object.keys(judged.flags).length > 0 ? { flags: judged.flags } : {}),
      model,
      prompt_version: this.promptVersion,
      attempts,
      chunks: calls.length,
      llm_calls: llmCalls,
      usage,
      extracted_at: new Date().toISOString(),
    };
  }

  /**
   * The messages of each LLM call, as `extract` would send them; throws prompt_budget_exceeded when the variables
   * alone leave no room for the transcript. `POST /v1/calls` checks a call with it before accepting it.
   */
  async plan(job: ExtractJob): Promise<ChatMessage[][]> {
    return this.#plan(job, this.modelFor(job), extractionSchemaFor(job.variables, { evidence: job.options.evidence }));
  }

  /**
   * A call that fits the budget in bytes is rendered here, at a cost bounded by the budget; any other is measured
   * and chunked by the planner, whose tokeniser work grows with the call (off the event loop in the service). A provider
   * that knows its model (the local one) gives its own budget and tokenizer, which live with the model on this thread.
   */
  async #plan(job: ExtractJob, model: string, schema: OutputSchema): Promise<ChatMessage[][]> {
    const input = this.#planInput(job, model, schema);
    const fast = planWithoutTokenizer(input);
    if (fast) return fast;
    return (await this.#planMeasured(input)).calls;
  }

  /**
   * The prompt tokens `extract` would send for a job, over all its LLM calls (chunks; not a chunked call's short final
   * pass), counted with the model's tokenizer off the event loop: what a backfill's estimate adds up. Throws as `plan`.
   */
  async promptTokens(job: ExtractJob): Promise<{ model: string; llm_calls: number; prompt_tokens: number }> {
    const model = this.modelFor(job);
    const planned = await this.#planMeasured({ ...this.#planInput(job, model, extractionSchemaFor(job.variables, { evidence: job.options.evidence })), countTokens: true });
    return { model, llm_calls: planned.calls.length, prompt_tokens: (planned.promptTokens ?? []).reduce((sum, tokens) => sum + tokens, 0) };
  }

  #planInput(job: ExtractJob, model: string, schema: OutputSchema): PlanInput {
    const { settings, llm } = this.#deps;
    const own = llm.promptBudget?.();
    const schemaInPrompt = settings.structuredOutput === "json_object" ? schema.jsonSchema : undefined;
    return {
      job,
      model,
      maxInputTokens: own?.maxInputTokens ?? settings.maxInputTokens,
      chunkOverlapTurns: settings.chunkOverlapTurns,
      schemaInPrompt,
      descriptions: settings.schemaInPrompt === "always",
      // The response schema is prompt text for an API server; a local model gets it as a grammar instead.
      schemaText: schemaInPrompt || own ? "" : schemaTextOf(schema),
    };
  }

  /**
   * A call that fits the budget in bytes is rendered by `#plan` itself, at a cost bounded by the budget; any other is
   * measured and chunked here by the planner, whose tokeniser work grows with the call (off the event loop in the
   * service). A provider that knows its model (the local one) gives its own budget and tokenizer, which live with the
   * model on this thread.
   */
  async #planMeasured(input: PlanInput): Promise<Extract<PlanResult, { ok: true }>> {
    const { settings, llm, planner = planInline } = this.#deps;
    const own = llm.promptBudget?.();
    const planned = own ? planCalls(input, boundedCounter(own.countTokens)) : await planner(input);
    if (planned.ok) return planned;
    throw new InvalidRequestError(
      `The variables and instructions alone take ${planned.overheadTokens} prompt tokens, leaving no room for the transcript within ${own ? `the local model's prompt budget of ${input.maxInputTokens}` : `DEBRIEF_MAX_INPUT_TOKENS=${settings.maxInputTokens}`}`,
      [{ path: "variables", message: "too many or too long variable descriptions for the prompt budget" }],
      "prompt_budget_exceeded",
    );
  }

  /** `status` and `summary` of a chunked call come from one pass over what every chunk concluded. */
  async #finalize(llm: Llm, model: string, variables: readonly VariableSpec[], answers: readonly ModelAnswer[], signal: AbortSignal | undefined) {
    const specs = variables.filter((spec) => spec.name === "status" || spec.name === "summary");
    if (specs.length === 0 || answers.length < 2) return undefined;
    const byName = Object.fromEntries(specs.map((spec) => [spec.name, spec]));
    return completeStructured({
      llm,
      model,
      mode: this.#deps.settings.structuredOutput,
      schema: outputSchemaFor(specs, { evidence: false }),
      schemaName: "call_outcome",
      repairAttempts: this.#deps.settings.repairAttempts,
      messages: buildFinalizeMessages(
        answers.map((answer) => ({ summary: answer.values.summary ?? null, status: answer.values.status ?? null })),
        { status: byName.status, summary: byName.summary },
        { descriptions: this.#deps.settings.schemaInPrompt === "always" },
      ),
      signal,
    });
  }
}

interface Judged {
  /** Present when any answer carried log-probabilities. */
  confidence?: Record<string, number>;
  flags: Record<string, AnswerFlag[]>;
}

/**
 * Each merged value's confidence and flags, from the chunk answers it came from: a value one chunk gave takes that
 * chunk's; a list gathered from several takes the least confidence among them and every flag any of them had. A
 * nested variable is judged per leaf path, each leaf from the leaves of the answers it came from.
 */
function judgeValues(variables: readonly VariableSpec[], merged: MergedAnswer, results: readonly StructuredResult[]): Judged {
  const confidence: Record<string, number> = {};
  const flags: Record<string, AnswerFlag[]> = {};
  const judge = (key: string, from: readonly LeafSource[]) => {
    const each = from.map((source) => results[source.answer]!.confidence?.[source.path]);
    if (each.every((value) => value !== undefined)) confidence[key] = Math.min(...(each as number[]));
    if (from.some((source) => results[source.answer]!.repaired.includes(source.path))) addFlag(flags, key, "repaired");
    if (from.some((source) => results[source.answer]!.coerced.includes(source.path))) addFlag(flags, key, "coerced");
  };
  const nested = new Map(variables.filter(isNested).map((spec) => [spec.name, spec]));
  for (const [name, from] of Object.entries(merged.sources)) {
    const shape = nested.get(name);
    if (!shape) judge(name, from.map((answer) => ({ answer, path: name })));
    // In the merged value's own order; a leaf always has its sources (merging records them as it places each one).
    else for (const leaf of leafPaths(shape, merged.values[name], name)) if (merged.leafSources[leaf]) judge(leaf, merged.leafSources[leaf]);
  }
  for (const name of merged.disagreements) addFlag(flags, name, "chunks_disagree");
  for (const [answer, result] of results.entries()) for (const path of result.invalidFormat ?? []) addFlag(flags, mergedPath(merged, answer, path), "invalid_format");
  return { ...(results.some((result) => result.confidence) ? { confidence } : {}), flags };
}

/** A value the final pass settled (status, summary) takes that pass's confidence and flags, not the chunks'. */
function settleFromFinalPass(judged: Judged, final: StructuredResult): void {
  for (const [name, value] of Object.entries(final.answer.values)) {
    if (value === null) continue;
    delete judged.flags[name];
    if (judged.confidence) delete judged.confidence[name];
    const confidence = final.confidence?.[name];
    if (confidence !== undefined) (judged.confidence ??= {})[name] = confidence;
    if (final.repaired.includes(name)) addFlag(judged.flags, name, "repaired");
    if (final.coerced.includes(name)) addFlag(judged.flags, name, "coerced");
  }
}

/** The LLM, each request sent and each answer taken up in its own turn. */
/** Every request of one extraction carries its profile and priority, for the shared LLM budget. */
function trafficOf(llm: Llm, traffic: { profile?: string; priority?: LlmPriority }): Llm {
  if (!traffic.profile && !traffic.priority) return llm;
  return {
    complete: (request) => llm.complete({ ...request, ...traffic }),
    ...(llm.promptBudget ? { promptBudget: () => llm.promptBudget!() } : {}),
  };
}

function paced(llm: Llm, pacer: Pick<LoopPacer, "next">): Llm {
  return {
    async complete(request) {
      await pacer.next();
      const completion = await llm.complete(request);
      await pacer.next();
      return completion;
    },
  };
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
