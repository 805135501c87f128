// Vapi: the `end-of-call-report` server message; its other server messages (status updates, transcripts…) are acknowledged.
import { z } from "zod";
import { callSpan, duration, instant, isObject, parseAs, text, turnsAt, unrecognized, variables } from "./fields.js";
import { bodyDigest, checkTimestamp, DEFAULT_MAX_AGE_MS, fail, header, hmacSha256, OK, secretsMatch, signatureScheme } from "./signatures.js";
import type { Source } from "./source.js";

/** Ended reasons of a call that had its conversation and ended normally; busy, no answer, voicemail and errors did not. */
const COMPLETED_REASONS = /^(assistant-ended-call|assistant-said-end-call-phrase|assistant-forwarded-call|customer-ended-call|exceeded-max-duration|silence-timed-out|vonage-completed|call\.ending\.hook-executed)/;

const Phone = z.object({ number: z.string().nullish() }).passthrough().nullish();

export const VapiPayloadSchema = z
  .object({
    message: z
      .object({
        type: z.string(),
        endedReason: z.string().nullish(),
        startedAt: z.string().nullish(),
        endedAt: z.string().nullish(),
        durationSeconds: z.number().nullish(),
        artifact: z
          .object({
            messages: z.array(z.unknown()).nullish(),
            transcript: z.string().nullish(),
            recordingUrl: z.string().nullish(),
            recording: z.object({ mono: z.object({ combinedUrl: z.string().nullish() }).passthrough().nullish() }).passthrough().nullish(),
          })
          .passthrough()
          .nullish(),
        call: z
          .object({
            id: z.string().min(1).max(200),
            assistantOverrides: z.object({ variableValues: z.record(z.unknown()).nullish() }).passthrough().nullish(),
            customer: Phone,
            phoneNumber: Phone,
            startedAt: z.string().nullish(),
            endedAt: z.string().nullish(),
          })
          .passthrough(),
        customer: Phone,
        phoneNumber: Phone,
        recordingUrl: z.string().nullish(),
      })
      .passthrough(),
  })
  .passthrough();

const firstSystemMessage = (messages: readonly unknown[] | null | undefined): string | undefined => {
  const system = messages?.find((turn) => isObject(turn) && turn.role === "system");
  return isObject(system) && typeof system.message === "string" && system.message.trim() !== "" ? system.message : undefined;
};

const hasSpeech = (messages: readonly unknown[] | null | undefined) =>
  messages?.some((turn) => isObject(turn) && typeof turn.role === "string" && turn.role !== "system" && typeof turn.message === "string") ?? false;

export const vapi: Source = {
  name: "vapi",
  schema: VapiPayloadSchema,
  recognize(payload) {
    const type = isObject(payload.message) ? payload.message.type : undefined;
    if (typeof type !== "string") return unrecognized("vapi", [["message.type", 'message.type (a server message, "end-of-call-report" for a finished call)']]);
    return type === "end-of-call-report" ? { kind: "call" } : { kind: "ignored", reason: `vapi ${type} message: only end-of-call-report carries a finished call` };
  },
  /**
   * Vapi sends the server secret as `X-Vapi-Secret` (or `Authorization: Bearer`, from a Bearer credential), or signs with
   * an HMAC credential: `x-signature` = hex HMAC-SHA256 of `{timestamp}.{body}`, `x-timestamp` beside it (its defaults).
   */
  signature: signatureScheme({
    name: "vapi",
    description: "X-Vapi-Secret or Authorization: Bearer (the secret itself), or an HMAC credential: x-signature = hex HMAC-SHA256 of x-timestamp.body",
    headers: ["x-vapi-secret", "x-signature"],
    // A Bearer token is also how API keys are sent: it names Vapi only when no platform's own header does.
    sharedHeaders: ["authorization"],
    checkHeaders(headers, secret, nowMs) {
      const signature = header(headers, "x-signature");
      if (signature) {
        const timestamp = header(headers, "x-timestamp");
        if (!timestamp || !/^\d{1,16}$/.test(timestamp)) return fail("malformed_signature");
        // Seconds or milliseconds: a value past 1e11 can only be milliseconds (year 5138 in seconds).
        const time = checkTimestamp(Number(timestamp) > 1e11 ? Number(timestamp) : Number(timestamp) * 1000, nowMs, DEFAULT_MAX_AGE_MS);
        if (!time.ok) return time;
        const digest = signature.replace(/^sha256=/i, "");
        return bodyDigest((rawBody) => hmacSha256(secret, `${timestamp}.`, rawBody), digest, "hex");
      }
      const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header(headers, "authorization") ?? "")?.[1];
      const presented = header(headers, "x-vapi-secret") ?? bearer;
      if (!presented) return fail("missing_signature");
      return secretsMatch(presented, secret) ? OK : fail("mismatch");
    },
  }),
  normalize(payload) {
    const { message } = parseAs("vapi", VapiPayloadSchema, payload);
    const { artifact, call } = message;
    const started = instant(message.startedAt ?? call.startedAt);
    const ended = instant(message.endedAt ?? call.endedAt);
    const messages = artifact?.messages;
    return {
      external_id: call.id,
      completed: COMPLETED_REASONS.test(message.endedReason ?? ""),
      ...callSpan(started, ended, duration(message.durationSeconds)),
      customer_phone: text(message.customer?.number ?? call.customer?.number),
      agent_phone: text(message.phoneNumber?.number ?? call.phoneNumber?.number),
      recording_url: text(artifact?.recordingUrl ?? artifact?.recording?.mono?.combinedUrl ?? message.recordingUrl),
      ended_reason: message.endedReason ?? null,
      input_variables: variables(call.assistantOverrides?.variableValues),
      agent_prompt: firstSystemMessage(messages),
      timezone: undefined,
      turns: hasSpeech(messages) ? turnsAt(messages, "message.artifact.messages") : turnsAt(artifact?.transcript, "message.artifact.transcript"),
    };
  },
  endedReasonField: "Vapi's endedReason",
  recordingFields: [
    ["message", "artifact", "recordingUrl"],
    ["message", "artifact", "stereoRecordingUrl"],
    ["message", "artifact", "videoRecordingUrl"],
    ["message", "artifact", "recording"],
    ["message", "recordingUrl"],
    ["message", "stereoRecordingUrl"],
  ],
  deliversAutocallsShape: () => false,
};
