// A voice platform's post-call payload once its adapter has read it: the profile's gates, the extraction job it
// becomes, and the enriched payload we send on.
import type { Review } from "../extract/index.js";
import { extractJobForTurns, type ExtractJob, type VariableLimits } from "../schema/index.js";
import type { CallFacts, NormalizedCall, Source } from "../sources/index.js";
import { formatForHumans, type Turn } from "../transcript/index.js";
import type { Profile } from "../configuration/config-file.js";

/** The longest agent prompt a call brings along (the extraction request's own limit for a system prompt). */
const MAX_AGENT_PROMPT_CHARS = 100_000;

/** Why the profile does not extract this call (stored as `skipped` with this reason), or undefined to extract it. */
export function skipReason(call: NormalizedCall, profile: Profile, source?: Pick<Source, "endedReasonField">): string | undefined {
  const { gates } = profile;
  if (profile.sendOnlyOnCompleted && !call.completed) {
    // In the platform's own words: a Vapi voicemail is `endedReason "voicemail"`, as its dashboard says.
    if (!call.ended_reason) return "not_completed";
    return source ? `not_completed: ${source.endedReasonField} is "${call.ended_reason}"` : `not_completed: call status is "${call.ended_reason}"`;
  }
  if (call.ended_reason !== null && gates.skipEndedReasons.includes(call.ended_reason)) return `ended_reason: "${call.ended_reason}" is in skip_ended_reasons`;
  if (gates.minDurationS !== undefined && call.duration_s !== null && call.duration_s < gates.minDurationS) {
    return `min_duration_s: the call lasted ${call.duration_s} s, under ${gates.minDurationS} s`;
  }
  if (gates.minCustomerTurns !== undefined) {
    const customerTurns = call.turns.filter((turn) => turn.speaker === "customer").length;
    if (customerTurns < gates.minCustomerTurns) return `min_customer_turns: ${customerTurns} customer turns, under ${gates.minCustomerTurns}`;
  }
  return undefined;
}

/**
 * The extraction a call gets under its profile: validated exactly like a `POST /v1/extract` body. The profile's
 * system prompt says what the extraction is for; without one, the agent's own prompt (from the payload) is used.
 */
export function callExtractJob(call: NormalizedCall, profile: Profile, limits: VariableLimits): ExtractJob {
  return extractJobForTurns(
    call.turns,
    {
      variables: profile.variables,
      context: {
        system_prompt: profile.systemPrompt ?? call.agent_prompt?.slice(0, MAX_AGENT_PROMPT_CHARS),
        call: { created_at: call.started_at ?? call.ended_at ?? undefined, timezone: call.timezone ?? profile.timezone },
        input_variables: call.input_variables,
      },
      options: { model: profile.model, evidence: profile.evidence, min_confidence: profile.review.minConfidence },
    },
    limits,
  );
}

/** Autocalls-shaped turns, so receivers built for its webhook read ours unchanged. */
function transcriptForReceivers(turns: readonly Turn[]) {
  return turns.map((turn) => ({
    text: turn.text,
    type: "transcript",
    sender: turn.speaker === "agent" ? "bot" : "human",
    speaker: turn.speaker,
    timestamp: turn.time ? Date.parse(turn.time) / 1000 : null,
  }));
}

/** A copy of `payload` without the fields at `paths` (the platform's recording URLs). */
function withoutFields(payload: Record<string, unknown>, paths: readonly (readonly string[])[]): Record<string, unknown> {
  const copy = structuredClone(payload);
  for (const path of paths) {
    let node: unknown = copy;
    for (const key of path.slice(0, -1)) node = node !== null && typeof node === "object" ? (node as Record<string, unknown>)[key] : undefined;
    if (node !== null && typeof node === "object" && !Array.isArray(node)) delete (node as Record<string, unknown>)[path[path.length - 1]!];
  }
  return copy;
}

/**
 * What a delivery tells its receiver happened (`debrief.event`): the call's first extraction; a re-extraction
 * delivered again (with `debrief.previous_values`, what the receiver was sent before); or a call held for review,
 * delivered once a reviewer approved it (with `debrief.reviewed`).
 */
export const DELIVERY_EVENTS = ["call.extracted", "call.reextracted", "call.reviewed"] as const;
export type DeliveryEvent = (typeof DELIVERY_EVENTS)[number];

export interface EnrichInput {
  callId: string;
  profile: Profile;
  /** The profile's version the values were extracted under (profile-version.ts). */
  profileVersion: string;
  source: Source;
  call: NormalizedCall;
  extractedVariables: Record<string, unknown>;
  /** `cost_usd` is absent from extractions stored before costs were kept. */
  meta: { model: string; prompt_version: string; extracted_at: string; cached: boolean; cost_usd?: number | null };
  event: DeliveryEvent;
  /** The values of the extraction that was current before (a re-extraction's delivery); null when there was none. */
  previousValues?: Record<string, unknown> | null;
  /** Each non-null value's confidence, when the LLM gave log-probabilities. */
  confidence?: Record<string, number>;
  /** The flagged values under the profile's review settings. */
  review?: Review;
  /** A reviewer approved the call: when, and which values they corrected. */
  reviewed?: { at: string; corrected: string[]; by?: string };
}

/**
 * The platform's payload as it came, plus what Debrief adds: the values, the transcript as `AI:`/`Customer:` lines, and
 * `debrief` (why it is sent, where the values came from and how sure they are, a reviewer's corrections, and the call's
 * facts in one vocabulary whatever the platform). Payloads in
 * Autocalls' shape also get their `transcript` as Autocalls turns, as they always did.
 */
export function enrichPayload(
  payload: Record<string, unknown>,
  { callId, profile, profileVersion, source, call, extractedVariables, meta, event, previousValues, confidence, review, reviewed }: EnrichInput,
) {
  const original = profile.includeRecording ? payload : withoutFields(payload, source.recordingFields);
  const { recording_url: recordingUrl, ...facts } = callFacts(call);
  return {
    ...original,
    extracted_variables: extractedVariables,
    ...(source.deliversAutocallsShape(payload) ? { transcript: transcriptForReceivers(call.turns) } : {}),
    formatted_transcript: formatForHumans(call.turns),
    debrief: {
      event,
      ...(previousValues !== undefined ? { previous_values: previousValues } : {}),
      call_id: callId,
      profile: profile.name,
      profile_version: profileVersion,
      model: meta.model,
      prompt_version: meta.prompt_version,
      extracted_at: meta.extracted_at,
      cached: meta.cached,
      cost_usd: meta.cost_usd ?? null,
      source: source.name,
      external_id: call.external_id ?? callId,
      call: profile.includeRecording ? { ...facts, recording_url: recordingUrl } : facts,
      ...(confidence ? { confidence } : {}),
      ...(review ? { review } : {}),
      ...(reviewed ? { reviewed } : {}),
    },
  };
}

/** The facts stored with a call and sent as `debrief.call`. */
export function callFacts(call: NormalizedCall): CallFacts {
  return {
    completed: call.completed,
    started_at: call.started_at,
    ended_at: call.ended_at,
    duration_s: call.duration_s,
    customer_phone: call.customer_phone,
    agent_phone: call.agent_phone,
    recording_url: call.recording_url,
  };
}
