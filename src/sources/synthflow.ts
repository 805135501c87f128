// Synthflow: the post-call webhook (`{status, lead, call: {call_id, transcript, …}, executed_actions}`).
import { z } from "zod";
import { callSpan, duration, instant, isObject, parseAs, text, turnsAt, unrecognized, variables, zone } from "./fields.js";
import { JSON_BODY_LIMITS, readStringAt } from "../lib/json-scan.js";
import { digestMatches, fail, header, hmacSha256, OK, signatureScheme } from "./signatures.js";
import type { Source } from "./source.js";

export const SynthflowPayloadSchema = z
  .object({
    status: z.string().nullish(),
    lead: z.object({ phone_number: z.string().nullish(), prompt_variables: z.record(z.unknown()).nullish() }).passthrough().nullish(),
    call: z
      .object({
        call_id: z.string().min(1).max(200),
        status: z.string().nullish(),
        end_call_reason: z.string().nullish(),
        timezone: z.string().nullish(),
        duration: z.number().nullish(),
        start_time: z.string().nullish(),
        transcript: z.string(),
        recording_url: z.string().nullish(),
      })
      .passthrough(),
  })
  .passthrough();

/** Synthflow's docs name the header as a CGI variable (`HTTP_SYNTHFLOW_SIGNATURE`): on the wire it is `Synthflow-Signature`. */
const HEADERS = ["synthflow-signature", "http_synthflow_signature"];
const SIGNED_FIELD = ["call", "call_id"];

export const synthflow: Source = {
  name: "synthflow",
  schema: SynthflowPayloadSchema,
  recognize(payload) {
    const call = isObject(payload.call) ? payload.call : undefined;
    if (call && typeof call.call_id === "string" && typeof call.transcript === "string") return { kind: "call" };
    return unrecognized("synthflow", [["call.call_id", "call.call_id with call.transcript (a string)"]]);
  },
  /**
   * Base64 HMAC-SHA256 of the payload's `call.call_id` alone: Synthflow signs the call id, not the body. The id is read
   * from the raw bytes by one bounded pass, as JSON.parse would read it; the body is parsed only once it verified.
   */
  signature: signatureScheme({
    name: "synthflow",
    description: "Synthflow-Signature: base64 HMAC-SHA256(key=secret, call.call_id); covers the call id only, not the body",
    headers: HEADERS,
    signedField: SIGNED_FIELD,
    checkHeaders(headers, secret) {
      const signature = HEADERS.map((name) => header(headers, name)).find(Boolean);
      if (!signature) return fail("missing_signature");
      return {
        ok: true,
        body(rawBody) {
          const callId = readStringAt(rawBody, SIGNED_FIELD, JSON_BODY_LIMITS.maxDepth);
          if (callId === undefined) return fail("malformed_signature");
          return digestMatches(hmacSha256(secret, callId), signature, "base64") ? OK : fail("mismatch");
        },
      };
    },
  }),
  normalize(payload) {
    const { lead, call } = parseAs("synthflow", SynthflowPayloadSchema, payload);
    return {
      external_id: call.call_id,
      completed: call.status === "completed",
      ...callSpan(instant(call.start_time), null, duration(call.duration)),
      customer_phone: text(lead?.phone_number),
      agent_phone: null,
      recording_url: text(call.recording_url),
      ended_reason: call.end_call_reason ?? null,
      input_variables: variables(lead?.prompt_variables),
      agent_prompt: undefined,
      timezone: zone(call.timezone),
      turns: turnsAt(call.transcript, "call.transcript"),
    };
  },
  endedReasonField: "Synthflow's end_call_reason",
  recordingFields: [["call", "recording_url"]],
  deliversAutocallsShape: () => false,
};
