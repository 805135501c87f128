// The calls API's shapes in the OpenAPI document: what its routes answer, each checked against the route's own type,
// and the call id every per-call operation takes.
import { z } from "zod";
import { DELIVERY_EXAMPLES, DeliveryWithAttemptsComponent } from "../../../delivery/index.js";
import { ReviewSchema } from "../../../extract/index.js";
import { errorResponse, type SameShape } from "../../../http/openapi.js";
import { SOURCE_NAMES } from "../../../sources/index.js";
import { MAX_HISTORY_SHOWN, type describeCall } from "../call-view.js";
import type { describeCaller } from "../caller-memory.js";
import { CALL_STATES, FATE_REASONS, FATES } from "../../fates.js";
import { EXTRACTION_TRIGGERS } from "../../store/port.js";
import type { listCalls } from "../read-router.js";

const CallStateSchema = z
  .enum(CALL_STATES)
  .describe(
    "accepted: stored, waiting for (or in) its first extraction attempt; waiting_for_budget: its profile's daily LLM budget is spent " +
      "(`budget.on_exceeded: wait`): extracted once the profile's next day starts or a reload raises the budget, nobody has to act; " +
      "extracting: an attempt failed, retrying with backoff; " +
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

const CallReviewSchema = z
  .object({
    approved: z.boolean().describe("true: delivered with the corrections; false: skipped"),
    at: z.string().describe("When the reviewer decided (ISO 8601)"),
    corrected: z
      .array(z.string())
      .describe("Where the reviewer changed the model's value: a flat variable's name, a nested one's leaf paths (`items[1].quantity`); a value sent equal to the model's is not a correction"),
    values: z.record(z.unknown()).describe("The corrected variables' whole values by name (a nested one's with every leaf); `extracted_variables` keeps the model's own"),
    reason: z.string().nullable().describe("Why the reviewer skipped the call; null when approved"),
    by: z.string().optional().describe("The reviewer's key name; absent without auth"),
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
const CallFactsSchema = z
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
    reason: z.string().nullable().describe("skipped: why; extracting or extraction_failed: the last error's code; waiting_for_budget: daily_budget_reached"),
    created_at: z.string().describe("When Debrief accepted the call (ISO 8601): the list's order, and what since and until compare"),
    updated_at: z.string(),
  })
  .openapi("CallSummary");

/** A destination's latest fate as the calls list shows it (the call view adds every delivery). */
const FateReasonSchema = z
  .object({
    code: z
      .enum(FATE_REASONS)
      .describe(
        "when_false: its when expression was not true (the message shows the expression and the values it read); when_failed / transform_failed: its expression failed on this call (the call is delivery_failed: fix it and replay the call); " +
          "dead_lettered: out of attempts or a final status; retrying: the last attempt failed and another is scheduled; awaiting_extraction: the call is not extracted yet; " +
          "call_skipped: the call itself was skipped; not_recorded: no fate was kept (a destination added later, or a call routed before fates were kept)",
      ),
    message: z.string(),
  })
  .nullable();

export const CallListItemSchema = CallSummarySchema.extend({
  destinations: z
    .array(
      z.object({
        destination: z.string(),
        fate: z.enum(FATES),
        reason: FateReasonSchema,
      }),
    )
    .describe("Each destination's latest fate as routing recorded it (by name; empty before the call is routed): why a CRM did or did not get the call, without opening it"),
}).openapi("CallListItem");

export const DestinationFateSchema = z
  .object({
    destination: z.string().describe("The destination's name in the configuration file"),
    in_profile: z.boolean().describe("The destination is in the profile's `destinations` now (false: removed since the call was routed to it)"),
    fate: z
      .enum(FATES)
      .describe("delivered: the receiver took it; pending: waiting, in flight, retrying, or (before extraction) not routed yet; failed: dead-lettered; skipped: not sent, and `reason` says why"),
    reason: FateReasonSchema,
    deliveries: z.array(DeliveryWithAttemptsComponent).describe("Every delivery of the call to this destination, oldest first, each with every attempt"),
  })
  .openapi("DestinationFate");

const TranscriptTurnSchema = z.object({
  speaker: z.enum(["agent", "customer"]),
  text: z.string(),
  time: z.string().nullable().describe("ISO 8601 time of the turn when the platform sent one"),
});

const ExtractionHistoryEntrySchema = z.object({
  seq: z.number().int().describe("1, 2, 3… in the order the call's extractions were stored"),
  profile_version: z.string().nullable().describe("The profile's version it ran under; null for an extraction stored before versions existed"),
  trigger: z.enum(EXTRACTION_TRIGGERS).describe("live: the call arriving (or a replay); api: POST /v1/calls/{id}/reextract; backfill: a profile's backfill"),
  event: z.number().int().nullable().describe("The delivery event it was routed as (1: the first extraction); null when it was stored without being delivered"),
  cost_usd: z.number().nullable().describe("What this extraction cost in USD (0 from the cache); null for a model without a price, or one stored before costs were kept"),
  created_at: z.string(),
  extracted_variables: z.record(z.unknown()),
  changed: z
    .array(z.string())
    .nullable()
    .describe(
      "Where the values differ from the entry before it (the next one in this list): a flat variable's name, a nested one's leaf paths (`items[0].quantity`); null for the first",
    ),
  meta: z.record(z.unknown()).describe("Its `meta`, as in the POST /v1/extract response"),
});

const CallExtractionVersionSchema = z
  .object({
    profile_version: z.string().nullable().describe("The profile's version the current values ran under; null for calls extracted before versions existed"),
    cost_usd: z.number().nullable().describe("What the current extraction cost in USD; null when its model has no price or it predates costs"),
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
  calls: z.array(CallListItemSchema).describe("Newest first"),
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

/** The path parameter of every operation on one call. */
export const CallIdParams = z.object({
  id: z.string().describe("The `call_id` POST /v1/calls answered").openapi({ example: DELIVERY_EXAMPLES.delivered.call_id }),
});

/** The 404 of every operation on one call. */
export const callNotFound = errorResponse("No call has this id.", [{ code: "not_found", message: 'No call with id "call_nope"' }]);
