// GET /openapi.json (generated on first request, then kept) and the Swagger UI at /docs, served from local assets.
import { Router } from "express";
import swaggerUi from "swagger-ui-express";
import { z } from "zod";
import { buildOpenApiDocument, guardResponses, type ApiDocs, type DocumentOptions } from "../openapi.js";

export function docsRouter(options: DocumentOptions): Router {
  let document: ReturnType<typeof buildOpenApiDocument> | undefined;
  const router = Router();
  router.get("/openapi.json", (_req, res) => {
    document ??= buildOpenApiDocument(options);
    res.json(document);
  });
  // The page loads the document from /openapi.json (relative, so a path prefix in front of the service still works).
  // serveFiles, not serve: `serve` shares one document across every app in the process.
  const ui = { swaggerOptions: { url: "../openapi.json" }, customSiteTitle: "Debrief API" };
  router.use("/docs", swaggerUi.serveFiles(undefined, ui), swaggerUi.setup(undefined, ui));
  return router;
}

export function docsApiDocs(options: { auth: boolean }): ApiDocs {
  return (registry) => {
    registry.registerPath({
      method: "get",
      path: "/openapi.json",
      operationId: "openapi",
      tags: ["Operations"],
      summary: "This document (OpenAPI 3.1)",
      responses: {
        "200": { description: "The document", content: { "application/json": { schema: z.record(z.unknown()) } } },
        ...guardResponses({ auth: options.auth, rateLimited: false }),
      },
    });
    registry.registerPath({
      method: "get",
      path: "/docs/",
      operationId: "docs",
      tags: ["Operations"],
      summary: "Browsable API reference (Swagger UI)",
      responses: {
        "200": { description: "An HTML page", content: { "text/html": { schema: z.string() } } },
        ...guardResponses({ auth: options.auth, rateLimited: false }),
      },
    });
  };
}
