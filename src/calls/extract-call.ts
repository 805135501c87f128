// One call through extraction and routing, as the worker does it for a new call and re-extraction does it again:
// read the stored payload with its platform's adapter, extract under the profile, enrich, enqueue per destination.
import { enqueueCallDeliveries, type BodyRenderer, type DeliveryOutbox, type EnqueueReport } from "../delivery/index.js";
import type { Extractor, ExtractResult } from "../extract/index.js";
import type { VariableLimits } from "../schema/index.js";
import { sourceNamed, type NormalizedCall, type Source } from "../sources/index.js";
import type { LoopPacer } from "../lib/loop-pacer.js";
import type { LlmPriority } from "../llm/index.js";
import type { Profile } from "../configuration/config-file.js";
import { callExtractJob, enrichPayload, type DeliveryEvent, type EnrichInput } from "./payload.js";
import { profileVersion } from "../configuration/profile-version.js";
import { conflictReason, correctionConflicts, correctionsOf, uncorrectedConfidence, uncorrectedReview, withCorrections, type CorrectionConflict } from "./corrections.js";
import { holdDecision } from "./review.js";
import type { CallExtraction, CallRecord, CallReview, CallStore } from "./store/port.js";

export interface CallExtractionDeps {
  extractor: Extractor;
  limits: VariableLimits;
}

export interface ExtractedCall {
  profile: Profile;
  source: Source;
  normalized: NormalizedCall;
  result: Pick<ExtractResult, "extracted_variables" | "meta">;
  /** What the call store keeps. */
  extraction: CallExtraction;
  /**
   * The call waits for a reviewer instead of being routed: the profile holds calls for review and a value nobody
   * corrected is flagged, or a reviewer's correction no longer fits its variable (then `holdReason` says which).
   */
  hold: boolean;
  /** Why it is held when it is not (only) for flags: `correction_conflict: …`. */
  holdReason?: string;
  /** The reviewer's corrections the profile's current variables no longer accept. */
  conflicts: CorrectionConflict[];
}

/** Whether a call extracted as `extraction` waits for a reviewer, given its standing corrections. */
export function holdOf(
  extraction: Pick<CallExtraction, "review">,
  profile: Profile,
  reviewed: CallReview | null,
): Pick<ExtractedCall, "hold" | "holdReason" | "conflicts"> & { review: CallExtraction["review"] } {
  const corrections = correctionsOf(reviewed);
  const { review, hold } = holdDecision(extraction.review ?? { needed: false, fields: {} }, profile, corrections);
  const conflicts = correctionConflicts(corrections, profile.variables);
  if (conflicts.length > 0) return { review, hold: true, holdReason: conflictReason(conflicts), conflicts };
  return { review, hold, conflicts };
}

/** Reads the call's stored payload again and extracts it under `profile` (its current version), through the extractor's cache and LLM limit. */
export async function extractCall(
  call: CallRecord,
  profile: Profile,
  deps: CallExtractionDeps,
  options: { pacer?: Pick<LoopPacer, "next">; priority?: LlmPriority } = {},
): Promise<ExtractedCall> {
  const source = sourceNamed(call.source);
  const normalized = source.normalize(call.payload as Record<string, unknown>);
  const job = callExtractJob(normalized, profile, deps.limits);
  const result = await deps.extractor.extract(job, { ...options, profile: profile.name });
  const { review, ...held } = holdOf(result, profile, call.reviewed);
  const extraction: CallExtraction = {
    extracted_variables: result.extracted_variables,
    meta: result.meta,
    ...(result.evidence ? { evidence: result.evidence } : {}),
    // The turns the model read, kept so evidence turn indexes stay meaningful whatever later reads the payload.
    turns: job.turns,
    ...(result.confidence ? { confidence: result.confidence } : {}),
    review,
    profile_version: profileVersion(profile, deps.extractor),
  };
  return { profile, source, normalized, result, extraction, ...held };
}

/** Enriches the extracted call's payload as `event` and enqueues it for each of the profile's destinations. */
export async function routeCall(
  call: CallRecord,
  extracted: Pick<ExtractedCall, "profile" | "source" | "normalized" | "extraction">,
  deps: { outbox: DeliveryOutbox; renderBodies?: BodyRenderer },
  event: { number: number; name: DeliveryEvent; previousValues?: Record<string, unknown> | null; reviewed?: CallReview | null },
): Promise<EnqueueReport> {
  const { profile, source, normalized, extraction } = extracted;
  // Corrections stand on every event after a review; the decision itself is what a `call.reviewed` event announces.
  const reviewed = event.reviewed ?? call.reviewed;
  const corrections = correctionsOf(reviewed);
  const corrected = Object.keys(corrections).length > 0;
  const review = extraction.review ? uncorrectedReview(extraction.review, corrections) : undefined;
  const enriched = enrichPayload(call.payload as Record<string, unknown>, {
    callId: call.id,
    profile,
    profileVersion: extraction.profile_version ?? "",
    source,
    call: normalized,
    extractedVariables: withCorrections(extraction.extracted_variables, reviewed),
    meta: extraction.meta as EnrichInput["meta"],
    // A corrected value is a person's: no model confidence, no flags. An approved call needs no more review.
    ...(extraction.confidence ? { confidence: uncorrectedConfidence(extraction.confidence, corrections) } : {}),
    ...(review ? { review: event.reviewed?.approved ? { ...review, needed: false } : review } : {}),
    ...(event.reviewed || (reviewed && corrected)
      ? { reviewed: { at: reviewed!.at, corrected: reviewed!.corrected, ...(reviewed!.by ? { by: reviewed!.by } : {}) } }
      : {}),
    event: event.name,
    ...(event.previousValues !== undefined ? { previousValues: event.previousValues } : {}),
  });
  return enqueueCallDeliveries({
    outbox: deps.outbox,
    destinations: profile.destinations,
    callId: call.id,
    event: event.number,
    payload: enriched,
    render: deps.renderBodies,
  });
}

/** How many of a call's newest extractions are read for its last event number (its fates and deliveries are read too). */
const MAX_EVENT_LOOKBACK = 50;

/**
 * The number of a call's next delivery event: one past every event it has had, in its history, its fates and the
 * outbox (a delivery enqueued before a crash); 1 for a call never delivered (a first extraction held for review).
 */
export async function nextEventNumber(store: Pick<CallStore, "listExtractions" | "listFates">, outbox: Pick<DeliveryOutbox, "listForCall">, callId: string): Promise<number> {
  const [history, fates, deliveries] = await Promise.all([store.listExtractions(callId, MAX_EVENT_LOOKBACK), store.listFates(callId), outbox.listForCall(callId)]);
  return Math.max(0, ...history.map((entry) => entry.event ?? 0), ...fates.map((fate) => fate.event), ...deliveries.map((delivery) => delivery.event)) + 1;
}
