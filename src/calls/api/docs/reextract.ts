// The re-extraction operation in the OpenAPI document: run a call again under its profile's current version.
import { z } from "zod";
import { bodyParserResponses, errorResponse, guardResponses, INVALID_JSON_EXAMPLE, type ApiDocs, type SameShape } from "../../../http/openapi.js";
import { ReextractBodySchema, type reextractView } from "../reextract-router.js";
import { CallIdParams, callNotFound } from "./call-schemas.js";

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
    changed: z
      .array(z.string())
      .describe("Where the values differ: a flat variable's name, a nested one's leaf paths (`items[0].quantity`, `contact.email`; an item added or removed is named by its leaves)"),
    variables: z
      .record(
        z.object({
          before: z.unknown(),
          after: z.unknown(),
          changed: z.boolean(),
          paths: z.array(z.string()).optional().describe("For an object or a list of objects that changed: the leaf paths that differ (`items[0].quantity`)"),
          corrected: z.boolean().optional().describe("The value is a reviewer's correction, kept over the new extraction"),
          model: z.unknown().optional().describe("With corrected: what the model answers now"),
        }),
      )
      .describe("Each variable's value before and after (as delivered: a reviewer's corrections stand)"),
    corrections: z
      .object({
        kept: z.array(z.string()).describe("Corrected variables whose reviewer value is kept"),
        conflicts: z
          .array(z.object({ path: z.string().describe("The value refused: a variable's name, or a path inside one (`items[1].quantity`)"), message: z.string() }))
          .describe("Corrections the variable's current definition no longer accepts: redelivered, the call is held for review (reason correction_conflict)"),
      })
      .describe("The call's standing reviewer corrections"),
    usage: z
      .object({ prompt_tokens: z.number().int(), completion_tokens: z.number().int(), cached: z.boolean() })
      .describe("Tokens this re-extraction used: 0 and cached when the profile had not changed or the result cache answered"),
    cost_usd: z
      .number()
      .nullable()
      .describe("What it cost in USD, priced like every extraction (0 when nothing was sent to the LLM); null for a model the price table does not know"),
  })
  .openapi("ReextractResult");

const reextractMatches: SameShape<z.infer<typeof ReextractResultSchema>, ReturnType<typeof reextractView>> = true;
void reextractMatches;

const REEXTRACT_EXAMPLE: z.infer<typeof ReextractResultSchema> = {
  call_id: "call_5b0e1c9a7d2f4e8b9a6c3d1e0f7b2a4c",
  dry_run: true,
  profile_version: "9c1e4b7a20d3",
  stored: false,
  event: null,
  held: false,
  changed: ["plan", "seats[1].count"],
  variables: {
    status: { before: true, after: true, changed: false },
    summary: { before: "John booked a Pro plan demo for January 22.", after: "John booked a Pro plan demo for January 22.", changed: false },
    plan: { before: "pro", after: "pro_annual", changed: true },
    seats: {
      before: [{ team: "sales", count: 5 }, { team: "support", count: 2 }],
      after: [{ team: "sales", count: 5 }, { team: "support", count: 3 }],
      changed: true,
      paths: ["seats[1].count"],
    },
  },
  corrections: { kept: [], conflicts: [] },
  usage: { prompt_tokens: 651, completion_tokens: 61, cached: false },
  cost_usd: 0.000134,
};

export function reextractApiDocs(options: { auth: boolean; rateLimited: boolean }): ApiDocs {
  return (registry) => {
    const guards = guardResponses(options);

    registry.registerPath({
      method: "post",
      path: "/v1/calls/{id}/reextract",
      operationId: "reextractCall",
      tags: ["Calls"],
      summary: "Re-extract a call under its profile's current version",
      description:
        "Runs an extracted call again under its profile as it is now (after a change to its variables, system prompt or model). When the " +
        "profile's version has not changed since the call's current extraction, the answer is that extraction, with no LLM call. " +
        "`dry_run` answers each variable before and after and the usage, and changes nothing. `changed` names what differs leaf by leaf: a " +
        "flat variable by its name, an object or a list of objects by the paths inside it (`seats[1].count`). Otherwise the new extraction is stored in the " +
        "call's history (GET /v1/calls/{id} `extraction.history`) and becomes current; with `redeliver` it is sent to the profile's " +
        "destinations as a new event: a new `webhook-id`, `debrief.event: \"call.reextracted\"` and `debrief.previous_values` (what they were sent before: every variable's whole value, nested ones included).",
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
  };
}
