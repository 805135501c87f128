// GET /openapi.json and /docs: a document generated from the schemas that validate, whose examples are valid.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { loadSettings } from "../../src/settings.js";
import { Extractor } from "../../src/extract/index.js";
import { createApp } from "../../src/http/app.js";
import { ErrorBodySchema } from "../../src/http/errors.js";
import { ExtractResponseSchema } from "../../src/http/routes/extract.js";
import { unconfiguredLlm } from "../../src/llm/index.js";
import { silentLogger } from "../../src/logger.js";
import { parseExtractRequest } from "../../src/schema/index.js";
import { HVAC_CALL_TEXT } from "../fixtures/calls.js";
import { answerFor, startFakeLlm, type FakeLlm } from "../support/fake-llm.js";
import { startTestService, type TestService } from "../support/service.js";
import { refsIn, resolve } from "../support/openapi.js";

const KEY = "dbr_live_openapi_3c5e7a9b1d2f4a6c";
const auth = { authorization: `Bearer ${KEY}` };

let llm: FakeLlm;
let service: TestService;
let doc: any;


beforeAll(async () => {
  llm = await startFakeLlm((request) => ({
    json: answerFor(request, { budget: 4000 }),
  }));
  service = await startTestService({ OPENAI_BASE_URL: llm.url, DEBRIEF_CACHE: "false", DEBRIEF_API_KEYS: KEY, DEBRIEF_MAX_VARIABLES: "150" });
  const res = await service.get("/openapi.json", auth);
  expect(res.status).toBe(200);
  doc = res.body;
});
afterAll(async () => {
  await service.close();
  await llm.close();
});

describe("GET /openapi.json", () => {
  it("is an OpenAPI 3.1 document covering every route, each operation with responses", () => {
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths).sort()).toEqual(["/console/", "/docs/", "/healthz", "/metrics", "/openapi.json", "/readyz", "/v1/extract", "/v1/me", "/v1/variables/convert"]);
    expect(Object.keys(doc.paths["/v1/extract"])).toEqual(["post"]);
    for (const [path, item] of Object.entries<any>(doc.paths)) {
      for (const [method, operation] of Object.entries<any>(item)) {
        expect(Object.keys(operation.responses).length, `${method} ${path}`).toBeGreaterThan(0);
        expect(operation.operationId, `${method} ${path}`).toEqual(expect.any(String));
      }
    }
  });

  it("has no dangling references", () => {
    const refs = refsIn(doc);
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) expect(resolve(doc, ref), ref).toBeDefined();
  });

  it("describes the request with the deployment's own limits, from the schema that validates it", () => {
    const request = doc.components.schemas.ExtractRequest;
    expect(request.properties.variables.maxItems).toBe(150);
    expect(request.properties.variables.items.properties.type.enum).toContain("enum");
    expect(request.properties.options.additionalProperties).toBe(false);
    expect(request.required).toEqual(["transcript"]);
  });

  it("explains every key of a variable, at the top and at each nested level, with format's four formats", () => {
    const request = doc.components.schemas.ExtractRequest;
    const described = (node: any) => node.description ?? node.allOf?.find((part: any) => part.description)?.description;
    const keys = ["name", "description", "examples", "type", "options", "fields", "items", "format", "pattern", "default_region"];
    const variable = request.properties.variables.items;
    expect(Object.keys(variable.properties)).toEqual(keys);
    for (const key of keys) expect(described(variable.properties[key]), key).toEqual(expect.any(String));
    expect(variable.properties.format.enum).toEqual(["email", "phone", "url", "time"]);
    for (const format of ["email", "phone", "url", "time"]) expect(described(variable.properties.format)).toContain(`\`${format}\``);
    expect(described(variable.properties.pattern)).toContain("RE2");
    expect(described(variable.properties.examples)).toContain("Up to 5 example values");
    expect(described(variable.properties.default_region)).toContain("ISO 3166-1 alpha-2");
    expect(described(request.properties.options.properties.default_region)).toMatch(/ISO 3166-1 alpha-2 region code .* for reading national phone numbers/);
    expect(request.properties.options.properties.default_region.example).toBe("US");

    // `fields` and `items` point to the next level, a component, and so on down to the deepest level the schema reads.
    let level = variable;
    let depth = 0;
    while (level.properties.fields.items.$ref) {
      const ref = level.properties.fields.items.$ref;
      expect(level.properties.items.allOf?.[0]?.$ref ?? level.properties.items.$ref).toBe(ref);
      level = resolve(doc, ref);
      depth += 1;
      expect(Object.keys(level.properties)).toEqual(keys);
      for (const key of keys) expect(described(level.properties[key]), `${ref} ${key}`).toEqual(expect.any(String));
      expect(level.properties.format.enum).toEqual(["email", "phone", "url", "time"]);
    }
    expect(depth).toBe(8);
    // One copy of each level, not one per path through `fields` and `items`.
    const variableDocs = Object.entries(doc.components.schemas).filter(([name]) => name === "ExtractRequest" || name.startsWith("NestedVariable"));
    expect(JSON.stringify(variableDocs).length).toBeLessThan(100_000);
  });

  it("gives examples that the service itself accepts and produces", () => {
    const operation = doc.paths["/v1/extract"].post;
    const example = operation.requestBody.content["application/json"].example;
    const limits = service.settings.limits;
    expect(() => parseExtractRequest(example, limits)).not.toThrow();
    ExtractResponseSchema.parse(operation.responses["200"].content["application/json"].example);
    const errorExamples = Object.entries<any>(operation.responses)
      .filter(([status]) => status !== "200")
      .flatMap(([, response]) => Object.values<any>(response.content["application/json"].examples).map((entry) => entry.value));
    expect(errorExamples.length).toBeGreaterThanOrEqual(10);
    for (const body of errorExamples) ErrorBodySchema.parse(body);
    expect(Object.keys(operation.responses).sort()).toEqual(["200", "400", "401", "403", "413", "415", "429", "502", "503", "504"]);
  });

  it("documents the local model's answers: its 503 codes, the 400 for another model, its state in /readyz", () => {
    const responses = doc.paths["/v1/extract"].post.responses;
    const codes = (status: string) => Object.values<any>(responses[status].content["application/json"].examples).map((entry) => entry.value.error.code);
    expect(codes("503")).toEqual(["llm_not_configured", "local_model_loading", "local_model_unavailable", "local_runtime_not_installed"]);
    expect(codes("400")).toContain("model_not_available");
    expect(responses["503"].headers["Retry-After"]).toBeDefined();
    expect(Object.keys(doc.components.schemas.Readiness.properties)).toEqual(["status", "llm_configured", "llm", "model", "progress", "reason"]);
  });

  it("matches what the service answers, field for field", async () => {
    const res = await service.post("/v1/extract", { transcript: HVAC_CALL_TEXT, variables: [{ name: "budget", type: "number", description: "Budget in USD" }] }, auth);
    expect(res.status).toBe(200);
    const strict = ExtractResponseSchema.extend({ meta: ExtractResponseSchema.shape.meta.strict() }).strict();
    expect(strict.safeParse(res.body).error?.issues).toBeUndefined();
    const refused = await service.post("/v1/extract", { transcript: 1 }, auth);
    expect(ErrorBodySchema.strict().safeParse(refused.body).success).toBe(true);
  });

  it("requires an API key everywhere but the probes and the two pages (which send the key themselves) when auth is on", () => {
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(["apiKeyHeader", "bearerAuth"]);
    expect(doc.security).toEqual([{ bearerAuth: [] }, { apiKeyHeader: [] }]);
    for (const open of ["/healthz", "/readyz", "/docs/", "/console/"]) {
      expect(doc.paths[open].get.security, open).toEqual([]);
      expect(doc.paths[open].get.responses["401"], open).toBeUndefined();
    }
    expect(doc.paths["/openapi.json"].get.responses["401"]).toBeDefined();
    expect(doc.paths["/v1/extract"].post.responses["401"]).toBeDefined();
  });

  it("includes the paths other modules register through createApp", async () => {
    const settings = loadSettings({ OPENAI_BASE_URL: "http://127.0.0.1:1/v1", DEBRIEF_RATE_LIMIT: "0" });
    const app = createApp({
      settings,
      extractor: new Extractor({ llm: unconfiguredLlm, settings: settings.llm }),
      logger: silentLogger,
      apiDocs: [
        (registry) =>
          registry.registerPath({
            method: "get",
            path: "/v1/deliveries/{id}",
            operationId: "getDelivery",
            request: { params: z.object({ id: z.string() }) },
            responses: { "200": { description: "The delivery", content: { "application/json": { schema: z.object({ id: z.string() }) } } } },
          }),
      ],
    });
    const server = createServer(app);
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/openapi.json`);
      const own = (await res.json()) as any;
      expect(own.paths["/v1/deliveries/{id}"].get.parameters).toEqual([expect.objectContaining({ name: "id", in: "path" })]);
      expect(own.security).toBeUndefined();
      expect(own.paths["/v1/extract"].post.responses["429"]).toBeUndefined();
    } finally {
      app.closeMiddleware();
      await new Promise((done) => server.close(done));
    }
  });
});

describe("GET /docs", () => {
  it("serves Swagger UI from local assets, pointed at /openapi.json", async () => {
    const bare = await fetch(`${service.url}/docs`, { headers: auth, redirect: "manual" });
    expect(bare.status).toBe(301);
    expect(bare.headers.get("location")).toBe("/docs/");

    const page = await service.get("/docs/", auth);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    const assets = [...String(page.body).matchAll(/(?:src|href)=['"]([^'"]+)['"]/g)].map((match) => match[1]!);
    expect(assets).toContain("./swagger-ui-bundle.js");
    expect(assets.filter((asset) => /^(https?:)?\/\//.test(asset))).toEqual([]);

    const bundle = await fetch(`${service.url}/docs/swagger-ui-bundle.js`, { headers: auth });
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get("content-type")).toContain("javascript");
    const init = await service.get("/docs/swagger-ui-init.js", auth);
    expect(String(init.body)).toContain('"url": "../openapi.json"');
  });
});
