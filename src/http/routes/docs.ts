// GET /openapi.json (generated on first request, then kept) and the Swagger UI at /docs, served from local assets.
// The page loads without a key; it sends the console's key (this tab's sessionStorage) with the requests it makes.
import { Router } from "express";
import swaggerUi from "swagger-ui-express";
import { z } from "zod";
import { buildOpenApiDocument, guardResponses, type ApiDocs, type DocumentOptions } from "../openapi.js";

interface SwaggerRequest {
  headers: Record<string, string>;
}
interface SwaggerResponse {
  status: number;
  url: string;
}
interface BrowserGlobals {
  sessionStorage: { getItem(key: string): string | null };
  location: { pathname: string; assign(url: string): void };
}

// These two run in the browser: swagger-ui-express writes their source into the page's init script, so they may use
// nothing from this module, only their arguments and the browser's globals. "debrief.apiKey" is where the console keeps
// the key (web/src/session.ts); the browser tests sign in on the console and then read /docs/ with it.

/** Every request the page makes (its fetch of /openapi.json included) carries the key, unless "Authorize" set one. */
function sendConsoleKey(request: SwaggerRequest): SwaggerRequest {
  const key = (globalThis as unknown as BrowserGlobals).sessionStorage.getItem("debrief.apiKey");
  if (key && !request.headers.Authorization && !request.headers.authorization) request.headers.Authorization = `Bearer ${key}`;
  return request;
}

/** The document refused for want of a key: the console's sign-in asks for one, then comes back here. */
function signInWhenRefused(response: SwaggerResponse): SwaggerResponse {
  const browser = globalThis as unknown as BrowserGlobals;
  if (response.status === 401 && /\/openapi\.json$/.test(response.url)) {
    browser.location.assign(`/console/sign-in?next=${encodeURIComponent(browser.location.pathname)}`);
  }
  return response;
}

export function docsRouter(options: DocumentOptions): Router {
  let document: ReturnType<typeof buildOpenApiDocument> | undefined;
  const router = Router();
  router.get("/openapi.json", (_req, res) => {
    document ??= buildOpenApiDocument(options);
    res.json(document);
  });
  // The page loads the document from /openapi.json (relative, so a path prefix in front of the service still works).
  // serveFiles, not serve: `serve` shares one document across every app in the process.
  const ui = {
    swaggerOptions: { url: "../openapi.json", requestInterceptor: sendConsoleKey, responseInterceptor: signInWhenRefused },
    customSiteTitle: "Debrief API",
  };
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
      security: [],
      description:
        "The page loads without an API key. It sends the key the console signed in with (this tab's sessionStorage) with " +
        "its own requests, /openapi.json included; without one, it sends you to the console's sign-in when auth is on.",
      responses: {
        "200": { description: "An HTML page", content: { "text/html": { schema: z.string() } } },
      },
    });
  };
}
