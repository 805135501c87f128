// The calls API in the OpenAPI document: accept a post-call payload, look a call up, replay a failed extraction.
import { z } from "zod";
import { DELIVERY_EXAMPLES, DeliveryWithAttemptsComponent } from "../delivery/index.js";
import { bodyParserResponses, errorResponse, guardResponses, INVALID_BODY_EXAMPLE, INVALID_JSON_EXAMPLE, PROMPT_BUDGET_EXAMPLE, unusedBodyResponses, type ApiDocs, type SameShape } from "../http/openapi.js";
import { CallPayloadSchema, type CallPayload } from "./payload.js";
import type { describeCall } from "./router.js";
import { CALL_STATES } from "./store.js";

/** Once extracted, a call's state is its deliveries' state (derived on read by the router). */
const PUBLIC_CALL_STATES = [...CALL_STATES, "delivering", "delivered", "delivery_failed"] as const;

const CallStateSchema = z
  .enum(PUBLIC_CALL_STATES)
  .describe(
    "accepted → extracting (retrying after a failure) → extracted → delivering → delivered, or delivery_failed when a delivery was " +
      "dead-lettered; extraction_failed when extraction ran out of attempts (replay it); skipped when the call did not complete",
  );

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

export const CallSchema = z
  .object({
    call_id: z.string(),
    profile: z.string(),
    external_id: z.string().describe("The payload's `id`, or call_id when it had none: a second call with the same one under this profile is a duplicate"),
    state: CallStateSchema,
    reason: z.string().nullable().describe("skipped: why; extracting or extraction_failed: the last error's code"),
    attempts: z.number().int().describe("Extraction attempts in the current run; a replay starts again at 0"),
    next_attempt_at: z.string().nullable().describe("ISO 8601 time of the next extraction attempt; null when none is due"),
    last_error: z.string().nullable().describe("The last failed extraction attempt's message"),
    created_at: z.string(),
    updated_at: z.string(),
    extracted_variables: z
      .record(z.unknown())
      .nullable()
      .describe("Once extracted: one key per profile variable (and the defaults status and summary), null for what the call never said"),
    meta: z.record(z.unknown()).nullable().describe("Once extracted: the extraction's `meta`, as in the POST /v1/extract response"),
    delivery_errors: z
      .array(z.object({ destination: z.string(), path: z.string(), message: z.string() }))
      .describe(
        "Destinations whose `when` or `transform` failed on this call: nothing was enqueued for them, and the call is delivery_failed. Fix the expression, restart, and replay the call with POST /v1/calls/{id}/retry",
      ),
    deliveries: z.array(DeliveryWithAttemptsComponent).describe("One per destination whose `when` held, each with its attempt history"),
  })
  .openapi("Call");

// The document's schema and what the route answers must stay one shape: this fails to compile otherwise. `state` is
// left out because the router types it as a string; the tests check it answers only the documented states.
const callMatches: SameShape<Omit<z.infer<typeof CallSchema>, "state">, Omit<ReturnType<typeof describeCall>, "state">> = true;
void callMatches;

const { delivered: DELIVERED } = DELIVERY_EXAMPLES;

const PAYLOAD_EXAMPLE: CallPayload = {
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
  external_id: "48213",
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
    latency_ms: 2917,
    extracted_at: "2025-01-15T10:32:09.388Z",
  },
  delivery_errors: [],
  deliveries: [DELIVERED],
};

const FAILED_CALL: z.infer<typeof CallSchema> = {
  call_id: "call_7e2a9c4b1d0f4a3e8b6c5d2f1a9e0b7c",
  profile: "booking",
  external_id: "48240",
  state: "extraction_failed",
  reason: "llm_unavailable",
  attempts: 30,
  next_attempt_at: null,
  last_error: "The LLM is unavailable: 503 Service Unavailable",
  created_at: "2025-01-15T10:40:12.004Z",
  updated_at: "2025-01-16T09:12:47.631Z",
  extracted_variables: null,
  meta: null,
  delivery_errors: [],
  deliveries: [],
};

const CallIdParams = z.object({ id: z.string().describe("The `call_id` POST /v1/calls answered").openapi({ example: DELIVERED.call_id }) });

const callNotFound = errorResponse("No call has this id.", [{ code: "not_found", message: 'No call with id "call_nope"' }]);

export function callsApiDocs(options: { auth: boolean; rateLimited: boolean }): ApiDocs {
  return (registry) => {
    const payload = registry.register(
      "CallPayload",
      CallPayloadSchema.openapi({
        description:
          "A voice platform's post-call payload (Autocalls' shape; Thoughtly's transcript array works too). Only the fields listed " +
          "are checked; every other field is kept as it came and sent on to the destinations unchanged.",
      }),
    );
    const guards = guardResponses(options);

    registry.registerPath({
      method: "post",
      path: "/v1/calls",
      operationId: "acceptCall",
      tags: ["Calls"],
      summary: "Accept a post-call payload: extract it under a profile, then deliver it",
      description:
        "Point the voice platform's post-call webhook here. The call is stored and answered at once (202); extraction and delivery " +
        "run in the background, with retries. The transcript is checked now, as POST /v1/extract would check it, so a bad one is a 400 " +
        "rather than a stored failure. Sending the same `id` again under the same profile is answered 200 with the call's current state.",
      request: {
        query: z.object({ profile: z.string().describe("The profile (in DEBRIEF_CONFIG) that says what to extract and where to send it").openapi({ example: "booking" }) }),
        body: { required: true, content: { "application/json": { schema: payload, example: PAYLOAD_EXAMPLE } } },
      },
      responses: {
        "202": {
          description: "Stored: extraction starts now (or, for a call that did not complete, never)",
          content: {
            "application/json": {
              schema: CallAcceptedSchema,
              examples: {
                accepted: { summary: "A completed call, to be extracted", value: { call_id: DELIVERED.call_id, state: "accepted" } },
                skipped: { summary: "A call that did not complete (e.g. status busy)", value: { call_id: "call_3f9b2d7e0a1c4e5b8d6a2c9f1e0b7d4a", state: "skipped" } },
              },
            },
          },
        },
        "200": {
          description: "A duplicate: this profile already has a call with this `id`",
          content: {
            "application/json": { schema: CallDuplicateSchema, example: { call_id: DELIVERED.call_id, state: "delivered", duplicate: true } },
          },
        },
        "400": errorResponse(
          "No or an unknown `profile`; the body is not JSON or does not decode, is not an object, or not a post-call payload; its transcript " +
            "cannot be read; or the call could never be extracted under its profile (each problem in details): checked as `POST /v1/extract` " +
            "checks, prompt budget included, so such a call is never stored.",
          [
            {
              code: "invalid_request",
              message: "The call payload is not a post-call payload",
              details: [{ path: "transcript", message: "must be a string or an array of turns: `Speaker: text` lines, or Thoughtly, Autocalls or {role, content} turns" }],
            },
            INVALID_JSON_EXAMPLE,
            INVALID_BODY_EXAMPLE,
            PROMPT_BUDGET_EXAMPLE,
          ],
        ),
        ...guards,
        ...bodyParserResponses(),
      },
    });

    registry.registerPath({
      method: "get",
      path: "/v1/calls/{id}",
      operationId: "getCall",
      tags: ["Calls"],
      summary: "A call: its state, extracted variables and deliveries",
      request: { params: CallIdParams },
      responses: {
        "200": {
          description: "The call",
          content: {
            "application/json": {
              schema: CallSchema,
              examples: {
                delivered: { summary: "Extracted and delivered", value: DELIVERED_CALL },
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
      method: "post",
      path: "/v1/calls/{id}/retry",
      operationId: "retryCall",
      tags: ["Calls"],
      summary: "Replay a failed extraction now",
      description: "Only a call in `extraction_failed` can be replayed; its attempts start again. Replay a failed delivery with POST /v1/deliveries/{id}/retry.",
      request: { params: CallIdParams },
      responses: {
        "200": {
          description: "Accepted again: extraction starts now",
          content: { "application/json": { schema: CallReplayedSchema, example: { call_id: FAILED_CALL.call_id, state: "accepted" } } },
        },
        "404": callNotFound,
        "409": errorResponse("The call is not in extraction_failed.", [
          { code: "conflict", message: "Only a call in extraction_failed can be replayed; this one is extracted" },
        ]),
        ...unusedBodyResponses(),
        ...guards,
      },
    });
  };
}
