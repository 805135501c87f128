// The deliveries API in the OpenAPI document: list, inspect, replay a dead letter, test a destination.
import { z } from "zod";
import { errorResponse, guardResponses, unusedBodyResponses, type ApiDocs, type SameShape } from "../../http/openapi.js";
import { MAX_LIST_LIMIT } from "../outbox/port.js";
import { ListQuerySchema } from "./router.js";
import { webhookIdFor } from "../signing.js";
import type { TestRequestResult } from "./test-request.js";
import type { destinationsHealth } from "../health.js";
import { DeliverySchema, DeliveryWithAttemptsSchema, type Delivery, type DeliveryWithAttempts } from "../types.js";

// Named components: every schema that embeds one (a call's deliveries) refers to it instead of repeating it.
const DeliveryComponent = DeliverySchema.openapi("Delivery");
export const DeliveryWithAttemptsComponent = DeliveryWithAttemptsSchema.openapi("DeliveryWithAttempts");

/** The 200 body of "Make test request". */
export const TestRequestResultSchema = z
  .object({
    ok: z.boolean().describe("The destination answered 2xx"),
    status: z.number().int().nullable().describe("Its HTTP status; null when no response arrived"),
    latency_ms: z.number().int(),
    body_snippet: z.string().nullable().describe("The start of the response body (2 KB)"),
    error: z.string().nullable().describe("Why no response arrived, or why the sample could not be rendered"),
    webhook_id: z.string().describe("The `webhook-id` the receiver saw, to find the request in its logs"),
  })
  .openapi("TestRequestResult");

export const DestinationHealthSchema = z
  .object({
    name: z.string().describe("The destination's name in the configuration file"),
    configured: z.boolean().describe("Still in the configuration file (false: removed, with deliveries left in the outbox)"),
    host: z.string().nullable().describe("The host its URL points at (never the path or query: those may hold secrets)"),
    pending: z.number().int().describe("Deliveries waiting or in flight now"),
    delivered_24h: z.number().int().describe("Deliveries delivered in the last 24 hours"),
    failed_24h: z.number().int().describe("Deliveries dead-lettered in the last 24 hours (and not sent again since)"),
    consecutive_failures: z
      .number()
      .int()
      .describe("Failed attempts (retried or final) since its last delivered one; 0 once one gets through. Also the debrief_destination_consecutive_failures gauge"),
    last_error: z.string().nullable().describe("The last failed attempt's error"),
    last_error_at: z.string().nullable(),
    last_delivered_at: z.string().nullable(),
  })
  .openapi("DestinationHealth");

export const DestinationsHealthSchema = z.object({
  since: z.string().describe("The start of the 24-hour window the counts cover (ISO 8601)"),
  destinations: z.array(DestinationHealthSchema),
});

// The document's schemas and the types the routes return must stay one shape: this fails to compile otherwise.
const testResultMatches: SameShape<z.infer<typeof TestRequestResultSchema>, TestRequestResult> = true;
const healthMatches: SameShape<z.infer<typeof DestinationsHealthSchema>, Awaited<ReturnType<typeof destinationsHealth>>> = true;
void [testResultMatches, healthMatches];


const CALL_ID = "call_5b0e1c9a7d2f4e8b9a6c3d1e0f7b2a4c";

const DELIVERED: DeliveryWithAttempts = {
  id: "dlv_4f1a9c2e7b3d8a6e5c0b1d2f",
  call_id: CALL_ID,
  destination: "crm",
  event: 1,
  status: "delivered",
  attempts: 1,
  run_attempts: 1,
  last_status: 200,
  next_attempt_at: null,
  created_at: "2025-01-15T10:32:09.412Z",
  delivered_at: "2025-01-15T10:32:09.731Z",
  last_error: null,
  last_response: '{"ok":true,"contact_id":"c_88412"}',
  webhook_id: webhookIdFor(CALL_ID, "crm"),
  attempt_history: [
    { attempt: 1, started_at: "2025-01-15T10:32:09.418Z", finished_at: "2025-01-15T10:32:09.731Z", status: 200, latency_ms: 313, outcome: "delivered", error: null, response_snippet: '{"ok":true,"contact_id":"c_88412"}' },
  ],
};

/** Out of attempts: the receiver kept answering 503, then stopped answering. */
const DEAD_LETTERED: DeliveryWithAttempts = {
  id: "dlv_a83e2b7c0d9f4e1a6b5c2d8e",
  call_id: "call_0c7d2e9f1a4b4c6d8e3f5a7b9c1d2e4f",
  destination: "slack_qualified",
  event: 1,
  status: "failed",
  attempts: 3,
  run_attempts: 3,
  last_status: null,
  next_attempt_at: null,
  created_at: "2025-01-15T11:04:40.102Z",
  delivered_at: null,
  last_error: "gave up after 3 attempts; last: no response within 15000 ms",
  last_response: null,
  webhook_id: webhookIdFor("call_0c7d2e9f1a4b4c6d8e3f5a7b9c1d2e4f", "slack_qualified"),
  attempt_history: [
    { attempt: 1, started_at: "2025-01-15T11:04:40.110Z", finished_at: "2025-01-15T11:04:40.388Z", status: 503, latency_ms: 278, outcome: "retry", error: "HTTP 503", response_snippet: "upstream connect error" },
    { attempt: 2, started_at: "2025-01-15T11:04:45.402Z", finished_at: "2025-01-15T11:04:45.655Z", status: 503, latency_ms: 253, outcome: "retry", error: "HTTP 503", response_snippet: "upstream connect error" },
    {
      attempt: 3,
      started_at: "2025-01-15T11:05:15.671Z",
      finished_at: "2025-01-15T11:05:30.673Z",
      status: null,
      latency_ms: 15002,
      outcome: "failed",
      error: "gave up after 3 attempts; last: no response within 15000 ms",
      response_snippet: null,
    },
  ],
};

function withoutHistory({ attempt_history: _history, ...delivery }: DeliveryWithAttempts): Delivery {
  return delivery;
}

/** What `POST /v1/deliveries/{id}/retry` answers: due again now, with a fresh attempt budget. */
const REPLAYED: Delivery = { ...withoutHistory(DEAD_LETTERED), status: "pending", run_attempts: 0, next_attempt_at: "2025-01-15T12:10:03.250Z" };

/** The delivered call and the dead letter of the examples above, for the calls API's documentation. */
export const DELIVERY_EXAMPLES = { delivered: DELIVERED, deadLettered: DEAD_LETTERED } as const;

const DeliveryIdParams = z.object({ id: z.string().describe("The delivery's id (`dlv_…`)").openapi({ example: DEAD_LETTERED.id }) });

const deliveryNotFound = (id: string) =>
  errorResponse("No delivery has this id.", [{ code: "not_found", message: `No delivery with id "${id}".` }]);

export function deliveriesApiDocs(options: { auth: boolean; rateLimited: boolean }): ApiDocs {
  return (registry) => {
    const guards = guardResponses(options);

    registry.registerPath({
      method: "get",
      path: "/v1/deliveries",
      operationId: "listDeliveries",
      tags: ["Deliveries"],
      summary: "List deliveries, newest first",
      description: "Each call is sent to every destination of its profile whose `when` holds; each of those is one delivery. Filter to find dead letters: `?status=failed`.",
      request: {
        query: ListQuerySchema.extend({
          status: ListQuerySchema.shape.status.describe("Only deliveries in this status: `failed` lists the dead letters"),
          destination: ListQuerySchema.shape.destination.describe("A destination's name in the configuration file"),
          call_id: ListQuerySchema.shape.call_id.describe("Only this call's deliveries"),
          limit: ListQuerySchema.shape.limit.describe(`At most this many (default 50, at most ${MAX_LIST_LIMIT})`),
        }),
      },
      responses: {
        "200": {
          description: "The deliveries (without their attempt history)",
          content: {
            "application/json": {
              schema: z.object({ deliveries: z.array(DeliveryComponent) }),
              example: { deliveries: [withoutHistory(DEAD_LETTERED), withoutHistory(DELIVERED)] },
            },
          },
        },
        "400": errorResponse("A query parameter is not valid (each one in details).", [
          {
            code: "invalid_request",
            message: 'Invalid query parameter "status": status must be one of pending, delivered, failed',
            details: [{ path: "status", message: "must be one of pending, delivered, failed" }],
          },
        ]),
        ...guards,
      },
    });

    registry.registerPath({
      method: "get",
      path: "/v1/deliveries/{id}",
      operationId: "getDelivery",
      tags: ["Deliveries"],
      summary: "A delivery and every attempt made at it",
      request: { params: DeliveryIdParams },
      responses: {
        "200": {
          description: "The delivery, with its attempt history (replays included)",
          content: {
            "application/json": {
              schema: z.object({ delivery: DeliveryWithAttemptsComponent }),
              examples: {
                dead_lettered: { summary: "Dead-lettered: out of attempts", value: { delivery: DEAD_LETTERED } },
                delivered: { summary: "Delivered at the first attempt", value: { delivery: DELIVERED } },
              },
            },
          },
        },
        "404": deliveryNotFound("dlv_missing"),
        ...guards,
      },
    });

    registry.registerPath({
      method: "post",
      path: "/v1/deliveries/{id}/retry",
      operationId: "retryDelivery",
      tags: ["Deliveries"],
      summary: "Send a delivery now: replay a dead letter, or skip a pending one's wait",
      description:
        "A `failed` delivery is re-queued with a fresh run of attempts (`run_attempts` starts again at 0). A `pending` one waiting for its next " +
        "attempt (a backoff of hours, while the receiver is back) becomes due now; its run goes on. Either way the workers of every instance " +
        "are woken, and it sends the exact bytes and `webhook-id` it was enqueued with, so a receiver that did get an earlier attempt can " +
        "drop the duplicate. A delivered one, or one with an attempt in flight, is a 409.",
      request: { params: DeliveryIdParams },
      responses: {
        "200": {
          description: "Pending, due now",
          content: { "application/json": { schema: z.object({ delivery: DeliveryComponent }), example: { delivery: REPLAYED } } },
        },
        "404": deliveryNotFound("dlv_missing"),
        "409": errorResponse("The delivery is delivered, or an attempt at it is in flight right now.", [
          {
            code: "conflict",
            message: `Delivery "${DELIVERED.id}" is delivered; only pending and failed deliveries can be sent again.`,
            details: [{ path: "status", message: "is delivered" }],
          },
        ]),
        ...unusedBodyResponses(),
        ...guards,
      },
    });

    registry.registerPath({
      method: "get",
      path: "/v1/destinations",
      operationId: "listDestinations",
      tags: ["Deliveries"],
      summary: "Each destination's health: what is waiting, what got through and what failed in the last 24 hours",
      description:
        "Debrief never disables a failing destination by itself: it keeps retrying on its schedule. `consecutive_failures` (also the " +
        "`debrief_destination_consecutive_failures` gauge) is what to alert on.",
      responses: {
        "200": {
          description: "Every configured destination, then any other the outbox still has deliveries for",
          content: {
            "application/json": {
              schema: DestinationsHealthSchema,
              example: {
                since: "2025-01-14T12:00:00.000Z",
                destinations: [
                  {
                    name: "crm",
                    configured: true,
                    host: "crm.example.com",
                    pending: 0,
                    delivered_24h: 412,
                    failed_24h: 0,
                    consecutive_failures: 0,
                    last_error: null,
                    last_error_at: null,
                    last_delivered_at: "2025-01-15T11:58:41.206Z",
                  },
                  {
                    name: "slack_qualified",
                    configured: true,
                    host: "hooks.slack.com",
                    pending: 17,
                    delivered_24h: 88,
                    failed_24h: 3,
                    consecutive_failures: 26,
                    last_error: "HTTP 503",
                    last_error_at: "2025-01-15T11:59:02.771Z",
                    last_delivered_at: "2025-01-15T09:12:40.018Z",
                  },
                ],
              },
            },
          },
        },
        ...guards,
      },
    });

    registry.registerPath({
      method: "post",
      path: "/v1/destinations/{name}/test",
      operationId: "testDestination",
      tags: ["Deliveries"],
      summary: "Make test request: send a signed sample payload to a destination",
      description:
        "Renders a realistic sample call through the destination's `transform` and sends it with the destination's headers and signature, " +
        "bypassing the outbox: nothing is stored or retried. The answer is 200 whatever the destination did; `ok` says whether it took it.",
      request: {
        params: z.object({ name: z.string().openapi({ example: "crm" }).describe("The destination's name in the configuration file") }),
        query: z.object({
          profile: z
            .string()
            .optional()
            .openapi({ example: "booking" })
            .describe("Build the sample from this profile's variables (a plausible value of each type) instead of a generic sales call"),
        }),
      },
      responses: {
        "200": {
          description: "What the destination answered, or why it did not",
          content: {
            "application/json": {
              schema: TestRequestResultSchema,
              examples: {
                accepted: {
                  summary: "The destination took it",
                  value: { ok: true, status: 200, latency_ms: 142, body_snippet: '{"received":true}', error: null, webhook_id: "msg_test_5e0c2a9b7d1f3e8a4c6b2d0f" },
                },
                unreachable: {
                  summary: "Nothing answered",
                  value: {
                    ok: false,
                    status: null,
                    latency_ms: 3,
                    body_snippet: null,
                    error: "ENOTFOUND: getaddrinfo ENOTFOUND hooks.crm.example.com",
                    webhook_id: "msg_test_0a7f3c1e9b2d4a6c8e5f1b3d",
                  },
                },
              },
            },
          },
        },
        "404": errorResponse("No destination has this name, or no profile the `profile` given.", [
          { code: "not_found", message: 'No destination named "nope" is configured.' },
          { code: "profile_not_found", message: 'No profile named "bookings"', details: [{ path: "profile", message: "is not a profile this key can use" }] },
        ]),
        ...unusedBodyResponses(),
        ...guards,
      },
    });
  };
}
