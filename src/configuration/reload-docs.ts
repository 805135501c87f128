// The reload operation in the OpenAPI document: read the configuration file again without a restart.
import { z } from "zod";
import { bodyParserResponses, errorResponse, guardResponses, INVALID_JSON_EXAMPLE, type ApiDocs, type SameShape } from "../http/openapi.js";
import type { reloadView } from "./reload-router.js";

export const ReloadResultSchema = z
  .object({
    reloaded: z.literal(true),
    changed: z.boolean().describe("False when the file was the one already running"),
    profiles: z
      .array(z.object({ name: z.string(), version: z.string().describe("The profile's version: what each extraction records"), destinations: z.array(z.string()) }))
      .describe("Every profile, in the file's order"),
    destinations: z.array(z.string()),
  })
  .openapi("ReloadResult");

const reloadMatches: SameShape<z.infer<typeof ReloadResultSchema>, ReturnType<typeof reloadView>> = true;
void reloadMatches;

const RELOAD_EXAMPLE: z.infer<typeof ReloadResultSchema> = {
  reloaded: true,
  changed: true,
  profiles: [{ name: "booking", version: "9c1e4b7a20d3", destinations: ["crm", "slack_qualified"] }],
  destinations: ["crm", "slack_qualified"],
};

export function reloadApiDocs(options: { auth: boolean; rateLimited: boolean }): ApiDocs {
  return (registry) => {
    const guards = guardResponses(options);

    registry.registerPath({
      method: "post",
      path: "/v1/admin/reload",
      operationId: "reloadConfig",
      tags: ["Admin"],
      summary: "Reload the configuration file without a restart",
      description:
        "Reads DEBRIEF_CONFIG again (as SIGHUP does). A valid file takes effect for the next request, call and delivery; work in flight " +
        "finishes under the configuration it started with. An invalid file changes nothing: the answer is 422 naming every problem in it. " +
        "On PostgreSQL the reload reaches every instance sharing the database (NOTIFY); on SQLite it is this process only.",
      responses: {
        "200": { description: "The file is in use", content: { "application/json": { schema: ReloadResultSchema, example: RELOAD_EXAMPLE } } },
        "400": errorResponse("The body has fields (none are taken), or is not valid JSON.", [
          { code: "invalid_request", message: "Invalid request body (force): force unknown key", details: [{ path: "force", message: "unknown key" }] },
          INVALID_JSON_EXAMPLE,
        ]),
        "422": errorResponse("The new file is invalid; the previous configuration keeps running. `details` lists every problem.", [
          {
            code: "invalid_config",
            message: "The configuration file has 2 problem(s); the previous configuration keeps running",
            details: [
              { path: "profiles.booking.timezone", message: "must be an IANA time zone such as America/New_York" },
              { path: "profiles.support.destinations[0]", message: 'no destination named "hubspot" is configured' },
            ],
          },
        ]),
        ...bodyParserResponses(),
        ...guards,
      },
    });
  };
}
