// Serving the console at /console: its pages load without a key (the API behind them does not), every page path gets
// the app, hashed assets are cached for good, and a service without a build says how to make one.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultConsoleDir } from "../../src/http/routes/console.js";
import { startTestService, type TestService } from "../support/service.js";

const KEY = "dbr_console_serving_2b4d6f8a0c1e3a5c";
const INDEX = '<!doctype html><title>Debrief console</title><script type="module" src="/console/assets/index-3f9c0a12.js"></script>';

/** A build as `vite build` lays it out, without running it. */
function fakeBuild(): string {
  const dir = mkdtempSync(join(tmpdir(), "debrief-console-build-"));
  mkdirSync(join(dir, "assets"));
  writeFileSync(join(dir, "index.html"), INDEX);
  writeFileSync(join(dir, "assets", "index-3f9c0a12.js"), "console.log('console')");
  writeFileSync(join(dir, "favicon.svg"), "<svg xmlns='http://www.w3.org/2000/svg'/>");
  return dir;
}

let service: TestService;
let unbuilt: TestService;
const emptyDir = mkdtempSync(join(tmpdir(), "debrief-console-none-"));

beforeAll(async () => {
  [service, unbuilt] = await Promise.all([
    startTestService({ DEBRIEF_API_KEYS: KEY }, { consoleDir: fakeBuild() }),
    startTestService({}, { consoleDir: emptyDir }),
  ]);
});
afterAll(async () => {
  await Promise.all([service.close(), unbuilt.close()]);
});

describe("GET /console", () => {
  it("answers every page path with the app, without a key, never cached, and framed by no other site", async () => {
    for (const path of ["/console/", "/console/calls/call_0123", "/console/playground", "/console/sign-in?next=%2Fdocs%2F"]) {
      const res = await service.get(path);
      expect(res.status, path).toBe(200);
      expect(res.body, path).toBe(INDEX);
      expect(res.headers.get("content-type")).toContain("text/html");
      expect(res.headers.get("cache-control")).toBe("no-cache");
      expect(res.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
      expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
      expect(res.headers.get("x-frame-options")).toBe("DENY");
    }
  });

  it("sends /console to /console/", async () => {
    const res = await fetch(`${service.url}/console`, { redirect: "manual" });
    expect(res.status).toBe(301);
    expect(res.headers.get("location")).toBe("/console/");
  });

  it("lets browsers keep hashed assets for good, and answers a missing one with a 404, not the page", async () => {
    const asset = await fetch(`${service.url}/console/assets/index-3f9c0a12.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get("content-type")).toContain("javascript");
    expect(asset.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    const icon = await fetch(`${service.url}/console/favicon.svg`);
    expect(icon.status).toBe(200);
    expect(icon.headers.get("cache-control")).toBe("no-cache");
    const missing = await service.get("/console/assets/index-00000000.js");
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe("not_found");
  });

  it("keeps the API behind the page guarded", async () => {
    expect((await service.get("/v1/deliveries")).status).toBe(401);
    expect((await service.get("/openapi.json")).status).toBe(401);
  });

  it("says how to build the console when it was not built, and serves a build made while it runs", async () => {
    const res = await unbuilt.get("/console/");
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe("console_not_built");
    expect(res.body.error.message).toContain("npm run build");
    expect(res.body.error.message).not.toContain(emptyDir);
    writeFileSync(join(emptyDir, "index.html"), INDEX);
    expect((await unbuilt.get("/console/")).body).toBe(INDEX);
  });

  it("looks for the build in dist/web beside package.json, from src/ as from dist/src/", () => {
    const root = join(import.meta.dirname, "..", "..");
    expect(defaultConsoleDir(join(root, "src", "http", "routes", "console.ts"))).toBe(join(root, "dist", "web"));
    expect(defaultConsoleDir(join(root, "dist", "src", "http", "routes", "console.js"))).toBe(join(root, "dist", "web"));
  });
});
