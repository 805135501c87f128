// One call through extraction and routing, as the worker does it for a new call and re-extraction does it again:
// read the stored payload with its platform's adapter, extract under the profile, enrich, enqueue per destination.
import { enqueueCallDeliveries, type BodyRenderer, type DeliveryOutbox, type EnqueueReport } from "../delivery/index.js";
import type { Extractor, ExtractResult } from "../extract/index.js";
import type { VariableLimits } from "../schema/index.js";
import { sourceNamed, type NormalizedCall, type Source } from "../sources/index.js";
import type { TurnTaking } from "../turn-taking.js";
import type { Profile } from "./config-file.js";
import { callExtractJob, enrichPayload, type DeliveryEvent } from "./payload.js";
import { profileVersion } from "./profile-version.js";
import type { CallExtraction, CallRecord } from "./store.js";

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
}

/** Reads the call's stored payload again and extracts it under `profile` (its current version), through the extractor's cache and LLM limit. */
export async function extractCall(
  call: CallRecord,
  profile: Profile,
  deps: CallExtractionDeps,
  options: { turns?: Pick<TurnTaking, "next"> } = {},
): Promise<ExtractedCall> {
  const source = sourceNamed(call.source);
  const normalized = source.normalize(call.payload as Record<string, unknown>);
  const job = callExtractJob(normalized, profile, deps.limits);
  const result = await deps.extractor.extract(job, options);
  const extraction: CallExtraction = {
    extracted_variables: result.extracted_variables,
    meta: result.meta,
    ...(result.evidence ? { evidence: result.evidence } : {}),
    // The turns the model read, kept so evidence turn indexes stay meaningful whatever later reads the payload.
    turns: job.turns,
    profile_version: profileVersion(profile, deps.extractor),
  };
  return { profile, source, normalized, result, extraction };
}

/** Enriches the extracted call's payload as `event` and enqueues it for each of the profile's destinations. */
export async function routeCall(
  call: CallRecord,
  extracted: Pick<ExtractedCall, "profile" | "source" | "normalized" | "extraction">,
  deps: { outbox: DeliveryOutbox; renderBodies?: BodyRenderer },
  event: { number: number; name: DeliveryEvent; previousValues?: Record<string, unknown> | null },
): Promise<EnqueueReport> {
  const { profile, source, normalized, extraction } = extracted;
  const enriched = enrichPayload(call.payload as Record<string, unknown>, {
    callId: call.id,
    profile,
    profileVersion: extraction.profile_version ?? "",
    source,
    call: normalized,
    extractedVariables: extraction.extracted_variables,
    meta: extraction.meta as { model: string; prompt_version: string; extracted_at: string; cached: boolean },
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
