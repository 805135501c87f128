// The calls API in the OpenAPI document: accept a post-call payload, list and export calls, look one up with every
// destination's fate, caller memory, replay a failed extraction; then review, re-extraction and reload, each in its file.
import { z } from "zod";
import { reloadApiDocs } from "../../../configuration/reload-docs.js";
import { auditApiDocs } from "./audit.js";
import { DELIVERY_EXAMPLES } from "../../../delivery/index.js";
import {
  bodyParserResponses,
  errorResponse,
  guardResponses,
  INVALID_BODY_EXAMPLE,
  INVALID_JSON_EXAMPLE,
  PROMPT_BUDGET_EXAMPLE,
  unusedBodyResponses,
  type ApiDocs,
  profileNotFoundResponse,
} from "../../../http/openapi.js";
import { SOURCES } from "../../../sources/index.js";
import { CALL_STATES } from "../../fates.js";
import { CallerQuerySchema, ExportCallsQuerySchema, ListCallsQuerySchema, MAX_CALLER_CALLS, MAX_CALLS_PER_PAGE } from "../read-router.js";
import {
  CallAcceptedSchema,
  CallDuplicateSchema,
  CallerSchema,
  CallIdParams,
  CallIgnoredSchema,
  CallListSchema,
  callNotFound,
  CallReplayedSchema,
  CallSchema,
  EvalLineSchema,
} from "./call-schemas.js";
import { DELIVERED_CALL, DELIVERY_FAILED_CALL, FAILED_CALL, HELD_CALL, listItemOf, PAYLOAD_EXAMPLE, summaryOf } from "./examples.js";
import { reextractApiDocs } from "./reextract.js";
import { reviewApiDocs } from "./reviews.js";

const { delivered: DELIVERED } = DELIVERY_EXAMPLES;

export function callsApiDocs(options: { auth: boolean; rateLimited: boolean }): ApiDocs {
  // The reload route is served with the calls API (only when a pipeline runs), so it is described with it, last:
  // the document lists operations in the order they are registered.
  const rest = [reviewApiDocs(options), reextractApiDocs(options), reloadApiDocs(options), auditApiDocs(options)];
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
          where: q.where,
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
                calls: [listItemOf(DELIVERY_FAILED_CALL), listItemOf(DELIVERED_CALL)],
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
            code: "invalid_request",
            message: 'Invalid query parameter "where": "servce_type" is not a variable of this profile, nor a path inside one (e.g. items[].size)',
            details: [{ path: "where", message: '"servce_type" is not a variable of this profile, nor a path inside one (e.g. items[].size)' }],
          },
          {
            code: "invalid_cursor",
            message: "The cursor is not one this service wrote: pass next_cursor exactly as a previous page gave it",
            details: [{ path: "cursor", message: "The cursor is not one this service wrote: pass next_cursor exactly as a previous page gave it" }],
          },
        ]),
        "404": profileNotFoundResponse(),
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
        "400": errorResponse("No `profile`, a `format` other than eval, a bad `since` or `until`, or a parameter this route does not take.", [
          {
            code: "invalid_request",
            message: 'Invalid query parameter "format": format must be "eval" (the eval harness\'s JSONL): the only export format',
            details: [{ path: "format", message: 'must be "eval" (the eval harness\'s JSONL): the only export format' }],
          },
        ]),
        "404": profileNotFoundResponse(),
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
        "404": profileNotFoundResponse(),
        "400": errorResponse("No `profile`, a bad `limit`, or a phone number that cannot be read (without a country code, and no default_region).", [
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

    for (const describe of rest) describe(registry);
  };
}
