// Autocalls' post-call webhook: the shape Debrief took first, accepted and delivered exactly as before.
import { z } from "zod";
import { callSpan, duration, instant, isObject, parseAs, text, turnsAt, unrecognized, variables, type Json } from "./fields.js";
import { standardWebhooks } from "./signatures.js";
import type { NormalizedCall, Source } from "./source.js";

/**
 * Only what Debrief reads is checked; every other field is kept as it came and sent on unchanged. Thoughtly's
 * transcript array inside this shape is read as Thoughtly's (see thoughtly.ts).
 */
export const AutocallsPayloadSchema = z
  .object({
    id: z.union([z.string().min(1).max(200), z.number().int()]).optional(),
    status: z.string().max(100).optional(),
    transcript: z.union([z.string(), z.array(z.unknown())]),
    created_at: z.string().optional(),
    finished_at: z.string().optional(),
    duration: z.number().optional(),
    customer_phone: z.string().nullable().optional(),
    assistant_phone: z.string().nullable().optional(),
    recording_url: z.string().nullable().optional(),
    input_variables: z.record(z.unknown()).nullable().optional(),
    timezone: z.string().optional(),
  })
  .passthrough();

export type AutocallsPayload = z.infer<typeof AutocallsPayloadSchema>;

/** Autocalls' statuses for a call that reached its end; a payload without a status is taken as a finished call. */
const COMPLETED_STATUSES = new Set(["completed", "ended", "ended_by_customer", "ended_by_assistant", "finished", "done"]);

export function isCompleted(status: string | undefined): boolean {
  return status === undefined || COMPLETED_STATUSES.has(status.trim().toLowerCase());
}

/** The call facts of a payload in Autocalls' shape; Thoughtly's transcript-array payloads share it. */
export function autocallsCall(payload: AutocallsPayload): NormalizedCall {
  // A platform's timestamp without an offset names no instant: the date is then unknown rather than guessed.
  const started = instant(payload.created_at);
  const ended = instant(payload.finished_at);
  return {
    external_id: payload.id === undefined ? undefined : String(payload.id),
    completed: isCompleted(payload.status),
    ...callSpan(started, ended, duration(payload.duration)),
    customer_phone: text(payload.customer_phone),
    agent_phone: text(payload.assistant_phone),
    recording_url: text(payload.recording_url),
    ended_reason: payload.status ?? null,
    input_variables: variables(payload.input_variables),
    agent_prompt: undefined,
    timezone: payload.timezone,
    turns: turnsAt(payload.transcript, "transcript"),
  };
}

/** True when the payload carries a transcript (string or array) at the top: the fallback every other adapter is tried before. */
export const hasTopLevelTranscript = (payload: Json): boolean => typeof payload.transcript === "string" || Array.isArray(payload.transcript);

export const autocalls: Source = {
  name: "autocalls",
  schema: AutocallsPayloadSchema,
  recognize: (payload) => (hasTopLevelTranscript(payload) ? { kind: "call" } : unrecognized("autocalls", [["transcript", "transcript (a string or an array of turns)"]])),
  signature: standardWebhooks,
  normalize: (payload) => autocallsCall(parseAs("autocalls", AutocallsPayloadSchema, payload)),
  endedReasonField: "Autocalls' status",
  recordingFields: [["recording_url"]],
  deliversAutocallsShape: (payload) => isObject(payload),
};
