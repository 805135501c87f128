// The profiles API in the OpenAPI document: every configured profile, or one, with its versions and destinations.
import { z } from "zod";
import { REVIEW_FLAGS } from "../../../extract/index.js";
import { guardResponses, profileNotFoundResponse, type ApiDocs, type SameShape } from "../../../http/openapi.js";
import { STRING_FORMATS, VARIABLE_TYPES } from "../../../schema/variables.js";
import { SOURCE_NAMES } from "../../../sources/index.js";
import type { profileView } from "../profiles-router.js";

export const ProfileSchema = z
  .object({
    name: z.string(),
    source: z.enum(["auto", ...SOURCE_NAMES]).describe("The platform that posts to it; `auto` picks the adapter whose markers match"),
    model: z.string().describe("The model its calls are extracted with (its own `model`, or the deployment's)"),
    version: z.string().describe("Its current version: what each new extraction records, and what a backfill brings calls to"),
    versions: z
      .array(
        z.object({
          version: z.string().nullable().describe("Null: calls extracted before profile versions existed"),
          calls: z.number().int().describe("Stored calls whose current extraction ran under this version"),
          current: z.boolean(),
        }),
      )
      .describe("The versions its stored calls were extracted under, most calls first; the current one always listed"),
    variables: z.array(
      z.object({
        name: z.string(),
        type: z.enum(VARIABLE_TYPES),
        description: z.string(),
        options: z.array(z.string()).nullable().describe("An enum's values"),
        fields: z.array(z.record(z.unknown())).optional().describe("An object's fields, each a variable"),
        items: z.record(z.unknown()).optional().describe("What each item of a list is"),
        format: z.enum(STRING_FORMATS).optional(),
        pattern: z.string().optional(),
        examples: z.array(z.unknown()).optional(),
        default_region: z.string().optional(),
      }),
    ),
    evidence: z.boolean().describe("Extractions ask for each value's quote"),
    timezone: z.string().nullable(),
    gates: z
      .object({
        send_only_on_completed: z.boolean(),
        min_duration_s: z.number().nullable(),
        min_customer_turns: z.number().int().nullable(),
        skip_ended_reasons: z.array(z.string()),
        extract: z.enum(["always", "when_routed"]),
      })
      .describe("Which calls are stored as skipped instead of extracted"),
    review: z.object({ hold: z.boolean(), min_confidence: z.number().nullable(), flags: z.array(z.enum(REVIEW_FLAGS)) }),
    inbound: z
      .object({ secret: z.boolean().describe("An inbound.secret is set"), url_token: z.boolean().describe("An inbound.url_token is set") })
      .describe("Whether the platform authenticates itself (never the values)"),
    destinations: z
      .array(z.object({ name: z.string(), host: z.string().nullable() }))
      .describe("Where its calls go, by name and host only: a URL's path, query and headers may be secrets"),
    budget: z
      .object({
        daily_usd: z.number().describe("What its extractions may cost a day, in USD (the day in its `timezone`, else UTC)"),
        on_exceeded: z
          .enum(["continue", "wait"])
          .describe("Once reached: live calls are extracted anyway (`continue`, logged and counted) or wait in `waiting_for_budget` for the next day (`wait`); backfills pause either way"),
        today: z
          .object({
            spent_usd: z
              .number()
              .describe("What its extractions (live calls, re-extractions, backfills) cost since `since`; those of a model without a known price count nothing. Read at most every 5 s"),
            since: z.string().describe("Where today began, in its time zone (ISO 8601 instant)"),
            until: z.string().describe("Where today ends: what waits for the budget is due again then"),
            exceeded: z.boolean().describe("`spent_usd` reached `daily_usd`"),
          })
          .describe("Today's spend against the budget"),
      })
      .nullable()
      .describe("Its daily LLM budget (`budget` in the file) and today's spend; null without one"),
  })
  .openapi("Profile");

export const ProfileListSchema = z.object({ profiles: z.array(ProfileSchema).describe("In the configuration file's order") }).openapi("ProfileList");

// The documented schema is the route's own type: they cannot drift apart.
true satisfies SameShape<z.infer<typeof ProfileSchema>, ReturnType<typeof profileView>>;

const BOOKING: z.infer<typeof ProfileSchema> = {
  name: "booking",
  source: "retell",
  model: "gpt-4o-mini",
  version: "3f9b2d7e0a1c",
  versions: [
    { version: "9c1e4b7a20d3", calls: 1200, current: false },
    { version: "3f9b2d7e0a1c", calls: 41, current: true },
  ],
  variables: [
    { name: "plan", type: "enum", description: "The plan the customer wants a demo of", options: ["basic", "pro"] },
    { name: "callback_date", type: "date", description: "When the customer asked to be called back", options: null },
  ],
  evidence: true,
  timezone: "America/New_York",
  gates: { send_only_on_completed: true, min_duration_s: 10, min_customer_turns: null, skip_ended_reasons: ["voicemail"], extract: "always" },
  review: { hold: true, min_confidence: 0.6, flags: ["low_confidence", "ungrounded"] },
  inbound: { secret: true, url_token: false },
  destinations: [
    { name: "crm", host: "crm.example.com" },
    { name: "slack_qualified", host: "hooks.slack.com" },
  ],
  budget: {
    daily_usd: 20,
    on_exceeded: "wait",
    today: { spent_usd: 3.21, since: "2026-06-12T04:00:00.000Z", until: "2026-06-13T04:00:00.000Z", exceeded: false },
  },
};

export function profilesApiDocs(options: { auth: boolean; rateLimited: boolean }): ApiDocs {
  return (registry) => {
    const guards = guardResponses(options);
    registry.registerPath({
      method: "get",
      path: "/v1/profiles",
      operationId: "listProfiles",
      tags: ["Profiles"],
      summary: "Every configured profile, with its versions and destinations",
      description:
        "What each profile of the configuration file (DEBRIEF_CONFIG) extracts, gates and holds for review, the versions its stored calls " +
        "were extracted under with their counts, and its destinations by name and host. Never a destination's URL path, query or headers, " +
        "nor an inbound secret or URL token: only whether each is set.",
      responses: {
        "200": { description: "Every profile", content: { "application/json": { schema: ProfileListSchema, example: { profiles: [BOOKING] } } } },
        ...guards,
      },
    });
    registry.registerPath({
      method: "get",
      path: "/v1/profiles/{name}",
      operationId: "getProfile",
      tags: ["Profiles"],
      summary: "One profile, with its versions, destinations and today's spend against its daily budget",
      request: { params: z.object({ name: z.string().describe("The profile").openapi({ example: "booking" }) }) },
      responses: {
        "200": { description: "The profile", content: { "application/json": { schema: ProfileSchema, example: BOOKING } } },
        "404": profileNotFoundResponse(),
        ...guards,
      },
    });
  };
}
