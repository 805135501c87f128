// GET /v1/me: the key's name, scopes and profiles, so a client (the console) shows only what the key may do.
import { Router } from "express";
import { z } from "zod";
import { effectiveScopes, SCOPES } from "../../access/index.js";
import { guardResponses, type ApiDocs } from "../openapi.js";

export const MeSchema = z.object({
  auth: z.boolean().describe("Whether the service asks for a key; false: anyone may do everything"),
  name: z.string().nullable().describe("The key's name (`api-key:` and 8 hex digits for a DEBRIEF_API_KEYS key); null without auth"),
  scopes: z.array(z.enum(SCOPES)).describe("Every scope the key holds (admin holds them all)"),
  profiles: z.array(z.string()).nullable().describe("The only profiles the key may see; null: every profile"),
});

export function meRouter(): Router {
  const router = Router();
  router.get("/me", (_req, res) => {
    const key = res.locals.client?.key;
    const body: z.infer<typeof MeSchema> = key
      ? { auth: true, name: key.name, scopes: effectiveScopes(key), profiles: key.profiles ? [...key.profiles] : null }
      : { auth: false, name: null, scopes: [...SCOPES], profiles: null };
    res.json(body);
  });
  return router;
}

export function meApiDocs(options: { auth: boolean; rateLimited: boolean }): ApiDocs {
  return (registry) => {
    registry.registerPath({
      method: "get",
      path: "/v1/me",
      operationId: "whoAmI",
      tags: ["Operations"],
      summary: "The key in use: its name, scopes and profiles",
      responses: {
        "200": {
          description: "The key",
          content: {
            "application/json": {
              schema: MeSchema.openapi({ example: { auth: true, name: "front-desk", scopes: ["calls:read", "calls:review"], profiles: ["dental"] } }),
            },
          },
        },
        ...guardResponses(options),
      },
    });
  };
}
