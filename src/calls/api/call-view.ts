// How the API shows a call: the list's summary, and the whole call with every destination's fate, the evidence and
// the transcript its turn indexes point into (so a client never reads a platform's payload itself).
import type { DeliveryOutbox } from "../../delivery/index.js";
import { sourceNamed } from "../../sources/index.js";
import type { PipelineConfig } from "../../configuration/config-file.js";
import { describeFates, stateOfView } from "../fates.js";
import { profileVersion, type AnswerSettings } from "../../configuration/profile-version.js";
import { changedPaths } from "../value-diff.js";
import type { CallRecord, CallStore, CallSummary, ExtractionRecord } from "../store/port.js";

/** The newest extractions `GET /v1/calls/{id}` shows (a call re-extracted more often keeps the rest stored). */
export const MAX_HISTORY_SHOWN = 20;

/** A stored time (ms since the epoch) as the API shows it. */
export const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** One call in GET /v1/calls (and a caller's recent calls). */
export function callSummaryView(call: CallSummary) {
  return {
    call_id: call.id,
    profile: call.profile,
    source: call.source,
    external_id: call.external_id,
    call: call.call,
    customer_phone_e164: call.customer_phone_e164,
    state: call.state,
    reason: call.reason,
    created_at: iso(call.created_at)!,
    updated_at: iso(call.updated_at)!,
  };
}

/**
 * The turns evidence points into: those the model read (kept with the extraction), or, before extraction and for
 * calls extracted before they were kept, the payload read again by its platform's adapter.
 */
function transcriptOf(call: CallRecord): { speaker: "agent" | "customer"; text: string; time: string | null }[] | null {
  let turns = call.extraction?.turns;
  if (!turns) {
    try {
      turns = sourceNamed(call.source).normalize(call.payload as Record<string, unknown>).turns;
    } catch {
      return null;
    }
  }
  return turns.map((turn) => ({ speaker: turn.speaker, text: turn.text, time: turn.time ?? null }));
}

/**
 * The call's extraction versions: the one its current values ran under, whether that is the profile's version now
 * (false: a re-extraction may answer differently), and its history, newest (the current one) first, each entry with the
 * variables whose value differs from the entry before it.
 */
/** What an extraction cost in USD; null when its model has no price, or it was stored before costs were kept. */
const costOf = (meta: Record<string, unknown>): number | null => (typeof meta.cost_usd === "number" ? meta.cost_usd : null);

function extractionView(call: CallRecord, history: readonly ExtractionRecord[], currentVersion: string | null) {
  if (!call.extraction) return null;
  const version = call.extraction.profile_version ?? null;
  return {
    profile_version: version,
    cost_usd: costOf(call.extraction.meta),
    current: version !== null && version === currentVersion,
    current_profile_version: currentVersion,
    history: history.slice(0, MAX_HISTORY_SHOWN).map((entry, index) => {
      const older = history[index + 1]?.extraction.extracted_variables ?? null;
      return {
        seq: entry.seq,
        profile_version: entry.profile_version,
        trigger: entry.trigger,
        event: entry.event,
        cost_usd: costOf(entry.extraction.meta),
        created_at: iso(entry.created_at)!,
        extracted_variables: entry.extraction.extracted_variables,
        // Against the entry before it; null for the first one.
        changed: older === null ? null : changedPaths(older, entry.extraction.extracted_variables),
        meta: entry.extraction.meta,
      };
    }),
  };
}

/** The `GET /v1/calls/{id}` body; exported so the OpenAPI document's schema is checked against it. */
export async function describeCall(
  call: CallRecord,
  deps: { store: CallStore; outbox: DeliveryOutbox; config: PipelineConfig; extractor: AnswerSettings },
) {
  const [fates, deliveries, history] = await Promise.all([
    deps.store.listFates(call.id),
    deps.outbox.listForCall(call.id),
    // One more than shown: the oldest shown entry's changes are against the one before it.
    call.extraction ? deps.store.listExtractions(call.id, MAX_HISTORY_SHOWN + 1) : [],
  ]);
  const profile = deps.config.profiles.get(call.profile);
  const profileDestinations = profile?.destinations.map((destination) => destination.name) ?? [];
  const destinations = describeFates({ stage: call.stage, stageReason: call.reason, profileDestinations, fates, deliveries });
  return {
    ...callSummaryView(call),
    // From the outbox's live statuses: right even while the stored state (what lists filter on) is catching up.
    state: stateOfView(call.stage, destinations),
    attempts: call.attempts,
    next_attempt_at: iso(call.next_attempt_at),
    last_error: call.last_error,
    extracted_variables: call.extraction?.extracted_variables ?? null,
    evidence: call.extraction ? (call.extraction.evidence ?? null) : null,
    meta: call.extraction?.meta ?? null,
    extraction: extractionView(call, history, profile ? profileVersion(profile, deps.extractor) : null),
    confidence: call.extraction?.confidence ?? null,
    review: call.extraction?.review ?? null,
    reviewed: call.reviewed,
    transcript: transcriptOf(call),
    destinations,
    // Always an object: POST /v1/calls takes nothing else.
    payload: call.payload as Record<string, unknown>,
  };
}
