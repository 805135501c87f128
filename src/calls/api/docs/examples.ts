// The calls API's example values in the OpenAPI document: one platform payload and the same few calls seen in every
// operation (delivered, failed delivery, held for review, failed extraction), so the examples tell one story.
import type { z } from "zod";
import { DELIVERY_EXAMPLES } from "../../../delivery/index.js";
import type { AutocallsPayload } from "../../../sources/index.js";
import { describeFates, type CallStage } from "../../fates.js";
import type { CallListItemSchema, CallSchema, CallSummarySchema } from "./call-schemas.js";

const { delivered: DELIVERED, deadLettered: DEAD_LETTERED } = DELIVERY_EXAMPLES;

export const PAYLOAD_EXAMPLE: AutocallsPayload = {
  id: 48213,
  status: "completed",
  customer_phone: "+15555550123",
  assistant_phone: "+15555550100",
  duration: 94,
  transcript: [
    { text: "Hi, this is Sarah from Acme. Am I speaking with John?", type: "transcript", sender: "bot", timestamp: 1736937000.315 },
    { text: "Yes. I'd like to see a demo of the Pro plan.", type: "transcript", sender: "human", timestamp: 1736937004.104 },
    { text: 'book_demo({"plan":"pro","date":"2025-01-22"})', type: "tool_call", sender: "bot", timestamp: 1736937006.9 },
    { text: "You're booked for a Pro demo on Wednesday, January 22.", type: "transcript", sender: "bot", timestamp: 1736937008.52 },
  ],
  recording_url: "https://app.autocalls.ai/storage/recordings/call-48213.mp4",
  input_variables: { customer_name: "John Doe" },
  created_at: "2025-01-15T10:30:00.000000Z",
  finished_at: "2025-01-15T10:31:34.000000Z",
  timezone: "America/New_York",
  campaign: { id: 7, name: "Spring demos" },
};
export const DELIVERED_CALL: z.infer<typeof CallSchema> = {
  call_id: DELIVERED.call_id,
  profile: "booking",
  source: "autocalls",
  external_id: "48213",
  call: {
    completed: true,
    started_at: "2025-01-15T10:30:00.000Z",
    ended_at: "2025-01-15T10:31:34.000Z",
    duration_s: 94,
    customer_phone: "+15555550123",
    agent_phone: "+15555550100",
    recording_url: "https://app.autocalls.ai/storage/recordings/call-48213.mp4",
  },
  customer_phone_e164: "+15555550123",
  state: "delivered",
  reason: null,
  attempts: 1,
  next_attempt_at: null,
  last_error: null,
  created_at: "2025-01-15T10:32:06.120Z",
  updated_at: "2025-01-15T10:32:09.405Z",
  extracted_variables: { status: true, summary: "John booked a Pro plan demo for January 22.", plan: "pro", demo_date: "2025-01-22" },
  meta: {
    model: "gpt-4o-mini",
    prompt_version: "extract-1+1a2b3c4d",
    cached: false,
    attempts: 1,
    chunks: 1,
    llm_calls: 1,
    usage: { prompt_tokens: 643, completion_tokens: 58 },
    ungrounded: 0,
    latency_ms: 2917,
    extracted_at: "2025-01-15T10:32:09.388Z",
  },
  confidence: { status: 0.998, summary: 0.91, plan: 0.995, demo_date: 0.97 },
  review: { needed: false, fields: {} },
  reviewed: null,
  extraction: {
    profile_version: "5d41c09e7a2b",
    cost_usd: 0.000131,
    current: true,
    current_profile_version: "5d41c09e7a2b",
    history: [
      {
        seq: 1,
        profile_version: "5d41c09e7a2b",
        trigger: "live",
        event: 1,
        cost_usd: 0.000131,
        created_at: "2025-01-15T10:32:09.401Z",
        extracted_variables: { status: true, summary: "John booked a Pro plan demo for January 22.", plan: "pro", demo_date: "2025-01-22" },
        changed: null,
        meta: { model: "gpt-4o-mini", prompt_version: "extract-1+1a2b3c4d", cached: false, usage: { prompt_tokens: 643, completion_tokens: 58 }, cost_usd: 0.000131 },
      },
    ],
  },
  evidence: {
    status: { quote: "You're booked for a Pro demo on Wednesday, January 22.", turn: 2 },
    plan: { quote: "I'd like to see a demo of the Pro plan", turn: 1 },
    demo_date: { quote: "Pro demo on Wednesday, January 22", turn: 2 },
  },
  transcript: [
    { speaker: "agent", text: "Hi, this is Sarah from Acme. Am I speaking with John?", time: "2025-01-15T10:30:00.315Z" },
    { speaker: "customer", text: "Yes. I'd like to see a demo of the Pro plan.", time: "2025-01-15T10:30:04.104Z" },
    { speaker: "agent", text: "You're booked for a Pro demo on Wednesday, January 22.", time: "2025-01-15T10:30:08.520Z" },
  ],
  destinations: [
    { destination: "crm", in_profile: true, fate: "delivered", reason: null, deliveries: [DELIVERED] },
    {
      destination: "slack_qualified",
      in_profile: true,
      fate: "skipped",
      reason: { code: "when_false", message: "when extracted_variables.plan = 'enterprise' was not true; it read extracted_variables.plan = \"pro\"" },
      deliveries: [],
    },
  ],
  payload: PAYLOAD_EXAMPLE,
};

/** "Why didn't my CRM get it?": its transform failed on this call, and Slack's delivery was dead-lettered. */
export const DELIVERY_FAILED_CALL: z.infer<typeof CallSchema> = {
  ...DELIVERED_CALL,
  call_id: DEAD_LETTERED.call_id,
  external_id: "48377",
  state: "delivery_failed",
  created_at: "2025-01-15T11:04:38.514Z",
  updated_at: "2025-01-15T11:05:30.690Z",
  destinations: [
    {
      destination: "crm",
      in_profile: true,
      fate: "skipped",
      reason: {
        code: "transform_failed",
        message: "destinations.crm.transform: evaluation failed: Unable to cast value to a number: \"John booked a Pro plan demo\"",
      },
      deliveries: [],
    },
    {
      destination: "slack_qualified",
      in_profile: true,
      fate: "failed",
      reason: { code: "dead_lettered", message: DEAD_LETTERED.last_error! },
      deliveries: [DEAD_LETTERED],
    },
  ],
};

/** The example profile's destinations, as the call view shows them for a call not routed yet. */
function unroutedDestinations(stage: CallStage) {
  return describeFates({ stage, stageReason: null, profileDestinations: ["crm", "slack_qualified"], fates: [], deliveries: [] });
}

/** Held for review: the model was unsure of the demo date, and the profile holds low_confidence values. */
export const HELD_CALL: z.infer<typeof CallSchema> = {
  ...DELIVERED_CALL,
  call_id: "call_5c1d8e2f9a0b4c7d8e3f1a2b6c9d0e4f",
  external_id: "48402",
  state: "needs_review",
  created_at: "2025-01-15T11:20:02.318Z",
  updated_at: "2025-01-15T11:20:05.977Z",
  confidence: { status: 0.998, summary: 0.91, plan: 0.995, demo_date: 0.38 },
  review: { needed: true, fields: { demo_date: ["low_confidence"] } },
  destinations: unroutedDestinations("needs_review"),
};
export const FAILED_CALL: z.infer<typeof CallSchema> = {
  call_id: "call_7e2a9c4b1d0f4a3e8b6c5d2f1a9e0b7c",
  profile: "booking",
  source: "vapi",
  external_id: "0b4f5c1e-7d2a-4e8b-9c3f-6a1d2e5b8c70",
  call: {
    completed: true,
    started_at: "2025-01-15T10:38:02.114Z",
    ended_at: "2025-01-15T10:40:09.870Z",
    duration_s: 127.756,
    customer_phone: "+15555550188",
    agent_phone: "+15555550100",
    recording_url: "https://storage.vapi.ai/0b4f5c1e-mono.wav",
  },
  customer_phone_e164: "+15555550188",
  state: "extraction_failed",
  reason: "llm_unavailable",
  attempts: 30,
  next_attempt_at: null,
  last_error: "The LLM is unavailable: 503 Service Unavailable",
  created_at: "2025-01-15T10:40:12.004Z",
  updated_at: "2025-01-16T09:12:47.631Z",
  extracted_variables: null,
  evidence: null,
  meta: null,
  confidence: null,
  review: null,
  reviewed: null,
  extraction: null,
  transcript: [
    { speaker: "agent", text: "Hi, it's Ava from CoolAir. Is now a good time?", time: "2025-01-15T10:38:03.002Z" },
    { speaker: "customer", text: "Sure, the AC in the office stopped working.", time: "2025-01-15T10:38:07.450Z" },
  ],
  destinations: unroutedDestinations("extraction_failed"),
  payload: {
    message: {
      type: "end-of-call-report",
      call: { id: "0b4f5c1e-7d2a-4e8b-9c3f-6a1d2e5b8c70" },
      artifact: {
        messages: [
          { role: "bot", message: "Hi, it's Ava from CoolAir. Is now a good time?", time: 1736937483002 },
          { role: "user", message: "Sure, the AC in the office stopped working.", time: 1736937487450 },
        ],
      },
    },
  },
};
export function summaryOf(call: z.infer<typeof CallSchema>): z.infer<typeof CallSummarySchema> {
  const { call_id, profile, source, external_id, call: facts, customer_phone_e164, state, reason, created_at, updated_at } = call;
  return { call_id, profile, source, external_id, call: facts, customer_phone_e164, state, reason, created_at, updated_at };
}

/** A call as the list shows it: its summary and each destination's latest fate. */
export function listItemOf(call: z.infer<typeof CallSchema>): z.infer<typeof CallListItemSchema> {
  return { ...summaryOf(call), destinations: call.destinations.map(({ destination, fate, reason }) => ({ destination, fate, reason })) };
}
