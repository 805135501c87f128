// The calls API in the OpenAPI document: accept a post-call payload, list calls, look one up with every destination's
// fate, replay a failed extraction, decide on a call held for review, and caller memory.
import { z } from "zod";
import { DELIVERY_EXAMPLES, DeliveryWithAttemptsComponent } from "../../../delivery/index.js";
import { ReviewSchema } from "../../../extract/index.js";
import { bodyParserResponses, errorResponse, guardResponses, INVALID_BODY_EXAMPLE, INVALID_JSON_EXAMPLE, PROMPT_BUDGET_EXAMPLE, unusedBodyResponses, type ApiDocs, type SameShape } from "../../../http/openapi.js";
import { SOURCE_NAMES, SOURCES, type AutocallsPayload } from "../../../sources/index.js";
import { MAX_HISTORY_SHOWN, type describeCall } from "../call-view.js";
import type { describeCaller } from "../caller-memory.js";
import { CALL_STATES, describeFates, FATE_REASONS, FATES, type CallStage } from "../../fates.js";
import { EXTRACTION_TRIGGERS } from "../../store/port.js";
import { ReextractBodySchema, type reextractView } from "../reextract-router.js";
import type { reloadView } from "../../../configuration/reload-router.js";
import { CallerQuerySchema, ExportCallsQuerySchema, ListCallsQuerySchema, MAX_CALLER_CALLS, MAX_CALLS_PER_PAGE, type listCalls } from "../read-router.js";
import { ReviewRequestSchema } from "../../review.js";

export const CallStateSchema = z
  .enum(CALL_STATES)
  .describe(
    "accepted: stored, waiting for (or in) its first extraction attempt; extracting: an attempt failed, retrying with backoff; " +
      "extraction_failed: out of extraction attempts (replay it); skipped: stored but neither extracted nor delivered (`reason` says why); " +
      "needs_review: held for review (its profile's `review.hold`, and a flagged value): delivered nowhere until POST /v1/calls/{id}/review; " +
      "extracted: extracted, and no destination " +
      "applied; delivering: a delivery is pending; delivered: every delivery got through; delivery_failed: a delivery was " +
      "dead-lettered, or a destination's expression failed on the call",
  )
  .openapi("CallState");

export const CallAcceptedSchema = z.object({
  call_id: z.string().describe("Debrief's id for the call: look it up at GET /v1/calls/{id}"),
  state: z.enum(["accepted", "skipped"]).describe("skipped: stored, but not extracted, because the call did not complete"),
});

export const CallDuplicateSchema = z.object({
  call_id: z.string(),
  state: CallStateSchema,
  duplicate: z.literal(true).describe("This profile already has a call with this `id`: nothing was stored, extracted or sent again"),
});

export const CallReplayedSchema = z.object({ call_id: z.string(), state: z.literal("accepted") });

export const CallReviewSchema = z
  .object({
    approved: z.boolean().describe("true: delivered with the corrections; false: skipped"),
    at: z.string().describe("When the reviewer decided (ISO 8601)"),
    corrected: z.array(z.string()).describe("The variables whose value the reviewer changed (a value sent equal to the model's is not a correction)"),
    values: z.record(z.unknown()).describe("The changed values by name; `extracted_variables` keeps the model's own"),
    reason: z.string().nullable().describe("Why the reviewer skipped the call; null when approved"),
  })
  .openapi("CallReview");

export const CallReviewedSchema = z.object({
  call_id: z.string(),
  state: z.enum(["accepted", "skipped"]).describe("accepted: routed to its destinations now, with the corrections; skipped: for the reviewer's reason"),
  reviewed: CallReviewSchema,
});

export const CallIgnoredSchema = z.object({
  ignored: z.literal(true).describe("One of the platform's other events (a status update, audio, a failed dial…): acknowledged, not stored"),
  reason: z.string(),
});

/** What `debrief.call` holds in deliveries and `call` in GET /v1/calls/{id}: the call in one vocabulary, whatever the platform. */
export const CallFactsSchema = z
  .object({
    completed: z.boolean().describe("The call became a conversation and ended normally (not busy, unanswered or failed)"),
    started_at: z.string().nullable().describe("ISO 8601 instant; null when the platform did not say"),
    ended_at: z.string().nullable(),
    duration_s: z.number().nullable(),
    customer_phone: z.string().nullable(),
    agent_phone: z.string().nullable(),
    recording_url: z.string().nullable(),
  })
  .openapi("CallFacts");

/** One call in a list: what a row of the console shows. */
export const CallSummarySchema = z
  .object({
    call_id: z.string(),
    profile: z.string(),
    source: z.enum(SOURCE_NAMES).describe("The platform that posted the call"),
    external_id: z
      .string()
      .describe("The platform's id of the call (Autocalls `id`, Vapi `call.id`, Retell `call_id`…), or call_id when it had none: a second call with the same one under this profile is a duplicate"),
    call: CallFactsSchema.nullable().describe("What the platform said of the call; null for calls stored before platforms were told apart"),
    customer_phone_e164: z
      .string()
      .nullable()
      .describe("The customer's number in E.164 (the profile's default_region read numbers without a country code): what GET /v1/callers/{phone} finds it by. Null when the platform sent none or it could not be read"),
    state: CallStateSchema,
    reason: z.string().nullable().describe("skipped: why; extracting or extraction_failed: the last error's code"),
    created_at: z.string().describe("When Debrief accepted the call (ISO 8601): the list's order, and what since and until compare"),
    updated_at: z.string(),
  })
  .openapi("CallSummary");

export const DestinationFateSchema = z
  .object({
    destination: z.string().describe("The destination's name in the configuration file"),
    in_profile: z.boolean().describe("The destination is in the profile's `destinations` now (false: removed since the call was routed to it)"),
    fate: z
      .enum(FATES)
      .describe("delivered: the receiver took it; pending: waiting, in flight, retrying, or (before extraction) not routed yet; failed: dead-lettered; skipped: not sent, and `reason` says why"),
    reason: z
      .object({
        code: z
          .enum(FATE_REASONS)
          .describe(
            "when_false: its `when` was not true; when_failed / transform_failed: its expression failed on this call (the call is delivery_failed: fix it and replay the call); " +
              "dead_lettered: out of attempts or a final status; retrying: the last attempt failed and another is scheduled; awaiting_extraction: the call is not extracted yet; " +
              "call_skipped: the call itself was skipped; not_recorded: no fate was kept (a destination added later, or a call routed before fates were kept)",
          ),
        message: z.string(),
      })
      .nullable(),
    deliveries: z.array(DeliveryWithAttemptsComponent).describe("Every delivery of the call to this destination, oldest first, each with every attempt"),
  })
  .openapi("DestinationFate");

const TranscriptTurnSchema = z.object({
  speaker: z.enum(["agent", "customer"]),
  text: z.string(),
  time: z.string().nullable().describe("ISO 8601 time of the turn when the platform sent one"),
});

export const ExtractionHistoryEntrySchema = z.object({
  seq: z.number().int().describe("1, 2, 3… in the order the call's extractions were stored"),
  profile_version: z.string().nullable().describe("The profile's version it ran under; null for an extraction stored before versions existed"),
  trigger: z.enum(EXTRACTION_TRIGGERS).describe("live: the call arriving (or a replay); api: POST /v1/calls/{id}/reextract; backfill: a profile's backfill"),
  event: z.number().int().nullable().describe("The delivery event it was routed as (1: the first extraction); null when it was stored without being delivered"),
  created_at: z.string(),
  extracted_variables: z.record(z.unknown()),
  changed: z.array(z.string()).nullable().describe("The variables whose value differs from the entry before it (the next one in this list); null for the first"),
  meta: z.record(z.unknown()).describe("Its `meta`, as in the POST /v1/extract response"),
});

export const CallExtractionVersionSchema = z
  .object({
    profile_version: z.string().nullable().describe("The profile's version the current values ran under; null for calls extracted before versions existed"),
    current: z.boolean().describe("That version is the profile's version now: a re-extraction would answer the same (and costs nothing)"),
    current_profile_version: z.string().nullable().describe("The profile's version now; null when the profile is no longer configured"),
    history: z
      .array(ExtractionHistoryEntrySchema)
      .describe(`Every extraction the call has had, newest (the current one) first; the newest ${MAX_HISTORY_SHOWN} are shown`),
  })
  .openapi("CallExtractionVersion");

// Flat rather than CallSummarySchema.extend(…): the document then shows every field of a call in one object.
export const CallSchema = z
  .object({
  ...CallSummarySchema.shape,
  attempts: z.number().int().describe("Extraction attempts in the current run; a replay starts again at 0"),
  next_attempt_at: z.string().nullable().describe("ISO 8601 time of the next extraction attempt; null when none is due"),
  last_error: z.string().nullable().describe("The last failed extraction attempt's message"),
  extracted_variables: z
    .record(z.unknown())
    .nullable()
    .describe("Once extracted: one key per profile variable (and the defaults status and summary), null for what the call never said"),
  evidence: z
    .record(z.object({ quote: z.string(), turn: z.number().int() }))
    .nullable()
    .describe("Per non-null value, the verbatim quote it rests on and the index of its turn in `transcript` (profiles with `evidence`, the default); null before extraction or without evidence"),
  meta: z.record(z.unknown()).nullable().describe("Once extracted: the extraction's `meta`, as in the POST /v1/extract response"),
  confidence: z
    .record(z.number())
    .nullable()
    .describe("Once extracted, when the LLM gave token log-probabilities: each non-null value's confidence, 0..1; null otherwise"),
  review: ReviewSchema.nullable().describe("Once extracted: the flagged values, only the flags the profile's `review.flags` counts, under its `review.min_confidence`"),
  reviewed: CallReviewSchema.nullable().describe("A held call a reviewer decided on: approved (with the corrected values) or skipped (and why); null otherwise"),
  extraction: CallExtractionVersionSchema.nullable().describe("Once extracted: the profile version it ran under, whether that is current, and the call's extraction history"),
  transcript: z
    .array(TranscriptTurnSchema)
    .nullable()
    .describe("The normalised transcript: the turns the model read, which `evidence` turn indexes point into. Null when the payload's transcript cannot be read"),
  destinations: z
    .array(DestinationFateSchema)
    .describe("Every destination of the profile, then any other the call was routed to, each with its latest fate and every delivery to it"),
  payload: z.record(z.unknown()).describe("The platform's post-call payload exactly as it came"),
  })
  .openapi("Call");

export const CallListSchema = z.object({
  calls: z.array(CallSummarySchema).describe("Newest first"),
  next_cursor: z.string().nullable().describe("Pass as `cursor` (with the same filters) for the next page; null on the last page"),
});

export const CallerSchema = z.object({
  phone: z.string().describe("The number in E.164, as looked up"),
  profile: z.string(),
  known: z.boolean().describe("The number has called this profile before"),
  latest: z
    .object({ call_id: z.string(), created_at: z.string(), extracted_variables: z.record(z.unknown()) })
    .nullable()
    .describe("The newest extracted call's values; null when no call from this number was extracted yet"),
  dynamic_variables: z
    .record(z.string())
    .describe(
      "A flat map of strings for a platform's pre-call webhook: every variable of the profile (status and summary included) from `latest`, then " +
        "`debrief_known_caller` (\"true\"/\"false\") and `debrief_last_call_at` (ISO 8601, or \"\"). The keys are the same for every caller. Strings stay " +
        "as they are, numbers in their JSON form, booleans \"true\"/\"false\", lists joined with \", \", objects as JSON, and null (never said) is \"\"",
    ),
  calls: z.array(CallSummarySchema).describe("The number's recent calls under this profile, newest first"),
});

// The document's schemas and what the routes answer must stay one shape: this fails to compile otherwise.
const callMatches: SameShape<z.infer<typeof CallSchema>, Awaited<ReturnType<typeof describeCall>>> = true;
const listMatches: SameShape<z.infer<typeof CallListSchema>, Awaited<ReturnType<typeof listCalls>>> = true;
const callerMatches: SameShape<z.infer<typeof CallerSchema>, ReturnType<typeof describeCaller>> = true;
void [callMatches, listMatches, callerMatches];

const { delivered: DELIVERED, deadLettered: DEAD_LETTERED } = DELIVERY_EXAMPLES;

const PAYLOAD_EXAMPLE: AutocallsPayload = {
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

const DELIVERED_CALL: z.infer<typeof CallSchema> = {
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
    current: true,
    current_profile_version: "5d41c09e7a2b",
    history: [
      {
        seq: 1,
        profile_version: "5d41c09e7a2b",
        trigger: "live",
        event: 1,
        created_at: "2025-01-15T10:32:09.401Z",
        extracted_variables: { status: true, summary: "John booked a Pro plan demo for January 22.", plan: "pro", demo_date: "2025-01-22" },
        changed: null,
        meta: { model: "gpt-4o-mini", prompt_version: "extract-1+1a2b3c4d", cached: false, usage: { prompt_tokens: 643, completion_tokens: 58 } },
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
      reason: { code: "when_false", message: "its `when` was not true for this call" },
      deliveries: [],
    },
  ],
  payload: PAYLOAD_EXAMPLE,
};

/** "Why didn't my CRM get it?": its transform failed on this call, and Slack's delivery was dead-lettered. */
const DELIVERY_FAILED_CALL: z.infer<typeof CallSchema> = {
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
const HELD_CALL: z.infer<typeof CallSchema> = {
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

const FAILED_CALL: z.infer<typeof CallSchema> = {
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

function summaryOf(call: z.infer<typeof CallSchema>): z.infer<typeof CallSummarySchema> {
  const { call_id, profile, source, external_id, call: facts, customer_phone_e164, state, reason, created_at, updated_at } = call;
  return { call_id, profile, source, external_id, call: facts, customer_phone_e164, state, reason, created_at, updated_at };
}

/** One line of `GET /v1/calls/export?format=eval`: a line of an eval dataset (evals/README.md). */
export const EvalLineSchema = z
  .object({
    id: z.string().describe("The call id"),
    scenario: z.string().describe("The profile"),
    transcript: z
      .array(z.object({ role: z.enum(["agent", "customer"]), content: z.string() }))
      .describe("The normalised turns the model read (kept with the extraction), or the payload's transcript read again"),
    variables: z.array(z.record(z.unknown())).describe("The profile's variable specs, as in the configuration file"),
    context: z
      .object({
        system_prompt: z.string().optional(),
        call: z.object({ created_at: z.string().optional(), timezone: z.string().optional() }).optional(),
        input_variables: z.record(z.unknown()).optional(),
      })
      .describe("What the extraction had besides the transcript: the profile's (or agent's) prompt, the call's date and zone, the input variables"),
    expected: z
      .record(z.unknown())
      .describe("The call's current values as labels to correct; a value the profile's variables no longer define or allow is left out"),
    provisional: z.boolean().describe("true while nobody has reviewed the labels"),
  })
  .openapi("EvalLine");

const CallIdParams = z.object({ id: z.string().describe("The `call_id` POST /v1/calls answered").openapi({ example: DELIVERED.call_id }) });

const callNotFound = errorResponse("No call has this id.", [{ code: "not_found", message: 'No call with id "call_nope"' }]);

export function callsApiDocs(options: { auth: boolean; rateLimited: boolean }): ApiDocs {
  return (registry) => {
    const payloads = SOURCES.map((source) =>
      registry.register(
        `${source.name[0]!.toUpperCase()}${source.name.slice(1)}Payload`,
        source.schema.openapi({ description: `${source.name}'s post-call payload, as Debrief reads it; every other field is kept and sent on unchanged.` }),
      ),
    );
    const guards = guardResponses(options);

    registry.registerPath({
      method: "post",
      path: "/v1/calls",
      operationId: "acceptCall",
      tags: ["Calls"],
      summary: "Accept a voice platform's post-call webhook: extract it under a profile, then deliver it",
      description:
        "Point the voice platform's post-call webhook here. The profile's `source` (or, with `auto`, the payload's markers) says which " +
        "platform's shape it is: Autocalls, Thoughtly, Vapi (`end-of-call-report`), Retell (`call_ended`, `call_analyzed`), ElevenLabs " +
        "(`post_call_transcription`), Bland or Synthflow. The platforms' other events are answered 200 `{ignored: true}` and not stored. " +
        "With `inbound.secret` in the profile, the platform's own signature on the raw body is required (and replaces the API key); with " +
        "`inbound.url_token`, `?token=` does. The call is stored and answered at once (202); extraction and delivery run in the " +
        "background, with retries. The transcript is checked now, as POST /v1/extract would check it, so a bad one is a 400 rather than " +
        "a stored failure. The same platform call id again under the same profile is answered 200 with the call's current state.",
      request: {
        query: z.object({
          profile: z.string().describe("The profile (in DEBRIEF_CONFIG) that says what to extract and where to send it").openapi({ example: "booking" }),
          token: z.string().optional().describe("The profile's inbound.url_token, for platforms that can neither sign nor send a header"),
        }),
        body: {
          required: true,
          content: { "application/json": { schema: z.union(payloads as [z.ZodTypeAny, z.ZodTypeAny, ...z.ZodTypeAny[]]), example: PAYLOAD_EXAMPLE } },
        },
      },
      responses: {
        "202": {
          description: "Stored: extraction starts now (or, for a call a gate skips, never)",
          content: {
            "application/json": {
              schema: CallAcceptedSchema,
              examples: {
                accepted: { summary: "A completed call, to be extracted", value: { call_id: DELIVERED.call_id, state: "accepted" } },
                skipped: {
                  summary: "A call that did not complete, or that a gate (min_duration_s, min_customer_turns, skip_ended_reasons) skips",
                  value: { call_id: "call_3f9b2d7e0a1c4e5b8d6a2c9f1e0b7d4a", state: "skipped" },
                },
              },
            },
          },
        },
        "200": {
          description: "A duplicate (this profile already has this platform call), or one of the platform's other events, acknowledged",
          content: {
            "application/json": {
              schema: z.union([CallDuplicateSchema, CallIgnoredSchema]),
              examples: {
                duplicate: { summary: "A platform retrying a call", value: { call_id: DELIVERED.call_id, state: "delivered", duplicate: true } },
                ignored: {
                  summary: "A Vapi status update",
                  value: { ignored: true, reason: "vapi status-update message: only end-of-call-report carries a finished call" },
                },
              },
            },
          },
        },
        "400": errorResponse(
          "No or an unknown `profile`; the body is not JSON or does not decode, or is not an object; no platform's (or not the profile " +
            "source's) post-call shape, with what each platform's shape lacks in details; a field or the transcript cannot be read; or the " +
            "call could never be extracted under its profile (each problem in details): checked as `POST /v1/extract` checks, prompt budget " +
            "included, so such a call is never stored.",
          [
            {
              code: "unknown_payload_shape",
              message: "The payload is not a post-call payload of any supported platform (autocalls, thoughtly, vapi, retell, elevenlabs, bland, synthflow)",
              details: [
                { path: "message.type", source: "vapi", message: 'vapi: expected message.type (a server message, "end-of-call-report" for a finished call)' },
                { path: "event", source: "retell", message: 'retell: expected event ("call_ended" or "call_analyzed") with call.call_id' },
                { path: "transcript", source: "autocalls", message: "autocalls: expected transcript (a string or an array of turns)" },
              ],
            },
            { code: "invalid_request", message: "The call's transcript cannot be read", details: [{ path: "message.artifact.messages[4]", message: "turn is in no known shape" }] },
            INVALID_JSON_EXAMPLE,
            INVALID_BODY_EXAMPLE,
            PROMPT_BUDGET_EXAMPLE,
          ],
        ),
        ...guards,
        // After the guards: this route's 401 also covers the platforms' signatures and URL tokens.
        "401": errorResponse(
          "The profile has inbound.secret and the platform's signature is missing, stale or wrong; or a URL token is wrong" +
            (options.auth ? "; or, for a profile without inbound, no valid API key." : "."),
          [
            {
              code: "invalid_signature",
              message: "The retell signature did not verify (stale timestamp); expected X-Retell-Signature: v=<unix ms>,d=<hex HMAC-SHA256(key=API key, rawBody + unix ms)>",
            },
            { code: "unauthorized", message: 'The token is missing or not valid for profile "booking": send the URL with ?token= as configured' },
          ],
          options.auth ? { "WWW-Authenticate": { schema: { type: "string", example: "Bearer" } } } : undefined,
        ),
        ...bodyParserResponses(),
      },
    });

    const q = ListCallsQuerySchema.shape;
    registry.registerPath({
      method: "get",
      path: "/v1/calls",
      operationId: "listCalls",
      tags: ["Calls"],
      summary: "List calls, newest first, with filters and cursor pagination",
      description:
        "Every filter is optional and they combine (AND). A page holds at most `limit` calls; `next_cursor` continues it. A cursor is a " +
        "position, not an offset: calls that arrive between two pages are newer than it and never shift a page, so nothing repeats or is " +
        "skipped. It is signed and tied to its filters: one altered, or used with other filters, is `400 invalid_cursor`. " +
        "`state` is the one list of call states (see CallState); `destination` finds the calls routed to (or skipped for) a destination.",
      request: {
        query: ListCallsQuerySchema.extend({
          profile: q.profile.describe("Only calls under this profile"),
          source: q.source.describe("Only calls from this platform"),
          state: q.state.describe(`Only calls in one of these states; repeat it for several: \`?state=extraction_failed&state=delivery_failed\`. One of ${CALL_STATES.join(", ")}`),
          external_id: q.external_id.describe("Only the call(s) with this platform call id (one per profile)"),
          since: q.since.describe("Only calls accepted at or after this ISO 8601 instant"),
          until: q.until.describe("Only calls accepted before this ISO 8601 instant"),
          destination: q.destination.describe("Only calls with a fate for this destination: routed to it, or skipped for it"),
          limit: q.limit.describe(`Calls per page (default 50, at most ${MAX_CALLS_PER_PAGE})`),
          cursor: q.cursor.describe("The previous page's next_cursor"),
        }),
      },
      responses: {
        "200": {
          description: "A page of calls",
          content: {
            "application/json": {
              schema: CallListSchema,
              example: {
                calls: [summaryOf(DELIVERY_FAILED_CALL), summaryOf(DELIVERED_CALL)],
                next_cursor: "WzE3MzY5Mzk0NzgxMTQsImNhbGxfN2UyYTljIiwiOWYzYjJkN2UwYTFjNGU1YiJd.q8Zf0kM1c2VbYQx9w3d7Lg",
              },
            },
          },
        },
        "400": errorResponse("A query parameter is not valid or not one of this route's (each one in details), or the cursor is.", [
          {
            code: "invalid_request",
            message: 'Invalid query parameter "state[0]": state[0] must be one of accepted, extracting, extraction_failed, skipped, needs_review, extracted, delivering, delivered, delivery_failed',
            details: [{ path: "state[0]", message: `must be one of ${CALL_STATES.join(", ")}` }],
          },
          {
            code: "invalid_cursor",
            message: "The cursor is not one this service wrote: pass next_cursor exactly as a previous page gave it",
            details: [{ path: "cursor", message: "The cursor is not one this service wrote: pass next_cursor exactly as a previous page gave it" }],
          },
        ]),
        ...guards,
      },
    });

    const e = ExportCallsQuerySchema.shape;
    registry.registerPath({
      method: "get",
      path: "/v1/calls/export",
      operationId: "exportCalls",
      tags: ["Calls"],
      summary: "Export a profile's extracted calls as an eval dataset (JSONL), to correct and run with `npm run eval`",
      description:
        "Streams one line per extracted call of the profile, newest first, in the eval harness's dataset format: production calls become " +
        "a regression set. Correct the labels (`expected`), set `provisional` to false once reviewed, and run " +
        "`npm run eval -- --dataset that.jsonl`. The store is read a page at a time and the answer written as the client reads it, so " +
        "any number of calls is exported in bounded memory.",
      request: {
        query: ExportCallsQuerySchema.extend({
          profile: e.profile.describe("The profile whose calls to export (its name becomes each line's `scenario`)").openapi({ example: "booking" }),
          format: e.format.describe("`eval`: the eval harness's JSONL (the only format)"),
          since: e.since.describe("Only calls accepted at or after this ISO 8601 instant"),
          until: e.until.describe("Only calls accepted before this ISO 8601 instant"),
        }),
      },
      responses: {
        "200": {
          description: "One EvalLine per line (empty when no call matches)",
          content: {
            "application/x-ndjson": {
              schema: EvalLineSchema,
              example: {
                id: DELIVERED_CALL.call_id,
                scenario: "booking",
                transcript: [
                  { role: "agent", content: "Hi, this is Sarah from Acme. How can I help?" },
                  { role: "customer", content: "I'd like a demo of the Pro plan, ideally next Wednesday." },
                ],
                variables: [{ name: "plan", type: "enum", options: ["basic", "pro"], description: "The plan the customer wants a demo of" }],
                context: { call: { created_at: "2025-01-15T10:30:00.000Z" } },
                expected: { status: true, summary: "John booked a Pro plan demo for January 22.", plan: "pro" },
                provisional: true,
              },
            },
          },
        },
        "400": errorResponse("No or an unknown `profile`, a `format` other than eval, a bad `since` or `until`, or a parameter this route does not take.", [
          {
            code: "invalid_request",
            message: 'Invalid query parameter "format": format must be "eval" (the eval harness\'s JSONL): the only export format',
            details: [{ path: "format", message: 'must be "eval" (the eval harness\'s JSONL): the only export format' }],
          },
          {
            code: "invalid_request",
            message: 'No profile named "bookings"',
            details: [{ path: "profile", message: "must name a configured profile: booking" }],
          },
        ]),
        ...guards,
      },
    });

    registry.registerPath({
      method: "get",
      path: "/v1/calls/{id}",
      operationId: "getCall",
      tags: ["Calls"],
      summary: "A call: its state, values with their evidence, transcript, and every destination's fate with every delivery",
      description:
        "Answers \"why didn't my CRM get it?\": `destinations` lists every destination of the profile with its latest fate (delivered, pending, " +
        "failed, or skipped with the reason) and every delivery to it with every attempt. `evidence` turn indexes point into `transcript`.",
      request: { params: CallIdParams },
      responses: {
        "200": {
          description: "The call",
          content: {
            "application/json": {
              schema: CallSchema,
              examples: {
                delivered: { summary: "Extracted and delivered; Slack's `when` was false", value: DELIVERED_CALL },
                delivery_failed: { summary: "The CRM's transform failed on this call, and Slack's delivery was dead-lettered", value: DELIVERY_FAILED_CALL },
                needs_review: { summary: "Held for review: the model was unsure of the demo date (POST /v1/calls/{id}/review decides)", value: HELD_CALL },
                extraction_failed: { summary: "Out of extraction attempts: replay it with POST /v1/calls/{id}/retry", value: FAILED_CALL },
              },
            },
          },
        },
        "404": callNotFound,
        ...guards,
      },
    });

    registry.registerPath({
      method: "get",
      path: "/v1/callers/{phone}",
      operationId: "getCaller",
      tags: ["Calls"],
      summary: "Caller memory: what is known of a phone number, for a platform's pre-call webhook",
      description:
        "The number is read as E.164 (`+15551234567`, URL-encoded as `%2B15551234567` or not); one without a country code is read in the " +
        "profile's `default_region`, and without one it is a 400. Answers 200 for a number never seen (`known: false`), with the same " +
        "`dynamic_variables` keys, blank.",
      request: {
        params: z.object({ phone: z.string().describe("The caller's number").openapi({ example: "+15555550123" }) }),
        query: CallerQuerySchema.extend({
          profile: CallerQuerySchema.shape.profile.describe("The profile whose calls and variables to look at").openapi({ example: "booking" }),
          limit: CallerQuerySchema.shape.limit.describe(`Recent calls to list (default 10, at most ${MAX_CALLER_CALLS})`),
        }),
      },
      responses: {
        "200": {
          description: "What is known of the number",
          content: {
            "application/json": {
              schema: CallerSchema,
              example: {
                phone: "+15555550123",
                profile: "booking",
                known: true,
                latest: { call_id: DELIVERED_CALL.call_id, created_at: DELIVERED_CALL.created_at, extracted_variables: DELIVERED_CALL.extracted_variables! },
                dynamic_variables: {
                  status: "true",
                  summary: "John booked a Pro plan demo for January 22.",
                  plan: "pro",
                  demo_date: "2025-01-22",
                  debrief_known_caller: "true",
                  debrief_last_call_at: DELIVERED_CALL.created_at,
                },
                calls: [summaryOf(DELIVERED_CALL)],
              },
            },
          },
        },
        "400": errorResponse("No or an unknown `profile`, a bad `limit`, or a phone number that cannot be read (without a country code, and no default_region).", [
          {
            code: "invalid_request",
            message:
              'The phone number has no country code, and profile "booking" has no default_region: send it in E.164 (+15551234567) or set the profile\'s default_region',
            details: [
              {
                path: "phone",
                message: 'has no country code, and profile "booking" has no default_region: send it in E.164 (+15551234567) or set the profile\'s default_region',
              },
            ],
          },
        ]),
        ...guards,
      },
    });

    registry.registerPath({
      method: "post",
      path: "/v1/calls/{id}/retry",
      operationId: "retryCall",
      tags: ["Calls"],
      summary: "Replay a failed extraction now",
      description:
        "A call in `extraction_failed`, or one a destination's expression failed on (a `when_failed` or `transform_failed` fate: fix the " +
        "expression and restart first), is extracted and routed again; its attempts start again, and destinations that already have their " +
        "delivery are not sent it twice. Send a dead-lettered or waiting delivery with POST /v1/deliveries/{id}/retry.",
      request: { params: CallIdParams },
      responses: {
        "200": {
          description: "Accepted again: extraction starts now",
          content: { "application/json": { schema: CallReplayedSchema, example: { call_id: FAILED_CALL.call_id, state: "accepted" } } },
        },
        "404": callNotFound,
        "409": errorResponse("The call is neither in extraction_failed nor routed with a failed expression.", [
          { code: "conflict", message: "Only a call in extraction_failed can be replayed; this one is extracted" },
        ]),
        ...unusedBodyResponses(),
        ...guards,
      },
    });

    registry.registerPath({
      method: "post",
      path: "/v1/calls/{id}/review",
      operationId: "reviewCall",
      tags: ["Calls"],
      summary: "Decide on a call held for review: deliver it (with corrections) or skip it",
      description:
        "A profile with `review.hold: true` keeps a call with a flagged value in `needs_review` (the queue: GET /v1/calls?state=needs_review), " +
        "delivered nowhere. `approve: true` routes it to its destinations now, with `values` applied (each validated as extraction " +
        "validates it); its payload carries `debrief.event: \"call.reviewed\"` and `debrief.reviewed: {at, corrected}`, and it is not " +
        "extracted again. `approve: false` skips it, with `reason` as the call's reason. What the reviewer did is kept on the call " +
        "(`reviewed` in GET /v1/calls/{id}). Only one decision is ever taken: of two reviews at once, one wins and the other is a 409.",
      request: {
        params: CallIdParams,
        body: {
          required: true,
          content: {
            "application/json": {
              schema: ReviewRequestSchema,
              examples: {
                approve: { summary: "Deliver it, with the date the reviewer heard", value: { approve: true, values: { demo_date: "2025-01-23" } } },
                skip: { summary: "Skip it", value: { approve: false, reason: "test call from our own team" } },
              },
            },
          },
        },
      },
      responses: {
        "200": {
          description: "Decided: approved (routed now) or skipped",
          content: {
            "application/json": {
              schema: CallReviewedSchema,
              examples: {
                approved: {
                  summary: "Approved with one correction",
                  value: {
                    call_id: HELD_CALL.call_id,
                    state: "accepted",
                    reviewed: { approved: true, at: "2025-01-15T11:31:40.052Z", corrected: ["demo_date"], values: { demo_date: "2025-01-23" }, reason: null },
                  },
                },
                skipped: {
                  summary: "Skipped",
                  value: {
                    call_id: HELD_CALL.call_id,
                    state: "skipped",
                    reviewed: { approved: false, at: "2025-01-15T11:31:40.052Z", corrected: [], values: {}, reason: "test call from our own team" },
                  },
                },
              },
            },
          },
        },
        "400": errorResponse(
          "The body is not a review (each offending field in details): `approve` missing, an unknown key, no `reason` with approve: false, " +
            "or a correction that names no variable of the profile or is not a valid value of its type (`values.<name>`).",
          [
            {
              code: "invalid_request",
              message: "A correction is not a valid value of its variable",
              details: [
                { path: "values.demo_date", message: "must be a calendar date YYYY-MM-DD" },
                { path: "values.budjet", message: "is not a variable of this profile; expected one of status, summary, plan, demo_date" },
              ],
            },
            INVALID_JSON_EXAMPLE,
          ],
        ),
        "404": callNotFound,
        "409": errorResponse(
          "The call is not in needs_review (never held, or already decided: another review may have just won); or, to approve it, its profile is no longer configured.",
          [
            { code: "not_in_review", message: `Only a call in needs_review can be reviewed; call "${HELD_CALL.call_id}" is delivered`, details: [{ path: "state", message: "is delivered, not needs_review" }] },
            { code: "profile_missing", message: 'Profile "booking" is no longer configured: the call can be skipped, not delivered' },
          ],
        ),
        ...bodyParserResponses(),
        ...guards,
      },
    });

    registry.registerPath({
      method: "post",
      path: "/v1/calls/{id}/reextract",
      operationId: "reextractCall",
      tags: ["Calls"],
      summary: "Re-extract a call under its profile's current version",
      description:
        "Runs an extracted call again under its profile as it is now (after a change to its variables, system prompt or model). When the " +
        "profile's version has not changed since the call's current extraction, the answer is that extraction, with no LLM call. " +
        "`dry_run` answers each variable before and after and the usage, and changes nothing. Otherwise the new extraction is stored in the " +
        "call's history (GET /v1/calls/{id} `extraction.history`) and becomes current; with `redeliver` it is sent to the profile's " +
        "destinations as a new event: a new `webhook-id`, `debrief.event: \"call.reextracted\"` and `debrief.previous_values` (what they were sent before).",
      request: {
        params: CallIdParams,
        body: { required: false, content: { "application/json": { schema: ReextractBodySchema, examples: { dry_run: { value: { dry_run: true } }, redeliver: { value: { redeliver: true } } } } } },
      },
      responses: {
        "200": {
          description: "What changed; stored (and with `redeliver`, the delivery event) unless a dry run",
          content: { "application/json": { schema: ReextractResultSchema, example: REEXTRACT_EXAMPLE } },
        },
        "400": errorResponse("A field is not a boolean, or unknown; or the body is not valid JSON.", [
          { code: "invalid_request", message: "Invalid request body (dry_run): dry_run Expected boolean, received string", details: [{ path: "dry_run", message: "Expected boolean, received string" }] },
          INVALID_JSON_EXAMPLE,
        ]),
        "404": callNotFound,
        "409": errorResponse("The call has no extraction to start from, or its profile is no longer configured.", [
          { code: "call_not_extracted", message: 'Call "call_7e2a9c4b1d0f4a3e8b6c5d2f1a9e0b7c" is skipped: only an extracted call can be re-extracted' },
          { code: "profile_missing", message: 'Profile "booking" is no longer configured' },
        ]),
        ...bodyParserResponses(),
        ...guards,
      },
    });

    registry.registerPath({
      method: "post",
      path: "/v1/admin/reload",
      operationId: "reloadConfig",
      tags: ["Admin"],
      summary: "Reload the configuration file without a restart",
      description:
        "Reads DEBRIEF_CONFIG again (as SIGHUP does). A valid file takes effect for the next request, call and delivery; work in flight " +
        "finishes under the configuration it started with. An invalid file changes nothing: the answer is 422 naming every problem in it. " +
        "On PostgreSQL the reload reaches every instance sharing the database (NOTIFY); on SQLite it is this process only.",
      responses: {
        "200": { description: "The file is in use", content: { "application/json": { schema: ReloadResultSchema, example: RELOAD_EXAMPLE } } },
        "400": errorResponse("The body has fields (none are taken), or is not valid JSON.", [
          { code: "invalid_request", message: "Invalid request body (force): force unknown key", details: [{ path: "force", message: "unknown key" }] },
          INVALID_JSON_EXAMPLE,
        ]),
        "422": errorResponse("The new file is invalid; the previous configuration keeps running. `details` lists every problem.", [
          {
            code: "invalid_config",
            message: "The configuration file has 2 problem(s); the previous configuration keeps running",
            details: [
              { path: "profiles.booking.timezone", message: "must be an IANA time zone such as America/New_York" },
              { path: "profiles.support.destinations[0]", message: 'no destination named "hubspot" is configured' },
            ],
          },
        ]),
        ...bodyParserResponses(),
        ...guards,
      },
    });
  };
}

export const ReextractResultSchema = z
  .object({
    call_id: z.string(),
    dry_run: z.boolean(),
    profile_version: z.string().describe("The profile's version the new values were extracted under (its current one)"),
    stored: z.boolean().describe("False for a dry run"),
    event: z.number().int().nullable().describe("The delivery event (2, 3…) when redelivered; null otherwise"),
    held: z
      .boolean()
      .describe(
        "True when a redelivery was held for review (the profile holds calls and a value is flagged): the call is in needs_review, and POST /v1/calls/{id}/review delivers it as `call.reviewed`",
      ),
    changed: z.array(z.string()).describe("The variables whose value differs"),
    variables: z.record(z.object({ before: z.unknown(), after: z.unknown(), changed: z.boolean() })).describe("Each variable's value before and after"),
    usage: z
      .object({ prompt_tokens: z.number().int(), completion_tokens: z.number().int(), cached: z.boolean() })
      .describe("Tokens this re-extraction used: 0 and cached when the profile had not changed or the result cache answered"),
  })
  .openapi("ReextractResult");

export const ReloadResultSchema = z
  .object({
    reloaded: z.literal(true),
    changed: z.boolean().describe("False when the file was the one already running"),
    profiles: z
      .array(z.object({ name: z.string(), version: z.string().describe("The profile's version: what each extraction records"), destinations: z.array(z.string()) }))
      .describe("Every profile, in the file's order"),
    destinations: z.array(z.string()),
  })
  .openapi("ReloadResult");

const reextractMatches: SameShape<z.infer<typeof ReextractResultSchema>, ReturnType<typeof reextractView>> = true;
const reloadMatches: SameShape<z.infer<typeof ReloadResultSchema>, ReturnType<typeof reloadView>> = true;
void [reextractMatches, reloadMatches];

const REEXTRACT_EXAMPLE: z.infer<typeof ReextractResultSchema> = {
  call_id: "call_5b0e1c9a7d2f4e8b9a6c3d1e0f7b2a4c",
  dry_run: true,
  profile_version: "9c1e4b7a20d3",
  stored: false,
  event: null,
  held: false,
  changed: ["plan"],
  variables: {
    status: { before: true, after: true, changed: false },
    summary: { before: "John booked a Pro plan demo for January 22.", after: "John booked a Pro plan demo for January 22.", changed: false },
    plan: { before: "pro", after: "pro_annual", changed: true },
  },
  usage: { prompt_tokens: 651, completion_tokens: 61, cached: false },
};

const RELOAD_EXAMPLE: z.infer<typeof ReloadResultSchema> = {
  reloaded: true,
  changed: true,
  profiles: [{ name: "booking", version: "9c1e4b7a20d3", destinations: ["crm", "slack_qualified"] }],
  destinations: ["crm", "slack_qualified"],
};
