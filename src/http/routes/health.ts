// GET /healthz (the process answers) and GET /readyz (it can take traffic): open, unauthenticated, unlogged.
import { Router } from "express";
import { z } from "zod";
import type { ApiDocs } from "../openapi.js";

export const HealthSchema = z.object({ status: z.literal("ok") });
export const ReadinessSchema = z.object({
  status: z.enum(["ready", "starting", "stopping"]).describe("Only `ready` answers 200; route traffic elsewhere otherwise"),
  llm_configured: z.boolean().describe("False: the service runs, but extraction answers 503 llm_not_configured"),
});

export function healthRouter(deps: { ready: () => boolean; stopping: () => boolean; llmConfigured: boolean }): Router {
  const router = Router();
  router.get("/healthz", (_req, res) => {
    res.json({ status: "ok" } satisfies z.infer<typeof HealthSchema>);
  });
  router.get("/readyz", (_req, res) => {
    const status = deps.stopping() ? "stopping" : deps.ready() ? "ready" : "starting";
    res.status(status === "ready" ? 200 : 503).json({ status, llm_configured: deps.llmConfigured } satisfies z.infer<typeof ReadinessSchema>);
  });
  return router;
}

export const healthApiDocs: ApiDocs = (registry) => {
  const readiness = registry.register("Readiness", ReadinessSchema);
  registry.registerPath({
    method: "get",
    path: "/healthz",
    operationId: "health",
    tags: ["Operations"],
    summary: "Liveness: the process answers",
    security: [],
    responses: { "200": { description: "Alive", content: { "application/json": { schema: HealthSchema, example: { status: "ok" } } } } },
  });
  registry.registerPath({
    method: "get",
    path: "/readyz",
    operationId: "readiness",
    tags: ["Operations"],
    summary: "Readiness: the service can take traffic (503 while starting or shutting down)",
    security: [],
    responses: {
      "200": { description: "Ready", content: { "application/json": { schema: readiness, example: { status: "ready", llm_configured: true } } } },
      "503": {
        description: "Starting, or draining before shutdown",
        content: { "application/json": { schema: readiness, example: { status: "stopping", llm_configured: true } } },
      },
    },
  });
};
