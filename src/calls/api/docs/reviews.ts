// The review operation in the OpenAPI document: deliver (with corrections) or skip a call held for review.
import { bodyParserResponses, errorResponse, guardResponses, INVALID_JSON_EXAMPLE, type ApiDocs } from "../../../http/openapi.js";
import { ReviewRequestSchema } from "../../review.js";
import { CallIdParams, callNotFound, CallReviewedSchema } from "./call-schemas.js";
import { HELD_CALL } from "./examples.js";

export function reviewApiDocs(options: { auth: boolean; rateLimited: boolean }): ApiDocs {
  return (registry) => {
    const guards = guardResponses(options);

    registry.registerPath({
      method: "post",
      path: "/v1/calls/{id}/review",
      operationId: "reviewCall",
      tags: ["Calls"],
      summary: "Decide on a call held for review: deliver it (with corrections) or skip it",
      description:
        "A profile with `review.hold: true` keeps a call with a flagged value in `needs_review` (the queue: GET /v1/calls?state=needs_review), " +
        "delivered nowhere. `approve: true` routes it to its destinations now, with `values` applied (each validated as extraction " +
        "validates it: an object or a list of objects is sent whole, and each of its fields and items is checked against its type, " +
        "format and options); its payload carries `debrief.event: \"call.reviewed\"` and `debrief.reviewed: {at, corrected}`, and it is not " +
        "extracted again. `reviewed.values` keeps each corrected variable's whole value; `reviewed.corrected` names the leaves that differ " +
        "from the model's: a flat variable's name, or a path inside a nested one (`items[1].quantity`, `contact.email`; an item added is named " +
        "by its fields). `approve: false` skips it, with `reason` as the call's reason. What the reviewer did is kept on the call " +
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
                nested: {
                  summary: "Correct a list of objects: one quantity edited, one item added (sent whole)",
                  value: {
                    approve: true,
                    values: {
                      items: [
                        { product: "filter", quantity: 2 },
                        { product: "thermostat", quantity: 1 },
                      ],
                    },
                  },
                },
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
                nested: {
                  summary: "Approved with a list of objects corrected: the changed leaves are named",
                  value: {
                    call_id: HELD_CALL.call_id,
                    state: "accepted",
                    reviewed: {
                      approved: true,
                      at: "2025-01-15T11:31:40.052Z",
                      corrected: ["items[0].quantity", "items[1].product", "items[1].quantity"],
                      values: {
                        items: [
                          { product: "filter", quantity: 2 },
                          { product: "thermostat", quantity: 1 },
                        ],
                      },
                      reason: null,
                    },
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
            "or a correction that names no variable of the profile or is not a valid value of its type, named by its path (`values.<name>`, " +
            "`values.items[1].quantity`, `values.contact.email`).",
          [
            {
              code: "invalid_request",
              message: "A correction is not a valid value of its variable",
              details: [
                { path: "values.demo_date", message: "must be a calendar date YYYY-MM-DD" },
                { path: "values.items[1].quantity", message: "Expected number, received string" },
                { path: "values.budjet", message: "is not a variable of this profile; expected one of status, summary, plan, demo_date, items" },
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
  };
}
