// Bland: the call object its `webhook` receives when a call ends (`call_id` with `transcripts[]` or `concatenated_transcript`).
import { z } from "zod";
import { callSpan, duration, instant, parseAs, text, turnsAt, unrecognized, variables } from "./fields.js";
import { bodyDigest, fail, header, hmacSha256, signatureScheme } from "./signatures.js";
import type { Source } from "./source.js";

export const BlandPayloadSchema = z
  .object({
    call_id: z.union([z.string().min(1).max(200), z.number().int()]),
    completed: z.boolean().nullish(),
    status: z.string().nullish(),
    inbound: z.boolean().nullish(),
    to: z.string().nullish(),
    from: z.string().nullish(),
    created_at: z.string().nullish(),
    started_at: z.string().nullish(),
    end_at: z.string().nullish(),
    call_length: z.number().nullish().describe("Minutes"),
    call_ended_by: z.string().nullish(),
    recording_url: z.string().nullish(),
    request_data: z.record(z.unknown()).nullish(),
    task: z.string().nullish(),
    transcripts: z.array(z.unknown()).nullish(),
    concatenated_transcript: z.string().nullish(),
  })
  .passthrough();

export const bland: Source = {
  name: "bland",
  schema: BlandPayloadSchema,
  recognize(payload) {
    const id = typeof payload.call_id === "string" || typeof payload.call_id === "number";
    const transcript = Array.isArray(payload.transcripts) || typeof payload.concatenated_transcript === "string";
    if (id && transcript) return { kind: "call" };
    return unrecognized("bland", [
      ...(id ? [] : ([["call_id", "call_id"]] as [string, string][])),
      ...(transcript ? [] : ([["transcripts", "transcripts[] or concatenated_transcript"]] as [string, string][])),
    ]);
  },
  /** `X-Webhook-Signature`: hex HMAC-SHA256 of the raw body with the account's webhook signing secret. No timestamp. */
  signature: signatureScheme({
    name: "bland",
    description: "X-Webhook-Signature: hex HMAC-SHA256(key=webhook signing secret, rawBody)",
    headers: ["x-webhook-signature"],
    checkHeaders(headers, secret) {
      const signature = header(headers, "x-webhook-signature");
      if (!signature) return fail("missing_signature");
      return bodyDigest((rawBody) => hmacSha256(secret, rawBody), signature, "hex");
    },
  }),
  normalize(payload) {
    const call = parseAs("bland", BlandPayloadSchema, payload);
    const started = instant(call.started_at ?? call.created_at);
    // call_length is in minutes.
    const seconds = call.call_length === null || call.call_length === undefined ? null : duration(call.call_length * 60);
    const spoken = call.transcripts?.length ? call.transcripts : undefined;
    return {
      external_id: String(call.call_id),
      completed: call.completed ?? call.status === "completed",
      ...callSpan(started, instant(call.end_at), seconds),
      customer_phone: text(call.inbound ? call.from : call.to),
      agent_phone: text(call.inbound ? call.to : call.from),
      recording_url: text(call.recording_url),
      ended_reason: call.call_ended_by ?? null,
      input_variables: variables(call.request_data),
      agent_prompt: text(call.task) ?? undefined,
      timezone: undefined,
      turns: spoken ? turnsAt(spoken, "transcripts") : turnsAt(call.concatenated_transcript, "concatenated_transcript"),
    };
  },
  endedReasonField: "Bland's call_ended_by",
  recordingFields: [["recording_url"]],
  deliversAutocallsShape: () => false,
};
