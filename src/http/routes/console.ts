// The web console at /console: the files `npm run build` writes to dist/web, with every other page path answered by
// its index.html (the console routes in the browser). The page holds no data: it asks the guarded /v1 API for it.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import express, { Router, type Response } from "express";
import { z } from "zod";
import { DebriefError } from "../../errors.js";
import { notFound } from "../errors.js";
import { errorResponse, type ApiDocs } from "../openapi.js";

/** The console's own rules: its scripts and styles come from this origin only, and no other site may frame it. */
const SECURITY_HEADERS = {
  "Content-Security-Policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'",
  "X-Frame-Options": "DENY",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
};

/** Where `npm run build` puts the console: `dist/web` beside package.json, whether this file runs from src/ or dist/src/. */
export function defaultConsoleDir(from = fileURLToPath(import.meta.url)): string {
  let dir = dirname(from);
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return join(dir, "dist", "web");
}

class ConsoleNotBuiltError extends DebriefError {
  constructor() {
    super("console_not_built", 503, "The console is not built (no dist/web/index.html): run `npm run build`, which `npm start` runs first");
  }
}

function secure(res: Response): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
}

/**
 * The page says whether the API needs a key (`<meta name="debrief-auth">`), so a browser without one goes to sign-in
 * at once instead of asking the API first and being refused: no 401 in its console before anyone signed in.
 */
function withAuthHint(html: string, auth: boolean): string {
  return html.replace("</head>", `<meta name="debrief-auth" content="${auth ? "required" : "off"}"></head>`);
}

export function consoleRouter(options: { dir: string; auth: boolean }): Router {
  const router = Router();
  const indexFile = join(options.dir, "index.html");
  // Read on each page load (a small file, loaded once per visit): a build made while the service runs is served at once.
  const page = async (): Promise<string> => {
    try {
      return await readFile(indexFile, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") throw new ConsoleNotBuiltError();
      throw error;
    }
  };

  router.use("/console", (_req, res, next) => {
    secure(res);
    next();
  });
  // Hashed names (index-3f9c0a12.js) change with their content: a browser may keep them for good.
  // A missing asset is a 404, never the page: a browser would try to run HTML as a script.
  router.use("/console/assets", express.static(join(options.dir, "assets"), { immutable: true, maxAge: "1y", index: false, redirect: false }), notFound);
  // Anything else in the build (the icon) keeps its name across builds: revalidated on each use.
  router.use("/console", express.static(options.dir, { index: false, redirect: false, setHeaders: (res) => res.setHeader("Cache-Control", "no-cache") }));
  router.get(["/console", "/console/{*path}"], async (req, res) => {
    // One address per page: /console and /console/ are the same landing page.
    if (req.path === "/console") {
      res.redirect(301, "/console/");
      return;
    }
    res.setHeader("Cache-Control", "no-cache");
    res.type("html").send(withAuthHint(await page(), options.auth));
  });
  return router;
}

export const consoleApiDocs: ApiDocs = (registry) => {
  registry.registerPath({
    method: "get",
    path: "/console/",
    operationId: "console",
    tags: ["Operations"],
    summary: "The web console (calls, the review queue, deliveries, destinations, playground)",
    security: [],
    description:
      "The page loads without an API key; it asks for one when auth is on, keeps it in the tab's sessionStorage, and sends it " +
      "with each of its /v1 calls. Every path under /console/ answers the same page.",
    responses: {
      "200": { description: "An HTML page", content: { "text/html": { schema: z.string() } } },
      "503": errorResponse("The console was not built (`npm run build`, which `npm start` runs first).", [
        { code: "console_not_built", message: "The console is not built (no dist/web/index.html): run `npm run build`, which `npm start` runs first" },
      ]),
    },
  });
};
