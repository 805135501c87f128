// A voice platform's post-call payload: what we accept, the extraction job it becomes, and the enriched payload we send on.
import { z } from "zod";
import { isInstant, parseExtractRequest, type ExtractJob, type VariableLimits } from "../schema/index.js";
import { formatForHumans, TRANSCRIPT_EXPECTED, type Turn } from "../transcript/index.js";
import type { Profile } from "./config-file.js";

/**
 * The Autocalls post-call shape (Thoughtly's transcript array works too). Only what Debrief reads is checked;
 * every other field is kept as it came and sent on unchanged.
 */
export const CallPayloadSchema = z
  .object({
    id: z.union([z.string().min(1).max(200), z.number().int()]).optional(),
    status: z.string().max(100).optional(),
    transcript: z.union([z.string(), z.array(z.unknown())], { errorMap: () => ({ message: TRANSCRIPT_EXPECTED }) }),
    created_at: z.string().optional(),
    finished_at: z.string().optional(),
    duration: z.number().finite().optional(),
    customer_phone: z.string().nullable().optional(),
    assistant_phone: z.string().nullable().optional(),
    recording_url: z.string().nullable().optional(),
    input_variables: z.record(z.unknown()).nullable().optional(),
    timezone: z.string().optional(),
  })
  .passthrough();

export type CallPayload = z.infer<typeof CallPayloadSchema>;

/** Autocalls' statuses for a call that reached its end; a payload without a status is taken as a finished call. */
const COMPLETED_STATUSES = new Set(["completed", "ended", "ended_by_customer", "ended_by_assistant", "finished", "done"]);

export function isCompleted(payload: CallPayload): boolean {
  return payload.status === undefined || COMPLETED_STATUSES.has(payload.status.trim().toLowerCase());
}

/** The extraction a call gets under its profile: validated exactly like a `POST /v1/extract` body. */
export function callExtractJob(payload: CallPayload, profile: Profile, limits: VariableLimits): ExtractJob {
  const inputVariables = payload.input_variables ?? undefined;
  return parseExtractRequest(
    {
      transcript: payload.transcript,
      variables: profile.variables,
      context: {
        system_prompt: profile.systemPrompt,
        // A platform's timestamp without an offset names no instant: the call date is then unknown rather than guessed.
        call: { created_at: payload.created_at && isInstant(payload.created_at) ? payload.created_at : undefined, timezone: payload.timezone ?? profile.timezone },
        input_variables: inputVariables,
      },
      options: { model: profile.model },
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

/** Every original field, plus what Debrief adds: the values, both transcript forms, and where they came from. */
export interface EnrichInput {
  callId: string;
  profile: Profile;
  turns: readonly Turn[];
  extractedVariables: Record<string, unknown>;
  meta: { model: string; prompt_version: string; extracted_at: string; cached: boolean };
}

export function enrichPayload(payload: CallPayload, { callId, profile, turns, extractedVariables, meta }: EnrichInput) {
  const { recording_url: recordingUrl, ...rest } = payload;
  return {
    ...rest,
    ...(profile.includeRecording && recordingUrl !== undefined ? { recording_url: recordingUrl } : {}),
    extracted_variables: extractedVariables,
    transcript: transcriptForReceivers(turns),
    formatted_transcript: formatForHumans(turns),
    debrief: {
      call_id: callId,
      profile: profile.name,
      model: meta.model,
      prompt_version: meta.prompt_version,
      extracted_at: meta.extracted_at,
      cached: meta.cached,
    },
  };
}
