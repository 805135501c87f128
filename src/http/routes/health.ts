// GET /healthz (the process answers) and GET /readyz (it can take traffic): open, unauthenticated, unlogged.
import { Router } from "express";
import { z } from "zod";
import type { LlmReadiness, LocalModelStatus } from "../../llm/index.js";
import type { ApiDocs, SameShape } from "../openapi.js";

export const HealthSchema = z.object({ status: z.literal("ok") });
export const LocalModelStatusSchema = z.object({
  model: z
    .enum(["loading", "ready", "unavailable"])
    .describe("With the local model only. `loading` (downloading or loading: 503), `ready`, or `unavailable`: the service runs, extraction answers 503 local_model_unavailable"),
  progress: z.number().min(0).max(1).optional().describe("While loading: the fraction of the model file downloaded"),
  reason: z.string().optional().describe("When unavailable: why, and what to do"),
});

// The documented status and the one the local provider reports must stay one shape.
const statusMatches: SameShape<z.infer<typeof LocalModelStatusSchema>, LocalModelStatus> = true;
void statusMatches;

export const LlmReadinessSchema = z
  .object({
    ready: z.boolean(),
    reason: z.string().optional().describe("When not ready: why, and what to do"),
  })
  .describe("Whether an extraction can run now. Not ready, the service still accepts work: calls are stored and wait for an LLM");

const llmMatches: SameShape<z.infer<typeof LlmReadinessSchema>, LlmReadiness> = true;
void llmMatches;

export const ReadinessSchema = z
  .object({
    status: z
      .enum(["ready", "starting", "stopping"])
      .describe("Only `ready` answers 200: the service can accept work (even with no LLM ready: see `llm`); route traffic elsewhere otherwise"),
    llm_configured: z.boolean().describe("False: the service runs, but extraction answers 503 llm_not_configured"),
    llm: LlmReadinessSchema.optional(),
  })
  .merge(LocalModelStatusSchema.partial());

export function healthRouter(deps: {
  ready: () => boolean;
  stopping: () => boolean;
  llmConfigured: boolean;
  /** The local model's state, when it is the provider. */
  localModel?: () => LocalModelStatus;
  /** Whether an extraction can run now, and why not. */
  llm?: () => LlmReadiness;
}): Router {
  const router = Router();
  router.get("/healthz", (_req, res) => {
    res.json({ status: "ok" } satisfies z.infer<typeof HealthSchema>);
  });
  router.get("/readyz", (_req, res) => {
    const model = deps.localModel?.();
    // A model that failed to load leaves the service ready: it still answers, and every extraction says what to do.
    const loading = model?.model === "loading";
    const status = deps.stopping() ? "stopping" : deps.ready() && !loading ? "ready" : "starting";
    const llm = deps.llm?.();
    res
      .status(status === "ready" ? 200 : 503)
      .json({ status, llm_configured: deps.llmConfigured, ...(llm ? { llm } : {}), ...model } satisfies z.infer<typeof ReadinessSchema>);
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
      "200": {
        description: "Ready",
        content: {
          "application/json": {
            schema: readiness,
            examples: {
              ready: { value: { status: "ready", llm_configured: true, llm: { ready: true } } },
              offline: {
                value: {
                  status: "ready",
                  llm_configured: true,
                  llm: { ready: false, reason: "The local model could not be downloaded (no network): the next start tries again after 2026-12-07T10:15:00Z" },
                  model: "unavailable",
                },
              },
            },
          },
        },
      },
      "503": {
        description: "Starting (the local model still downloading or loading), or draining before shutdown",
        content: {
          "application/json": {
            schema: readiness,
            examples: {
              loading: { value: { status: "starting", llm_configured: true, model: "loading", progress: 0.42 } },
              stopping: { value: { status: "stopping", llm_configured: true } },
            },
          },
        },
      },
    },
  });
};
