// The backfill API in the OpenAPI document: start (or dry-run) a profile's backfill, follow it, cancel it.
import { z } from "zod";
import { bodyParserResponses, errorResponse, guardResponses, profileNotFoundResponse, INVALID_JSON_EXAMPLE, unusedBodyResponses, type ApiDocs, type SameShape } from "../../../http/openapi.js";
import { BackfillRequestSchema, type DryRunAnswer } from "../../backfill.js";
import type { backfillView } from "../backfill-router.js";

const BackfillStartedSchema = z.object({
  backfill_id: z.string().describe("Follow it at GET /v1/backfills/{id}"),
  state: z.enum(["running", "done"]).describe("done at once when no call matches"),
  total: z.number().int().describe("Calls it re-extracts"),
});

const BackfillSchema = z
  .object({
    backfill_id: z.string(),
    profile: z.string(),
    state: z.enum(["running", "done", "cancelled"]),
    total: z.number().int().describe("Calls it re-extracts, fixed when it started"),
    done: z.number().int().describe("Calls finished, failed ones included"),
    changed: z.number().int().describe("Calls whose values changed"),
    failed: z.number().int().describe("Calls that could not be re-extracted (after retries, or gone)"),
    tokens: z.object({ prompt_tokens: z.number().int(), completion_tokens: z.number().int() }).describe("Tokens used so far (answers from the cache cost none)"),
    cost_usd: z
      .number()
      .nullable()
      .describe("What its re-extractions cost so far in USD, priced like every extraction; null until one had a model the price table knows"),
    redeliver: z.boolean(),
    request: z.record(z.unknown()).describe("What it was asked for, with the profile version it brings calls to"),
    created_at: z.string(),
    updated_at: z.string(),
    finished_at: z.string().nullable(),
    paused: z
      .object({
        reason: z
          .enum(["daily_budget_reached", "llm_budget"])
          .describe(
            "daily_budget_reached: the profile's daily LLM budget (`budget.daily_usd`) is spent today. llm_budget: waiting for LLM budget: the shared " +
              "requests or tokens per minute (DEBRIEF_LLM_RPM/TPM/LIMITS, or what the server said) are too short for a backfill now; live calls and " +
              "single re-extractions take them first",
          ),
        until: z
          .string()
          .describe(
            "When its items are taken up again: the profile's next day (or sooner, when a reload raises the budget); for llm_budget, when the budget " +
              "will have refilled enough at its rate (sooner if less is used)",
          ),
      })
      .nullable()
      .describe("Why a running backfill takes no item now; null when it does (or is not running)"),
  })
  .openapi("Backfill");

const BackfillDryRunSchema = z
  .object({
    dry_run: z.literal(true),
    profile: z.string(),
    profile_version: z.string().describe("The profile's current version: what the calls would be brought to"),
    matching: z.number().int().describe("Calls a real run with this body would re-extract"),
    sampled: z.number().int().describe("Calls re-extracted (newest first), nothing stored or delivered"),
    changed_calls: z.number().int(),
    change_rates: z.record(z.number()).describe("Per variable, the share of sampled calls whose value changed"),
    corrections: z
      .record(z.object({ kept: z.number().int(), conflicts: z.number().int() }))
      .describe(
        "Per corrected variable, the sampled calls whose reviewer correction the run keeps (delivered instead of the model's new answer), and those whose correction the variable's current definition no longer accepts (such a call is held for review, reason correction_conflict)",
      ),
    examples: z.array(
      z.object({
        call_id: z.string(),
        changes: z.record(
          z.object({
            before: z.unknown(),
            after: z.unknown(),
            corrected: z.boolean().optional().describe("The value is a reviewer's correction, kept: the model now answers `model`"),
            model: z.unknown().optional(),
          }),
        ),
      }),
    ),
    sample_errors: z.array(z.object({ call_id: z.string(), code: z.string(), message: z.string() })),
    sample_usage: z.object({ prompt_tokens: z.number().int(), completion_tokens: z.number().int() }),
    sample_cached: z.number().int().describe("Sampled calls answered from the result cache: they measure no completion tokens (a note says when none was measured)"),
    estimate: z
      .object({
        model: z.string(),
        calls: z.number().int(),
        llm_calls: z.number().int().describe("Requests, chunks of long calls included (their short final pass aside)"),
        prompt_tokens: z.number().int().describe("Every matching call's prompt, counted with the model's tokenizer"),
        completion_tokens: z.number().int().describe("The sample's mean per call (cached answers left out), times the calls"),
        cost_usd: z.number().nullable().describe("From the shared price table (src/llm/prices.ts), to 6 decimals; null for a model it has no price for"),
        note: z.string().optional(),
      })
      .describe("An upper bound: a call whose answer is in the result cache costs nothing"),
  })
  .openapi("BackfillDryRun");

// The documented schemas are the routes' own types: they cannot drift apart.
true satisfies SameShape<z.infer<typeof BackfillSchema>, ReturnType<typeof backfillView>>;
true satisfies SameShape<z.infer<typeof BackfillDryRunSchema>, DryRunAnswer>;

const EXAMPLE_ID = "bf_6f1e2d3c4b5a49788796a5b4c3d2e1f0";
const BackfillIdParams = z.object({ id: z.string().describe("The `backfill_id` the start answered").openapi({ example: EXAMPLE_ID }) });
const notFound = errorResponse("No backfill has this id.", [{ code: "not_found", message: `No backfill with id "bf_nope"` }]);

const RUNNING = {
  backfill_id: EXAMPLE_ID,
  profile: "booking",
  state: "running" as const,
  total: 1200,
  done: 310,
  changed: 41,
  failed: 0,
  tokens: { prompt_tokens: 402_115, completion_tokens: 18_300 },
  cost_usd: 0.071297,
  redeliver: true,
  request: { only_outdated: true, dry_run: false, redeliver: true, since: "2026-05-01T00:00:00Z", profile_version: "3f9b2d7e0a1c" },
  created_at: "2026-06-12T14:22:05.114Z",
  updated_at: "2026-06-12T14:31:40.802Z",
  finished_at: null,
  paused: null,
};

export function backfillApiDocs(options: { auth: boolean; rateLimited: boolean }): ApiDocs {
  return (registry) => {
    const guards = guardResponses(options);

    registry.registerPath({
      method: "post",
      path: "/v1/profiles/{name}/backfill",
      operationId: "startBackfill",
      tags: ["Backfills"],
      summary: "Re-extract a profile's past calls (or dry-run it: a sample's diff and the whole run's estimate)",
      description:
        "After a profile's variables or prompt changed: re-extracts its extracted calls (by default only those extracted under another " +
        "version of the profile). `dry_run: true` re-extracts a sample (the newest `limit`, default 20) without storing anything and " +
        "answers each variable's change rate, a few example diffs, and the tokens and cost of every matching call. A real run answers " +
        "202 at once and proceeds in the background, durably (a restart resumes it, never redoing a finished call), behind live calls " +
        "(a backfill's call only starts when no live call waits) and within the LLM concurrency. Calls whose answer is cached cost nothing. " +
        "With `redeliver`, each re-extracted call is delivered again as a `call.reextracted` event.",
      request: {
        params: z.object({ name: z.string().describe("The profile").openapi({ example: "booking" }) }),
        body: {
          required: false,
          content: { "application/json": { schema: BackfillRequestSchema, example: { since: "2026-05-01T00:00:00Z", dry_run: true } } },
        },
      },
      responses: {
        "200": {
          description: "The dry run's sample and estimate",
          content: {
            "application/json": {
              schema: BackfillDryRunSchema,
              example: {
                dry_run: true,
                profile: "booking",
                profile_version: "3f9b2d7e0a1c",
                matching: 1200,
                sampled: 20,
                changed_calls: 3,
                change_rates: { status: 0, summary: 0.05, plan: 0.1 },
                corrections: { summary: { kept: 1, conflicts: 0 } },
                examples: [{ call_id: "call_7e2a9c", changes: { plan: { before: "basic", after: "pro" } } }],
                sample_errors: [],
                sample_usage: { prompt_tokens: 6_702, completion_tokens: 305 },
                sample_cached: 0,
                estimate: { model: "gpt-4o-mini", calls: 1200, llm_calls: 1204, prompt_tokens: 402_115, completion_tokens: 18_300, cost_usd: 0.071297 },
              },
            },
          },
        },
        "202": {
          description: "Started: follow it at GET /v1/backfills/{id}",
          content: { "application/json": { schema: BackfillStartedSchema, example: { backfill_id: EXAMPLE_ID, state: "running", total: 1200 } } },
        },
        "400": errorResponse("The body is not JSON, or a field is not valid (each one in details).", [
          {
            code: "invalid_request",
            message: "Invalid request body (since): since must be an ISO 8601 date-time with a UTC offset or Z, e.g. 2026-06-12T14:22:05Z",
            details: [{ path: "since", message: "must be an ISO 8601 date-time with a UTC offset or Z, e.g. 2026-06-12T14:22:05Z" }],
          },
          INVALID_JSON_EXAMPLE,
        ]),
        "404": profileNotFoundResponse(),
        ...guards,
        ...bodyParserResponses(),
      },
    });

    registry.registerPath({
      method: "get",
      path: "/v1/backfills/{id}",
      operationId: "getBackfill",
      tags: ["Backfills"],
      summary: "A backfill's progress: state, calls done, changed and failed, tokens used",
      request: { params: BackfillIdParams },
      responses: {
        "200": { description: "The backfill", content: { "application/json": { schema: BackfillSchema, example: RUNNING } } },
        "404": notFound,
        ...guards,
      },
    });

    registry.registerPath({
      method: "post",
      path: "/v1/backfills/{id}/cancel",
      operationId: "cancelBackfill",
      tags: ["Backfills"],
      summary: "Stop a backfill: calls not started are never started (those in flight finish)",
      description: "Cancelling a cancelled backfill answers it again.",
      request: { params: BackfillIdParams },
      responses: {
        "200": {
          description: "Cancelled",
          content: { "application/json": { schema: BackfillSchema, example: { ...RUNNING, state: "cancelled", finished_at: "2026-06-12T14:31:41.003Z" } } },
        },
        "404": notFound,
        "409": errorResponse("The backfill is done already.", [{ code: "conflict", message: `Backfill "${EXAMPLE_ID}" is done already: there is nothing left to cancel` }]),
        ...unusedBodyResponses(),
        ...guards,
      },
    });
  };
}
