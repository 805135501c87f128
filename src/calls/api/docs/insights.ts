// Insights in the OpenAPI document: what a profile's calls say over a window (issue 27).
import { z } from "zod";
import { errorResponse, guardResponses, profileNotFoundResponse, type ApiDocs, type SameShape } from "../../../http/openapi.js";
import { VARIABLE_TYPES } from "../../../schema/variables.js";
import { INSIGHT_BUCKETS, type profileInsights } from "../../insights.js";
import { InsightsQuerySchema } from "../profiles-router.js";

const CountsSchema = z.record(z.number().int()).describe("Per value: every option (zero where none), then any stored value no option names any more");

const NumbersSchema = z
  .object({
    count: z.number().int(),
    min: z.number(),
    max: z.number(),
    mean: z.number(),
    p50: z.number().describe("The nearest-rank median: a value that occurred"),
    p90: z.number(),
    histogram: z.array(z.object({ from: z.number(), to: z.number(), count: z.number().int() })).describe("10 equal-width bins from min to max (1 when they are equal)"),
  })
  .nullable()
  .describe("The numbers' spread; null when there is none");

const LeafSchema = z.object({
  type: z.enum(VARIABLE_TYPES),
  values: z.number().int().describe("Non-null values at this path (a list's items each count)"),
  nulls: z.number().int(),
  counts: CountsSchema.optional(),
  numbers: NumbersSchema.optional(),
});

const VariableInsightSchema = z.object({
  type: z.enum(VARIABLE_TYPES),
  null_rate: z.number().describe("Share of the extracted calls where it is null: the model rarely finding one is a schema smell"),
  low_confidence_rate: z.number().describe("Share of the extracted calls where it, or a value inside it, has a confidence under low_confidence_below"),
  counts: CountsSchema.optional().describe("enum, boolean and a list of options"),
  numbers: NumbersSchema.optional().describe("number and integer"),
  paths: z.record(LeafSchema).optional().describe("object and list variables: each leaf path (`items[].quantity`, `contact.email`)"),
});

export const InsightsSchema = z
  .object({
    profile: z.string(),
    timezone: z.string().describe("The profile's timezone, which buckets follow (UTC when it sets none)"),
    since: z.string(),
    until: z.string(),
    bucket: z.enum(INSIGHT_BUCKETS),
    calls: z.number().int().describe("Calls received in the window, in every state"),
    extracted: z.number().int().describe("Of them, the calls with an extraction: the base of every rate"),
    low_confidence_below: z.number().describe("Where low confidence starts: the profile's review.min_confidence, or 0.5"),
    variables: z.record(VariableInsightSchema).describe("Every variable of the profile, over each call's latest extraction with reviewers' corrections as the value"),
    series: z.array(
      z.object({
        bucket: z.string().describe("The bucket's local start: 2026-12-01 (day; week: its Monday) or 2026-12-01T13:00 (hour)"),
        start: z.string().describe("The instant it starts (the first is cut to `since`)"),
        calls: z.number().int(),
        delivered: z.number().int(),
        skipped: z.number().int(),
        needs_review: z.number().int(),
        failed: z.number().int().describe("extraction_failed and delivery_failed"),
        cost_usd: z.number().nullable().describe("What the extractions made in this bucket cost (backfills included); null when none had a known price"),
        variables: z.record(CountsSchema).describe("Each enum and boolean variable's counts in this bucket"),
      }),
    ),
  })
  .openapi("Insights");

// The documented schema is the route's own type: they cannot drift apart.
true satisfies SameShape<z.infer<typeof InsightsSchema>, Awaited<ReturnType<typeof profileInsights>>>;

const EXAMPLE: z.infer<typeof InsightsSchema> = {
  profile: "dental",
  timezone: "Europe/Paris",
  since: "2026-11-30T23:00:00.000Z",
  until: "2026-12-02T23:00:00.000Z",
  bucket: "day",
  calls: 412,
  extracted: 405,
  low_confidence_below: 0.5,
  variables: {
    service_type: { type: "enum", null_rate: 0.04, low_confidence_rate: 0.02, counts: { cleaning: 250, repair: 145, install: 0 } },
    booked: { type: "boolean", null_rate: 0.01, low_confidence_rate: 0, counts: { true: 301, false: 107 } },
    budget: {
      type: "number",
      null_rate: 0.35,
      low_confidence_rate: 0,
      numbers: { count: 268, min: 100, max: 9000, mean: 1520.4, p50: 1200, p90: 4000, histogram: [{ from: 100, to: 990, count: 120 }] },
    },
  },
  series: [
    { bucket: "2026-12-01", start: "2026-11-30T23:00:00.000Z", calls: 61, delivered: 60, skipped: 1, needs_review: 0, failed: 0, cost_usd: 0.031, variables: { booked: { true: 44, false: 16 } } },
  ],
};

export function insightsApiDocs(options: { auth: boolean; rateLimited: boolean }): ApiDocs {
  return (registry) => {
    registry.registerPath({
      method: "get",
      path: "/v1/profiles/{name}/insights",
      operationId: "getProfileInsights",
      tags: ["Profiles"],
      summary: "What a profile's calls say over a window: value counts, null and low-confidence rates, spreads, and a series",
      description:
        "Over the latest extraction of each call received in [since, until), with reviewers' corrections counted as the corrected value. " +
        "Read from a narrow table of values written when a call is extracted or reviewed, never from the stored extractions. Buckets follow " +
        "the profile's timezone. A window with no calls answers zeros. Poll it (e.g. Grafana's JSON API or Infinity data source, every few " +
        "minutes) for value distributions Prometheus cannot hold; `debrief_extracted_values_total` counts enum and boolean values as they come.",
      request: {
        params: z.object({ name: z.string().describe("The profile").openapi({ example: "dental" }) }),
        query: InsightsQuerySchema,
      },
      responses: {
        "200": { description: "The profile's insights", content: { "application/json": { schema: InsightsSchema, example: EXAMPLE } } },
        "400": errorResponse("A query parameter is not valid, the window is longer than a year, or its series would hold too many figures", [
          {
            code: "window_too_long",
            message: "The window is longer than a year (366 days): ask for several windows",
            details: [{ path: "since", message: "must be at most 366 days before until" }],
          },
          {
            code: "too_many_buckets",
            message:
              "8,784 hour buckets of 306 figures each (calls, states, cost, and every enum and boolean option) is 2,687,904 figures, over 500,000: ask for longer buckets or a shorter window",
            details: [{ path: "bucket", message: "too many figures for this window: 2,687,904 (at most 500,000)" }],
          },
        ]),
        "404": profileNotFoundResponse(),
        ...guardResponses(options),
      },
    });
  };
}
