// Backfills: re-extracting a profile's past calls after its variables or prompt changed. A dry run re-extracts a
// sample without storing it and estimates what the whole run costs; a real run is durable items the call worker takes
// up behind live calls (worker.ts), each re-extracted by the re-extraction core (reextract.ts).
import { isDeepStrictEqual } from "node:util";
import { z } from "zod";
import { DebriefError } from "../errors.js";
import type { Extractor } from "../extract/index.js";
import type { Logger } from "../logger.js";
import { costOf, type PriceTable } from "../llm/prices.js";
import { isInstant, withDefaults, type VariableLimits } from "../schema/index.js";
import { sourceNamed } from "../sources/index.js";
import type { Profile } from "../configuration/config-file.js";
import { CALL_STATES } from "./fates.js";
import { callExtractJob } from "./payload.js";
import type { BackfillFilter, BackfillItem, BackfillItemOutcome, CallRecord, CallStore, ListPosition } from "./store/port.js";

/** Calls a dry run re-extracts when the request gives no `limit`. */
export const DEFAULT_DRY_RUN_SAMPLE = 20;
export const MAX_DRY_RUN_SAMPLE = 100;
/** Changed calls a dry run shows in full. */
export const MAX_EXAMPLE_DIFFS = 3;
/** Attempts at one call before it counts as failed (the LLM down throughout); each waits longer, as a live call's do. */
export const MAX_BACKFILL_ATTEMPTS = 5;
/** Calls a dry run reads from the store at once while it counts tokens. */
const ESTIMATE_PAGE_SIZE = 100;

const instant = z.string().refine(isInstant, "must be an ISO 8601 date-time with a UTC offset or Z, e.g. 2026-06-12T14:22:05Z");

/** `POST /v1/profiles/{name}/backfill`'s body; the OpenAPI document describes it from this schema. */
export const BackfillRequestSchema = z
  .object({
    since: instant.optional().describe("Only calls accepted at or after this instant"),
    until: instant.optional().describe("Only calls accepted before this instant"),
    states: z
      .array(z.enum(CALL_STATES, { message: `must be one of ${CALL_STATES.join(", ")}` }))
      .min(1)
      .max(CALL_STATES.length)
      .optional()
      .describe("Only calls in one of these states (default: every extracted call)"),
    only_outdated: z.boolean().default(true).describe("Only calls whose current extraction ran under another version of the profile than its current one"),
    limit: z
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .optional()
      .describe(`Real run: re-extract at most this many calls (the newest). Dry run: re-extract this many as the sample (default ${DEFAULT_DRY_RUN_SAMPLE}, at most ${MAX_DRY_RUN_SAMPLE})`),
    dry_run: z.boolean().default(false).describe("Re-extract a sample without storing anything, and estimate the whole run's tokens and cost"),
    redeliver: z.boolean().default(false).describe("Deliver each call whose values changed to the profile's destinations again, as a `call.reextracted` event"),
  })
  .strict()
  .refine((body) => body.since === undefined || body.until === undefined || Date.parse(body.since) < Date.parse(body.until), {
    message: "must be later than since",
    path: ["until"],
  })
  .refine((body) => !body.dry_run || body.limit === undefined || body.limit <= MAX_DRY_RUN_SAMPLE, {
    message: `a dry run's sample is at most ${MAX_DRY_RUN_SAMPLE} calls`,
    path: ["limit"],
  });

export type BackfillRequest = z.infer<typeof BackfillRequestSchema>;

/** What a backfill needs of the re-extraction core (reextract.ts's Reextractor). */
export interface BackfillReextractor {
  reextract(
    callId: string,
    options: { dryRun: boolean; redeliver: boolean; trigger: "backfill" },
  ): Promise<{
    previous: Record<string, unknown> | null;
    values: Record<string, unknown>;
    changed: string[];
    usage: { prompt_tokens: number; completion_tokens: number; cached: boolean };
    cost_usd: number | null;
    corrections: { kept: string[]; conflicts: { path: string; message: string }[] };
    model_values: Record<string, unknown>;
  }>;
}

/** The store filter of a request for a profile whose current version is `version`. */
export function backfillFilter(profile: Profile, request: BackfillRequest, version: string): BackfillFilter {
  return {
    profile: profile.name,
    since: request.since === undefined ? undefined : Date.parse(request.since),
    until: request.until === undefined ? undefined : Date.parse(request.until),
    states: request.states ? [...new Set(request.states)].sort() : undefined,
    outdatedFrom: request.only_outdated ? version : undefined,
  };
}

/** Every call of a filter, whole, newest first, a store page at a time. */
async function* candidates(store: CallStore, filter: BackfillFilter): AsyncGenerator<CallRecord> {
  let after: ListPosition | undefined;
  for (;;) {
    const page = await store.listBackfillCandidates(filter, after, ESTIMATE_PAGE_SIZE);
    yield* page;
    const last = page.at(-1);
    if (!last || page.length < ESTIMATE_PAGE_SIZE) return;
    after = { created_at: last.created_at, id: last.id };
  }
}

export interface DryRunDeps {
  store: CallStore;
  extractor: Pick<Extractor, "promptTokens">;
  reextractor: BackfillReextractor;
  limits: VariableLimits;
  prices: PriceTable;
}

/** The answer of a dry run (`POST /v1/profiles/{name}/backfill` with `dry_run: true`). */
export interface DryRunAnswer {
  dry_run: true;
  profile: string;
  profile_version: string;
  /** Calls a real run with this body would re-extract. */
  matching: number;
  sampled: number;
  /** Sampled calls any of whose values changed. */
  changed_calls: number;
  /** Per variable: the share of sampled calls whose value changed (0 when none did). */
  change_rates: Record<string, number>;
  /**
   * Per variable, the reviewer corrections in the sample the run keeps (delivered instead of the model's new value)
   * and those the profile's current definition no longer accepts (the call is held for review: correction_conflict).
   */
  corrections: Record<string, { kept: number; conflicts: number }>;
  /**
   * `before` and `after` are always both there (optional only as zod types an unknown value). A corrected value the
   * model now answers differently is listed with `corrected: true` and the model's answer: it stays the reviewer's.
   */
  examples: { call_id: string; changes: Record<string, { before?: unknown; after?: unknown; corrected?: boolean; model?: unknown }> }[];
  /** The calls sampled that failed (the LLM down, a call that can no longer be extracted), with why. */
  sample_errors: { call_id: string; code: string; message: string }[];
  /** What the sample cost (a cached answer costs nothing). */
  sample_usage: { prompt_tokens: number; completion_tokens: number };
  /** Sampled calls answered from the result cache: they measure no completion tokens. */
  sample_cached: number;
  estimate: {
    model: string;
    calls: number;
    llm_calls: number;
    /** Counted with the model's tokenizer over every matching call's prompt, as it would be sent. */
    prompt_tokens: number;
    /** The sample's mean per call (answers from the cache left out), times the calls. */
    completion_tokens: number;
    /** From the shared price table; null for a model it has no price for. */
    cost_usd: number | null;
    note?: string;
  };
}

/**
 * Re-extracts up to `sampleSize` matching calls (the newest) without storing anything, and counts the prompt tokens of
 * every matching call (planned as a live extraction would be: chunks included, tokenised off the event loop).
 */
/** Micro-dollars: `0.001568`, not a float sum's `0.0015676499999999999`. */
const roundUsd = (amount: number | null): number | null => (amount === null ? null : Math.round(amount * 1e6) / 1e6);

export async function dryRunBackfill(deps: DryRunDeps, profile: Profile, version: string, request: BackfillRequest): Promise<DryRunAnswer> {
  const filter = backfillFilter(profile, request, version);
  const sampleSize = request.limit ?? DEFAULT_DRY_RUN_SAMPLE;
  const changedBy = new Map<string, number>();
  const corrections = new Map<string, { kept: number; conflicts: number }>();
  const countCorrection = (name: string, kind: "kept" | "conflicts") => {
    const counts = corrections.get(name) ?? { kept: 0, conflicts: 0 };
    counts[kind] += 1;
    corrections.set(name, counts);
  };
  const examples: DryRunAnswer["examples"] = [];
  const errors: DryRunAnswer["sample_errors"] = [];
  const sampleUsage = { prompt_tokens: 0, completion_tokens: 0 };
  let sampled = 0;
  let changedCalls = 0;
  let billedCompletion = 0;
  let billedSamples = 0;
  let cachedSamples = 0;
  let matching = 0;
  let llmCalls = 0;
  let promptTokens = 0;
  let model: string | undefined;

  for await (const call of candidates(deps.store, filter)) {
    matching += 1;
    const job = callExtractJob(sourceNamed(call.source).normalize(call.payload as Record<string, unknown>), profile, deps.limits);
    // The turns the model read last time: a platform adapter changed since would not change what is re-extracted.
    if (call.extraction?.turns && call.extraction.turns.length > 0) job.turns = call.extraction.turns;
    const counted = await deps.extractor.promptTokens(job);
    model ??= counted.model;
    llmCalls += counted.llm_calls;
    promptTokens += counted.prompt_tokens;
    if (sampled >= sampleSize) continue;
    sampled += 1;
    try {
      const outcome = await deps.reextractor.reextract(call.id, { dryRun: true, redeliver: false, trigger: "backfill" });
      sampleUsage.prompt_tokens += outcome.usage.prompt_tokens;
      sampleUsage.completion_tokens += outcome.usage.completion_tokens;
      if (!outcome.usage.cached) {
        billedSamples += 1;
        billedCompletion += outcome.usage.completion_tokens;
      } else cachedSamples += 1;
      for (const name of outcome.corrections.kept) countCorrection(name, "kept");
      for (const conflict of outcome.corrections.conflicts) countCorrection(conflict.path, "conflicts");
      // Corrections the model's new answer would have undone, had they not been kept: shown, marked as the reviewer's.
      const overruled = outcome.corrections.kept.filter((name) => !isDeepStrictEqual(outcome.model_values[name] ?? null, outcome.values[name] ?? null));
      if (outcome.changed.length > 0) {
        changedCalls += 1;
        for (const name of outcome.changed) changedBy.set(name, (changedBy.get(name) ?? 0) + 1);
      }
      if ((outcome.changed.length > 0 || overruled.length > 0) && examples.length < MAX_EXAMPLE_DIFFS) {
        const changes: DryRunAnswer["examples"][number]["changes"] = Object.fromEntries(
          outcome.changed.map((name) => [name, { before: outcome.previous?.[name] ?? null, after: outcome.values[name] ?? null }]),
        );
        for (const name of overruled) {
          changes[name] = { before: outcome.previous?.[name] ?? null, after: outcome.values[name] ?? null, corrected: true, model: outcome.model_values[name] ?? null };
        }
        examples.push({ call_id: call.id, changes });
      }
    } catch (error) {
      if (!(error instanceof DebriefError)) throw error;
      errors.push({ call_id: call.id, code: error.code, message: error.message });
    }
  }

  const names = withDefaults(profile.variables).map((spec) => spec.name);
  const succeeded = sampled - errors.length;
  const completionTokens = billedSamples > 0 ? Math.round((billedCompletion / billedSamples) * matching) : 0;
  const estimateModel = model ?? profile.model ?? "";
  const cost = matching === 0 ? { cost_usd: 0 } : costOf([{ model: estimateModel, usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens } }], deps.prices);
  const notes = [
    ...(cost.note ? [cost.note] : []),
    // Without one billed answer there is no completion to measure: 0 is then "unknown", not an upper bound.
    ...(cachedSamples > 0 && billedSamples === 0
      ? ["Every sampled call was answered from the result cache, so no completion was measured: completion tokens and cost count the prompts only."]
      : []),
  ];
  return {
    dry_run: true,
    profile: profile.name,
    profile_version: version,
    matching,
    sampled,
    changed_calls: changedCalls,
    change_rates: Object.fromEntries(names.map((name) => [name, succeeded > 0 ? (changedBy.get(name) ?? 0) / succeeded : 0])),
    corrections: Object.fromEntries(corrections),
    examples,
    sample_errors: errors,
    sample_usage: sampleUsage,
    sample_cached: cachedSamples,
    estimate: {
      model: estimateModel,
      calls: matching,
      llm_calls: llmCalls,
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      cost_usd: roundUsd(cost.cost_usd),
      ...(notes.length > 0 ? { note: notes.join(" ") } : {}),
    },
  };
}

export interface BackfillItemDeps {
  store: CallStore;
  reextractor: BackfillReextractor;
  logger: Logger;
  clock: () => number;
  /** Delay before attempt `attempt + 1` (the extraction retry policy's backoff). */
  retryDelayMs: (attempt: number) => number;
}

/** A failure retrying cannot fix: the call itself (gone, no longer extractable, its profile removed). */
const isPermanent = (error: unknown) => error instanceof DebriefError && error.status >= 400 && error.status < 500;

/** Re-extracts one call of a backfill (stored, and redelivered when asked) and records the outcome with its backfill. */
export async function runBackfillItem(item: BackfillItem, deps: BackfillItemDeps): Promise<void> {
  let outcome: BackfillItemOutcome;
  try {
    const result = await deps.reextractor.reextract(item.call_id, { dryRun: false, redeliver: item.redeliver, trigger: "backfill" });
    outcome = { kind: "done", changed: result.changed.length > 0, usage: result.usage, cost_usd: result.cost_usd };
  } catch (error) {
    const code = error instanceof DebriefError ? error.code : "internal_error";
    const message = `${code}: ${error instanceof Error ? error.message : String(error)}`;
    const attempts = item.attempts + 1;
    outcome =
      isPermanent(error) || attempts >= MAX_BACKFILL_ATTEMPTS
        ? { kind: "failed", error: message }
        : { kind: "retry", error: message, retryAt: deps.clock() + deps.retryDelayMs(attempts) };
    deps.logger.warn({ backfill_id: item.backfill_id, call_id: item.call_id, code, attempts, outcome: outcome.kind }, "backfill re-extraction failed");
  }
  await deps.store.finishBackfillItem(item, outcome);
}
