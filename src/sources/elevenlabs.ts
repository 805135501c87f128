// ElevenLabs Agents: the `post_call_transcription` webhook; `post_call_audio` and `call_initiation_failure` are acknowledged.
import { z } from "zod";
import { callSpan, duration, instant, isObject, parseAs, text, turnsAt, unrecognized, variables, zone } from "./fields.js";
import { bodyDigest, checkTimestamp, fail, header, hmacSha256, signatureScheme } from "./signatures.js";
import type { Source } from "./source.js";

const EVENTS = new Set(["post_call_transcription", "post_call_audio", "call_initiation_failure"]);
/** ElevenLabs' SDK accepts signatures up to 30 minutes old: deliveries may be retried that long after signing. */
const MAX_AGE_MS = 30 * 60_000;

export const ElevenLabsPayloadSchema = z
  .object({
    type: z.string(),
    event_timestamp: z.number().nullish(),
    data: z
      .object({
        conversation_id: z.string().min(1).max(200),
        status: z.string().nullish(),
        transcript: z.array(z.unknown()),
        metadata: z
          .object({
            start_time_unix_secs: z.number().nullish(),
            call_duration_secs: z.number().nullish(),
            termination_reason: z.string().nullish(),
            timezone: z.string().nullish(),
            phone_call: z.object({ agent_number: z.string().nullish(), external_number: z.string().nullish() }).passthrough().nullish(),
          })
          .passthrough()
          .nullish(),
        conversation_initiation_client_data: z
          .object({
            dynamic_variables: z.record(z.unknown()).nullish(),
            conversation_config_override: z
              .object({ agent: z.object({ prompt: z.object({ prompt: z.string().nullish() }).passthrough().nullish() }).passthrough().nullish() })
              .passthrough()
              .nullish(),
          })
          .passthrough()
          .nullish(),
      })
      .passthrough(),
  })
  .passthrough();

/** ElevenLabs' own system__ variables (caller id, conversation id, time) are not what the agent was told about the customer. */
function clientVariables(values: Record<string, unknown> | null | undefined) {
  return variables(values ? Object.fromEntries(Object.entries(values).filter(([name]) => !name.startsWith("system__"))) : undefined);
}

export const elevenlabs: Source = {
  name: "elevenlabs",
  schema: ElevenLabsPayloadSchema,
  recognize(payload) {
    const { type } = payload;
    if (typeof type !== "string" || !EVENTS.has(type) || !isObject(payload.data)) {
      return unrecognized("elevenlabs", [["type", 'type ("post_call_transcription") with a data object']]);
    }
    return type === "post_call_transcription" ? { kind: "call" } : { kind: "ignored", reason: `elevenlabs ${type} webhook: only post_call_transcription carries a transcript` };
  },
  /** `ElevenLabs-Signature: t=<unix s>,v0=<hex HMAC-SHA256 of "t.rawBody">`. */
  signature: signatureScheme({
    name: "elevenlabs",
    description: "ElevenLabs-Signature: t=<unix s>,v0=<hex HMAC-SHA256(key=secret, t + \".\" + rawBody)>",
    headers: ["elevenlabs-signature"],
    checkHeaders(headers, secret, nowMs) {
      const signature = header(headers, "elevenlabs-signature");
      if (!signature) return fail("missing_signature");
      const parts = signature.split(",").map((part) => part.trim());
      const timestamp = parts.find((part) => part.startsWith("t="))?.slice(2);
      const digest = parts.find((part) => part.startsWith("v0="))?.slice(3);
      if (!timestamp || !/^\d{1,12}$/.test(timestamp) || !digest) return fail("malformed_signature");
      const time = checkTimestamp(Number(timestamp) * 1000, nowMs, MAX_AGE_MS);
      if (!time.ok) return time;
      return bodyDigest((rawBody) => hmacSha256(secret, `${timestamp}.`, rawBody), digest, "hex");
    },
  }),
  normalize(payload) {
    const { data } = parseAs("elevenlabs", ElevenLabsPayloadSchema, payload);
    const metadata = data.metadata;
    const started = instant(metadata?.start_time_unix_secs);
    const client = data.conversation_initiation_client_data;
    return {
      external_id: data.conversation_id,
      completed: data.status === "done",
      ...callSpan(started, null, duration(metadata?.call_duration_secs)),
      customer_phone: text(metadata?.phone_call?.external_number),
      agent_phone: text(metadata?.phone_call?.agent_number),
      recording_url: null,
      ended_reason: metadata?.termination_reason ?? null,
      input_variables: clientVariables(client?.dynamic_variables),
      agent_prompt: text(client?.conversation_config_override?.agent?.prompt?.prompt) ?? undefined,
      timezone: zone(metadata?.timezone),
      turns: turnsAt(data.transcript, "data.transcript"),
    };
  },
  // The transcription webhook carries no recording; its audio comes in post_call_audio, which is not stored.
  endedReasonField: "ElevenLabs' termination_reason",
  recordingFields: [],
  deliversAutocallsShape: () => false,
};
