// Retell: `call_ended` and `call_analyzed` webhooks (`{event, call}`); call_started, transcript and transfer events are acknowledged.
import { z } from "zod";
import { callSpan, duration, instant, isObject, parseAs, text, turnsAt, unrecognized, variables } from "./fields.js";
import { bodyDigest, checkTimestamp, DEFAULT_MAX_AGE_MS, fail, header, hmacSha256, signatureScheme } from "./signatures.js";
import type { Source } from "./source.js";

const CALL_EVENTS = new Set(["call_ended", "call_analyzed"]);
/** Disconnection reasons of a call that never became a conversation with the customer (as Vapi's busy, no answer, voicemail). */
const NO_CONVERSATION =
  /^(dial_|voicemail_reached|ivr_reached|invalid_destination|registered_call_timeout|user_declined|marked_as_spam|concurrency_limit_reached|no_valid_payment|no_concurrency_fallback|scam_detected|telephony_provider_|sip_routing_error|error_)/;

export const RetellPayloadSchema = z
  .object({
    event: z.string(),
    call: z
      .object({
        call_id: z.string().min(1).max(200),
        call_status: z.string().nullish(),
        direction: z.string().nullish(),
        from_number: z.string().nullish(),
        to_number: z.string().nullish(),
        start_timestamp: z.number().nullish(),
        end_timestamp: z.number().nullish(),
        duration_ms: z.number().nullish(),
        disconnection_reason: z.string().nullish(),
        recording_url: z.string().nullish(),
        retell_llm_dynamic_variables: z.record(z.unknown()).nullish(),
        transcript: z.string().nullish(),
        transcript_object: z.array(z.unknown()).nullish(),
        transcript_with_tool_calls: z.array(z.unknown()).nullish(),
      })
      .passthrough(),
  })
  .passthrough();

export const retell: Source = {
  name: "retell",
  schema: RetellPayloadSchema,
  recognize(payload) {
    const { event } = payload;
    if (typeof event !== "string") return unrecognized("retell", [["event", 'event ("call_ended" or "call_analyzed") with call.call_id']]);
    // Every Retell event names its call (or, for chat agents, its chat): that is what tells it from other platforms' events.
    const call = isObject(payload.call) && typeof payload.call.call_id === "string";
    const chat = isObject(payload.chat) && typeof payload.chat.chat_id === "string";
    if (!call && !chat) return unrecognized("retell", [["call.call_id", "call.call_id (a string) beside event"]]);
    if (call && CALL_EVENTS.has(event)) return { kind: "call" };
    return { kind: "ignored", reason: `retell ${event} event: only call_ended and call_analyzed carry a finished call` };
  },
  /** `X-Retell-Signature: v=<unix ms>,d=<hex HMAC-SHA256 of rawBody + unix ms>`, keyed with the API key that has the webhook badge. */
  signature: signatureScheme({
    name: "retell",
    description: "X-Retell-Signature: v=<unix ms>,d=<hex HMAC-SHA256(key=API key, rawBody + unix ms)>",
    headers: ["x-retell-signature"],
    checkHeaders(headers, secret, nowMs) {
      const signature = header(headers, "x-retell-signature");
      if (!signature) return fail("missing_signature");
      const match = /^v=(\d{1,16}),d=([0-9a-f]+)$/i.exec(signature);
      if (!match) return fail("malformed_signature");
      const time = checkTimestamp(Number(match[1]), nowMs, DEFAULT_MAX_AGE_MS);
      if (!time.ok) return time;
      return bodyDigest((rawBody) => hmacSha256(secret, rawBody, match[1]!), match[2]!, "hex");
    },
  }),
  normalize(payload) {
    const { call } = parseAs("retell", RetellPayloadSchema, payload);
    const started = instant(call.start_timestamp, "ms");
    const ended = instant(call.end_timestamp, "ms");
    const inbound = call.direction === "inbound";
    const spoken = call.transcript_object?.length ? call.transcript_object : call.transcript_with_tool_calls;
    return {
      external_id: call.call_id,
      completed: call.call_status === "ended" && !NO_CONVERSATION.test(call.disconnection_reason ?? ""),
      ...callSpan(started, ended, call.duration_ms === null || call.duration_ms === undefined ? null : duration(call.duration_ms / 1000)),
      customer_phone: text(inbound ? call.from_number : call.to_number),
      agent_phone: text(inbound ? call.to_number : call.from_number),
      recording_url: text(call.recording_url),
      ended_reason: call.disconnection_reason ?? null,
      input_variables: variables(call.retell_llm_dynamic_variables),
      agent_prompt: undefined,
      timezone: undefined,
      turns: spoken?.length
        ? turnsAt(spoken, call.transcript_object?.length ? "call.transcript_object" : "call.transcript_with_tool_calls")
        : turnsAt(call.transcript, "call.transcript"),
    };
  },
  endedReasonField: "Retell's disconnection_reason",
  recordingFields: [
    ["call", "recording_url"],
    ["call", "recording_multi_channel_url"],
    ["call", "scrubbed_recording_url"],
    ["call", "scrubbed_recording_multi_channel_url"],
  ],
  deliversAutocallsShape: () => false,
};
