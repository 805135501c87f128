// The calls API in the OpenAPI document: accept a post-call payload, look a call up, replay a failed extraction.
import { z } from "zod";
import { DELIVERY_EXAMPLES, DeliveryWithAttemptsComponent } from "../delivery/index.js";
import { bodyParserResponses, errorResponse, guardResponses, INVALID_BODY_EXAMPLE, INVALID_JSON_EXAMPLE, PROMPT_BUDGET_EXAMPLE, unusedBodyResponses, type ApiDocs, type SameShape } from "../http/openapi.js";
import { SOURCE_NAMES, SOURCES, type AutocallsPayload } from "../sources/index.js";
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

export const CallSchema = z
  .object({
    call_id: z.string(),
    profile: z.string(),
    source: z.enum(SOURCE_NAMES).describe("The platform that posted the call"),
    external_id: z
      .string()
      .describe("The platform's id of the call (Autocalls `id`, Vapi `call.id`, Retell `call_id`…), or call_id when it had none: a second call with the same one under this profile is a duplicate"),
    call: CallFactsSchema.nullable().describe("What the platform said of the call; null for calls stored before platforms were told apart"),
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
const callMatches: SameShape<Omit<z.infer<typeof CallSchema>, "state">, Omit<Awaited<ReturnType<typeof describeCall>>, "state">> = true;
void callMatches;

const { delivered: DELIVERED } = DELIVERY_EXAMPLES;

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
