// The audit log in the OpenAPI document: who did what, to which id, when, and how it ended.
import { z } from "zod";
import { errorResponse, guardResponses, type ApiDocs, type SameShape } from "../../../http/openapi.js";
import { AUDIT_ACTIONS } from "../../store/audit-port.js";
import { AuditQuerySchema, type auditEntryView } from "../audit.js";

export const AuditEntrySchema = z
  .object({
    id: z.string(),
    at: z.string().describe("When (ISO 8601, UTC)"),
    key: z.string().describe("The key's name; a DEBRIEF_API_KEYS key is `api-key:` and the first 8 hex digits of its SHA-256"),
    action: z.enum(AUDIT_ACTIONS),
    target: z.string().nullable().describe("The call, delivery, destination, profile or backfill acted on; null for a reload"),
    outcome: z.string().describe("`ok`, or the error code the action ended with"),
    details: z.record(z.unknown()).describe("A review's decision and corrected variable names, a reload's profile versions before and after, …"),
  })
  .openapi("AuditEntry");

const entryMatches: SameShape<z.infer<typeof AuditEntrySchema>, ReturnType<typeof auditEntryView>> = true;
void entryMatches;

export function auditApiDocs(options: { auth: boolean; rateLimited: boolean }): ApiDocs {
  return (registry) => {
    registry.registerPath({
      method: "get",
      path: "/v1/audit",
      operationId: "listAudit",
      tags: ["Operations"],
      summary: "The audit log: reviews, re-extractions, backfills, replays, send-now, test sends and reloads, newest first",
      request: { query: AuditQuerySchema },
      responses: {
        "200": {
          description: "A page of entries",
          content: {
            "application/json": {
              schema: z.object({ entries: z.array(AuditEntrySchema), next_cursor: z.string().nullable() }),
              example: {
                entries: [
                  {
                    id: "aud_5f0c2a9d8e7b4c1a9f3e6d2b1a0c9e8f",
                    at: "2026-06-12T14:22:05.000Z",
                    key: "front-desk",
                    action: "call.review",
                    target: "call_7e2a9c",
                    outcome: "ok",
                    details: { approved: true, corrected: ["demo_date"] },
                  },
                ],
                next_cursor: null,
              },
            },
          },
        },
        "400": errorResponse("A query parameter is not valid, or the cursor is not one this service wrote for these filters.", [
          { code: "invalid_request", message: 'Invalid query parameter "action": action must be one of …', details: [{ path: "action", message: `must be one of ${AUDIT_ACTIONS.join(", ")}` }] },
        ]),
        ...guardResponses(options),
      },
    });
  };
}
