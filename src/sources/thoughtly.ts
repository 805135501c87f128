// Thoughtly: its transcript array (`{transcript, speaker: ai|user, createdAt}`) in a post-call payload, the NEW_RESPONSE
// webhook envelope, and the response object its NEW_RESPONSE subscription posts.
import { z } from "zod";
import { AutocallsPayloadSchema, autocallsCall } from "./autocalls.js";
import { callSpan, duration, instant, isObject, parseAs, text, turnsAt, unrecognized, variables, type Json } from "./fields.js";
import { standardWebhooks } from "./signatures.js";
import type { NormalizedCall, Source } from "./source.js";

const EVENTS = ["NEW_RESPONSE", "PHONE_TRANSFER", "FOLDER_NEW_RESPONSE", "FOLDER_PHONE_TRANSFER", "ACTION_FAILED"];
/** A response of a finished call; anything else (NOT_STARTED, IN_PROGRESS, FAILED, voicemail, no answer…) did not complete. */
const COMPLETED = new Set(["completed", "complete", "ended", "finished", "done", "success"]);

const TurnArray = z.array(z.unknown());
const Phone = z.string().nullish();

/** `{event: "NEW_RESPONSE", call: {…}, agent: {…}, transcript: […]}`. */
const EnvelopeSchema = z
  .object({
    event: z.string(),
    call: z
      .object({
        id: z.union([z.string().min(1).max(200), z.number().int()]),
        status: z.string().nullish(),
        duration_seconds: z.number().nullish(),
        recording_url: z.string().nullish(),
        started_at: z.string().nullish(),
        ended_at: z.string().nullish(),
        contact: z.object({ phone_number: Phone }).passthrough().nullish(),
      })
      .passthrough(),
    agent: z.object({ phone_number: Phone }).passthrough().nullish(),
    transcript: TurnArray,
  })
  .passthrough();

/** The response object: `{id, interview, contact, status, start_time, end_time, duration_ms, conversation_history, …}`. */
const ResponseSchema = z
  .object({
    id: z.union([z.string().min(1).max(200), z.number().int()]),
    interview: z.object({ id: z.union([z.string(), z.number()]) }).passthrough(),
    contact: z.object({ phone_number: Phone, attributes: z.record(z.unknown()).nullish() }).passthrough().nullish(),
    status: z.string().nullish(),
    start_time: z.string().nullish(),
    end_time: z.string().nullish(),
    duration_ms: z.union([z.string(), z.number()]).nullish(),
    phone_number: Phone,
    recording_url: z.string().nullish(),
    conversation_history: TurnArray.nullish(),
    transcript: z.string().nullish(),
  })
  .passthrough();

export const ThoughtlyPayloadSchema = z.union([EnvelopeSchema, ResponseSchema, AutocallsPayloadSchema]);

const isSpeakerTurn = (turn: unknown) => isObject(turn) && typeof turn.speaker === "string";
const hasSpeakerTurns = (value: unknown) => Array.isArray(value) && value.length > 0 && value.every(isSpeakerTurn);
const isEnvelope = (payload: Json) => typeof payload.event === "string" && EVENTS.includes(payload.event);
const isResponse = (payload: Json) => isObject(payload.interview) && (Array.isArray(payload.conversation_history) || typeof payload.transcript === "string");

const completed = (status: string | null | undefined, ended: string | null) =>
  status ? COMPLETED.has(status.trim().toLowerCase()) : ended !== null;

function envelopeCall(payload: Json): NormalizedCall {
  const { call, agent, transcript } = parseAs("thoughtly", EnvelopeSchema, payload);
  const started = instant(call.started_at);
  const ended = instant(call.ended_at);
  return {
    external_id: String(call.id),
    completed: completed(call.status, ended),
    ...callSpan(started, ended, duration(call.duration_seconds)),
    customer_phone: text(call.contact?.phone_number),
    agent_phone: text(agent?.phone_number),
    recording_url: text(call.recording_url),
    ended_reason: call.status ?? null,
    input_variables: undefined,
    agent_prompt: undefined,
    timezone: undefined,
    turns: turnsAt(transcript, "transcript"),
  };
}

function responseCall(payload: Json): NormalizedCall {
  const response = parseAs("thoughtly", ResponseSchema, payload);
  const started = instant(response.start_time);
  const ended = instant(response.end_time);
  const ms = response.duration_ms === null || response.duration_ms === undefined ? Number.NaN : Number(response.duration_ms);
  const history = response.conversation_history;
  return {
    external_id: String(response.id),
    completed: completed(response.status, ended),
    ...callSpan(started, ended, ms > 0 ? duration(ms / 1000) : null),
    customer_phone: text(response.contact?.phone_number),
    agent_phone: text(response.phone_number),
    recording_url: text(response.recording_url),
    ended_reason: response.status ?? null,
    input_variables: variables(response.contact?.attributes),
    agent_prompt: undefined,
    timezone: undefined,
    turns: history && history.length > 0 ? turnsAt(history, "conversation_history") : turnsAt(response.transcript, "transcript"),
  };
}

export const thoughtly: Source = {
  name: "thoughtly",
  schema: ThoughtlyPayloadSchema,
  recognize(payload) {
    if (isEnvelope(payload)) {
      return payload.event === "NEW_RESPONSE" || payload.event === "FOLDER_NEW_RESPONSE"
        ? { kind: "call" }
        : { kind: "ignored", reason: `thoughtly ${String(payload.event)} event: only NEW_RESPONSE carries a finished call` };
    }
    if (isResponse(payload) || hasSpeakerTurns(payload.transcript)) return { kind: "call" };
    return unrecognized("thoughtly", [
      ["transcript", "transcript[] of {transcript, speaker: ai|user, createdAt} turns, or the NEW_RESPONSE event envelope"],
    ]);
  },
  signature: standardWebhooks,
  normalize(payload) {
    if (isEnvelope(payload)) return envelopeCall(payload);
    if (isResponse(payload)) return responseCall(payload);
    return autocallsCall(parseAs("thoughtly", AutocallsPayloadSchema, payload));
  },
  endedReasonField: "Thoughtly's status",
  recordingFields: [["recording_url"], ["call", "recording_url"]],
  deliversAutocallsShape: (payload) => !isEnvelope(payload) && !isResponse(payload),
};
