// GET /metrics: the Prometheus text exposition of this instance's registry.
import { Router } from "express";
import { z } from "zod";
import type { Metrics } from "../../metrics/index.js";
import { guardResponses, type ApiDocs } from "../openapi.js";

export function metricsRouter(metrics: Metrics): Router {
  const router = Router();
  router.get("/metrics", async (_req, res) => {
    const { contentType, body } = await metrics.exposition();
    res.type(contentType).send(body);
  });
  return router;
}

export function metricsApiDocs(options: { auth: boolean }): ApiDocs {
  return (registry) => {
    registry.registerPath({
      method: "get",
      path: "/metrics",
      operationId: "metrics",
      tags: ["Operations"],
      summary: "Prometheus metrics (text exposition format)",
      description: "HTTP requests, LLM calls, tokens, cache, repair rounds, chunks, deliveries, outbox depth and process metrics, all prefixed `debrief_`.",
      responses: {
        "200": {
          description: "The metrics",
          content: {
            "text/plain; version=0.0.4; charset=utf-8": {
              schema: z.string(),
              example: '# HELP debrief_http_requests_total HTTP requests answered\n# TYPE debrief_http_requests_total counter\ndebrief_http_requests_total{method="POST",route="/v1/extract",status="200"} 42\n',
            },
          },
        },
        ...guardResponses({ auth: options.auth, rateLimited: false }),
      },
    });
  };
}
