// The post-call pipeline's routes in /openapi.json: present only with a pipeline, every error documented, and the
// documented schemas and examples agreeing with what the routes accept and answer.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import {
  CallAcceptedSchema,
  CallDuplicateSchema,
  CallerSchema,
  CallIgnoredSchema,
  CallListItemSchema,
  CallListSchema,
  CallReplayedSchema,
  CallReviewedSchema,
  CallSchema,
  CallSummarySchema,
  DestinationFateSchema,
  ReextractResultSchema,
} from "../../../src/calls/index.js";
import { ReloadResultSchema } from "../../../src/configuration/index.js";
import { ProfileListSchema, ProfileSchema } from "../../../src/calls/api/docs/profiles.js";
import {
  AttemptRecordSchema,
  DeliverySchema,
  DeliveryWithAttemptsSchema,
  DestinationHealthSchema,
  DestinationsHealthSchema,
  TestRequestResultSchema,
} from "../../../src/delivery/index.js";
import { ErrorBodySchema } from "../../../src/http/errors.js";
import { autocallsPayload } from "../../fixtures/calls.js";
import { answerFor, startFakeLlm, type FakeLlm } from "../../support/fake-llm.js";
import { startReceiver, type Receiver } from "../../support/receiver.js";
import { startTestService, type TestService } from "../../support/service.js";
import { refsIn, resolve } from "../../support/openapi.js";
import { until } from "../../support/poll.js";

const KEY = "dbr_live_pipeline_docs_8e2b4d6f0a1c3e5a";
const auth = { authorization: `Bearer ${KEY}` };

/** Every pipeline operation, with every status its route (and the auth, scope, rate-limit and body-parsing layers in front) can answer. */
const OPERATIONS: Record<string, string[]> = {
  "post /v1/calls": ["200", "202", "400", "401", "403", "413", "415", "429"],
  "get /v1/calls": ["200", "400", "401", "403", "404", "429"],
  "get /v1/calls/export": ["200", "400", "401", "403", "404", "429"],
  "get /v1/calls/{id}": ["200", "401", "403", "404", "429"],
  "get /v1/callers/{phone}": ["200", "400", "401", "403", "404", "429"],
  "get /v1/destinations": ["200", "401", "403", "429"],
  "post /v1/calls/{id}/retry": ["200", "400", "401", "403", "404", "409", "413", "415", "429"],
  "post /v1/calls/{id}/review": ["200", "400", "401", "403", "404", "409", "413", "415", "429"],
  "get /v1/deliveries": ["200", "400", "401", "403", "429"],
  "get /v1/deliveries/{id}": ["200", "401", "403", "404", "429"],
  "post /v1/deliveries/{id}/retry": ["200", "400", "401", "403", "404", "409", "413", "415", "429"],
  "post /v1/destinations/{name}/test": ["200", "400", "401", "403", "404", "413", "415", "429"],
  "post /v1/calls/{id}/reextract": ["200", "400", "401", "403", "404", "409", "413", "415", "429"],
  "post /v1/admin/reload": ["200", "400", "401", "403", "413", "415", "422", "429"],
  "post /v1/profiles/{name}/backfill": ["200", "202", "400", "401", "403", "404", "413", "415", "429"],
  "get /v1/backfills/{id}": ["200", "401", "403", "404", "429"],
  "post /v1/backfills/{id}/cancel": ["200", "400", "401", "403", "404", "409", "413", "415", "429"],
  "get /v1/profiles": ["200", "401", "403", "429"],
  "get /v1/profiles/{name}": ["200", "401", "403", "404", "429"],
  "get /v1/profiles/{name}/insights": ["200", "400", "401", "403", "404", "429"],
  "get /v1/audit": ["200", "400", "401", "403", "429"],
};


// Deep-strict copies of the documented schemas: a field the service sends that the document does not name fails.
const StrictDelivery = DeliverySchema.strict();
const StrictDeliveryWithAttempts = DeliveryWithAttemptsSchema.strict().extend({ attempt_history: z.array(AttemptRecordSchema.strict()) });
const StrictFate = DestinationFateSchema.strict().extend({ deliveries: z.array(StrictDeliveryWithAttempts) });
const StrictCall = CallSchema.strict().extend({ destinations: z.array(StrictFate) });
const StrictList = CallListSchema.strict().extend({ calls: z.array(CallListItemSchema.strict()) });
const StrictCaller = CallerSchema.strict().extend({ calls: z.array(CallSummarySchema.strict()) });
const StrictHealth = DestinationsHealthSchema.strict().extend({ destinations: z.array(DestinationHealthSchema.strict()) });

let llm: FakeLlm;
let crm: Receiver;
let rejecting: Receiver;
let service: TestService;
let doc: any;


/** The JSON Schema keywords the generator emits for these schemas, checked the way a client's validator would. */
function conforms(schema: any, value: unknown): boolean {
  if (schema.$ref) return conforms(resolve(doc, schema.$ref), value);
  if (schema.anyOf) return schema.anyOf.some((option: any) => conforms(option, value));
  if (schema.enum && !schema.enum.includes(value) && !(value === null && [schema.type].flat().includes("null"))) return false;
  if (schema.type) {
    const kind = value === null ? "null" : Array.isArray(value) ? "array" : Number.isInteger(value) ? "integer" : typeof value;
    const allowed = [schema.type].flat();
    if (!allowed.includes(kind) && !(kind === "integer" && allowed.includes("number"))) return false;
  }
  if (typeof value === "string" && (value.length < (schema.minLength ?? 0) || value.length > (schema.maxLength ?? Infinity))) return false;
  if (Array.isArray(value) && schema.items) return value.every((item) => conforms(schema.items, item));
  if (value && typeof value === "object" && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    if ((schema.required ?? []).some((key: string) => record[key] === undefined)) return false;
    return Object.entries(record).every(([key, field]) =>
      schema.properties?.[key] ? conforms(schema.properties[key], field) : schema.additionalProperties !== false,
    );
  }
  return true;
}


function operation(key: string) {
  const [method, path] = key.split(" ") as [string, string];
  return doc.paths[path][method];
}

beforeAll(async () => {
  llm = await startFakeLlm((request) => ({
    json: answerFor(request, { status: true, summary: "Demo booked", plan: "pro" }),
  }));
  crm = await startReceiver([{ status: 200, body: '{"ok":true}' }]);
  rejecting = await startReceiver([{ status: 400, body: "phone must be E.164" }]);
  const dir = mkdtempSync(join(tmpdir(), "debrief-openapi-"));
  const config = join(dir, "debrief.json");
  writeFileSync(
    config,
    JSON.stringify({
      profiles: {
        booking: {
          system_prompt: "Book product demos.",
          variables: [{ name: "plan", type: "enum", options: ["basic", "pro"], description: "The plan the customer wants a demo of" }],
          destinations: ["crm", "rejecting"],
          budget: { daily_usd: 20 },
        },
      },
      destinations: { crm: { url: crm.url }, rejecting: { url: rejecting.url } },
    }),
  );
  service = await startTestService({
    OPENAI_BASE_URL: llm.url,
    DEBRIEF_CACHE: "false",
    DEBRIEF_API_KEYS: KEY,
    DEBRIEF_CONFIG: config,
    DEBRIEF_ALLOW_PRIVATE_DESTINATIONS: "true",
  });
  const res = await service.get("/openapi.json", auth);
  expect(res.status).toBe(200);
  doc = res.body;
});
afterAll(async () => {
  await service.close();
  await Promise.all([llm.close(), crm.close(), rejecting.close()]);
});

describe("GET /openapi.json with the post-call pipeline configured", () => {
  it("lists every pipeline operation, each with every error response its route can give", () => {
    const listed = Object.entries<any>(doc.paths).flatMap(([path, item]) => Object.keys(item).map((method) => `${method} ${path}`));
    // The app's own /v1 routes (not the pipeline's) are the HTTP tests' to list.
    const appRoutes = ["/v1/extract", "/v1/me", "/v1/variables/convert"];
    expect(listed.filter((key) => !appRoutes.some((route) => key.endsWith(route)) && key.includes("/v1/")).sort()).toEqual(Object.keys(OPERATIONS).sort());
    for (const [key, statuses] of Object.entries(OPERATIONS)) {
      const documented = operation(key);
      expect(Object.keys(documented.responses).sort(), key).toEqual(statuses);
      expect(documented.operationId, key).toEqual(expect.any(String));
      for (const [status, response] of Object.entries<any>(documented.responses)) {
        if (Number(status) < 400) continue;
        const content = response.content["application/json"];
        expect(content.schema, `${key} ${status}`).toEqual({ $ref: "#/components/schemas/Error" });
        const bodies = Object.values<any>(content.examples).map((example) => example.value);
        expect(bodies.length, `${key} ${status}`).toBeGreaterThan(0);
        for (const body of bodies) expect(ErrorBodySchema.safeParse(body).success, `${key} ${status}`).toBe(true);
      }
    }
  });

  it("documents the platforms' errors on POST /v1/calls: unknown shapes, bad signatures and tokens beside the API key", () => {
    const responses = operation("post /v1/calls").responses;
    expect(Object.keys(responses["400"].content["application/json"].examples)).toEqual(expect.arrayContaining(["unknown_payload_shape", "invalid_request"]));
    expect(Object.keys(responses["401"].content["application/json"].examples).sort()).toEqual(["invalid_signature", "unauthorized"]);
    expect(responses["401"].headers["WWW-Authenticate"]).toBeDefined();
  });

  it("has no dangling references, and a call's destinations refer to the fate and delivery schemas", () => {
    for (const ref of refsIn(doc)) expect(resolve(doc, ref), ref).toBeDefined();
    expect(doc.components.schemas.Call.properties.destinations.items).toEqual({ $ref: "#/components/schemas/DestinationFate" });
    expect(doc.components.schemas.DestinationFate.properties.deliveries.items).toEqual({ $ref: "#/components/schemas/DeliveryWithAttempts" });
    expect(doc.components.schemas.Call.properties.state).toEqual({ $ref: "#/components/schemas/CallState" });
    expect(doc.components.schemas.CallState.enum).toEqual([
      "accepted",
      "waiting_for_budget",
      "extracting",
      "extraction_failed",
      "skipped",
      "needs_review",
      "extracted",
      "delivering",
      "delivered",
      "delivery_failed",
    ]);
    expect(Object.keys(doc.components.schemas)).toEqual(
      expect.arrayContaining(["AutocallsPayload", "VapiPayload", "RetellPayload", "ElevenlabsPayload", "BlandPayload", "SynthflowPayload", "ThoughtlyPayload"]),
    );
    expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(["Call", "CallFacts", "Delivery", "DeliveryWithAttempts", "TestRequestResult"]));
  });

  it("documents the profile and the delivery filters as the parameters the routes read", () => {
    expect(operation("post /v1/calls").parameters).toEqual([
      expect.objectContaining({ name: "profile", in: "query", required: true }),
      expect.objectContaining({ name: "token", in: "query", required: false }),
    ]);
    const filters = operation("get /v1/deliveries").parameters;
    expect(filters.map((parameter: any) => parameter.name)).toEqual(["status", "destination", "call_id", "limit"]);
    expect(filters[0].schema.enum).toEqual(["pending", "delivered", "failed"]);
    expect(filters[3].schema).toMatchObject({ type: "integer", minimum: 1, maximum: 200 });
    const calls = operation("get /v1/calls").parameters;
    expect(calls.map((parameter: any) => parameter.name)).toEqual(["profile", "source", "state", "external_id", "since", "until", "destination", "where", "limit", "cursor"]);
    expect(calls.every((parameter: any) => parameter.in === "query" && parameter.required === false)).toBe(true);
    expect(calls[2].schema).toMatchObject({ type: "array", items: { enum: doc.components.schemas.CallState.enum } });
    expect(operation("get /v1/callers/{phone}").parameters).toEqual([
      expect.objectContaining({ name: "phone", in: "path", required: true }),
      expect.objectContaining({ name: "profile", in: "query", required: true }),
      expect.objectContaining({ name: "limit", in: "query", required: false }),
    ]);
  });

  it.each([
    ["no transcript", { ...autocallsPayload(), transcript: undefined }, "transcript"],
    ["a transcript that is a number", autocallsPayload({ transcript: 42 }), "transcript"],
    ["an id that is an object", autocallsPayload({ id: { x: 1 } }), "id"],
    ["an empty id", autocallsPayload({ id: "" }), "id"],
    ["a status that is not a string", autocallsPayload({ status: 3 }), "status"],
  ])("documents a request schema that rejects a call with %s, as the route does", async (_name, body, field) => {
    const schema = operation("post /v1/calls").requestBody.content["application/json"].schema;
    expect(conforms(schema, body)).toBe(false);
    const res = await service.post("/v1/calls?profile=booking", body, auth);
    expect(res.status).toBe(400);
    expect(res.body.error.details.map((detail: { path: string }) => detail.path)).toContain(field);
  });

  it("documents Autocalls' shape as requiring the transcript and keeping every other field", () => {
    const payload = doc.components.schemas.AutocallsPayload;
    expect(payload.required).toEqual(["transcript"]);
    expect(payload.additionalProperties).not.toBe(false);
    expect(conforms(payload, autocallsPayload({ id: "call-9", campaign: { id: 7 }, anything: [1, 2] }))).toBe(true);
  });

  it("gives a request example the route accepts, and response examples in the documented shapes", async () => {
    const accept = operation("post /v1/calls");
    const example = accept.requestBody.content["application/json"].example;
    expect(conforms(accept.requestBody.content["application/json"].schema, example)).toBe(true);
    const res = await service.post("/v1/calls?profile=booking", example, auth);
    expect(res.status).toBe(202);

    const json = (key: string, status: string) => operation(key).responses[status].content["application/json"];
    for (const { value } of Object.values<any>(json("post /v1/calls", "202").examples)) CallAcceptedSchema.strict().parse(value);
    for (const { value } of Object.values<any>(json("post /v1/calls", "200").examples)) z.union([CallDuplicateSchema.strict(), CallIgnoredSchema.strict()]).parse(value);
    for (const { value } of Object.values<any>(json("get /v1/calls/{id}", "200").examples)) StrictCall.parse(value);
    StrictList.parse(json("get /v1/calls", "200").example);
    StrictCaller.parse(json("get /v1/callers/{phone}", "200").example);
    StrictHealth.parse(json("get /v1/destinations", "200").example);
    CallReplayedSchema.strict().parse(json("post /v1/calls/{id}/retry", "200").example);
    for (const { value } of Object.values<any>(json("post /v1/calls/{id}/review", "200").examples)) CallReviewedSchema.strict().parse(value);
    z.object({ deliveries: z.array(StrictDelivery) }).strict().parse(json("get /v1/deliveries", "200").example);
    const shown = Object.values<any>(json("get /v1/deliveries/{id}", "200").examples).map(({ value }) => StrictDeliveryWithAttempts.parse(value.delivery));
    expect(shown.map((delivery) => delivery.status).sort()).toEqual(["delivered", "failed"]);
    z.object({ delivery: StrictDelivery }).strict().parse(json("post /v1/deliveries/{id}/retry", "200").example);
    for (const { value } of Object.values<any>(json("post /v1/destinations/{name}/test", "200").examples)) TestRequestResultSchema.strict().parse(value);
  });

  it("matches what the routes answer, field for field and status for status", { timeout: 120_000 }, async () => {
    const accepted = await service.post("/v1/calls?profile=booking", autocallsPayload({ id: "docs-1" }), auth);
    expect(accepted.status).toBe(202);
    CallAcceptedSchema.strict().parse(accepted.body);
    const duplicate = await service.post("/v1/calls?profile=booking", autocallsPayload({ id: "docs-1" }), auth);
    expect(duplicate.status).toBe(200);
    CallDuplicateSchema.strict().parse(duplicate.body);

    const callId = accepted.body.call_id;
    const call = await until(() => service.get(`/v1/calls/${callId}`, auth), (res) => res.body.state === "delivery_failed", 30_000);
    expect(StrictCall.safeParse(call.body).error?.issues).toBeUndefined();
    const deliveries = call.body.destinations.flatMap((destination: { deliveries: unknown[] }) => destination.deliveries);
    expect(deliveries.map((delivery: { status: string }) => delivery.status).sort()).toEqual(["delivered", "failed"]);
    const failed = deliveries.find((delivery: { status: string }) => delivery.status === "failed");
    const delivered = deliveries.find((delivery: { status: string }) => delivery.status === "delivered");
    const list = await service.get("/v1/calls?limit=1", auth);
    expect(StrictList.safeParse(list.body).error?.issues).toBeUndefined();
    const caller = await service.get(`/v1/callers/${encodeURIComponent("+15551234567")}?profile=booking`, auth);
    expect(StrictCaller.safeParse(caller.body).error?.issues).toBeUndefined();
    expect(caller.body.known).toBe(true);
    const health = await service.get("/v1/destinations", auth);
    expect(StrictHealth.safeParse(health.body).error?.issues).toBeUndefined();

    const listed = await service.get(`/v1/deliveries?call_id=${callId}`, auth);
    expect(z.object({ deliveries: z.array(StrictDelivery) }).strict().safeParse(listed.body).error?.issues).toBeUndefined();
    const one = await service.get(`/v1/deliveries/${failed.id}`, auth);
    expect(z.object({ delivery: StrictDeliveryWithAttempts }).strict().safeParse(one.body).error?.issues).toBeUndefined();
    const replayed = await service.post(`/v1/deliveries/${failed.id}/retry`, undefined, auth);
    expect(replayed.status).toBe(200);
    expect(z.object({ delivery: StrictDelivery }).strict().safeParse(replayed.body).error?.issues).toBeUndefined();
    const tested = await service.post("/v1/destinations/crm/test", undefined, auth);
    expect(TestRequestResultSchema.strict().safeParse(tested.body).error?.issues).toBeUndefined();
    const reextracted = await service.post(`/v1/calls/${callId}/reextract`, { dry_run: true }, auth);
    expect(reextracted.status).toBe(200);
    expect(ReextractResultSchema.strict().safeParse(reextracted.body).error?.issues).toBeUndefined();
    const reloaded = await service.post("/v1/admin/reload", undefined, auth);
    expect(reloaded.status).toBe(200);
    expect(ReloadResultSchema.strict().safeParse(reloaded.body).error?.issues).toBeUndefined();
    const profiles = await service.get("/v1/profiles", auth);
    expect(ProfileListSchema.strict().extend({ profiles: z.array(ProfileSchema.strict()) }).safeParse(profiles.body).error?.issues).toBeUndefined();
    expect(profiles.body.profiles[0].versions[0].calls).toBeGreaterThan(0);
    const profile = await service.get("/v1/profiles/booking", auth);
    const Budget = ProfileSchema.shape.budget.unwrap();
    expect(ProfileSchema.strict().extend({ budget: Budget.strict().extend({ today: Budget.shape.today.strict() }) }).safeParse(profile.body).error?.issues).toBeUndefined();
    expect(profile.body.budget).toMatchObject({ daily_usd: 20, on_exceeded: "continue", today: { exceeded: false } });

    // Each error the routes give is one the document lists for that operation, with that code.
    const errors: [string, Promise<{ status: number; body: any }>][] = [
      ["post /v1/calls", service.post("/v1/calls", autocallsPayload(), auth)],
      ["post /v1/calls", service.post("/v1/calls?profile=booking", "{", auth)],
      ["post /v1/calls", service.post("/v1/calls?profile=booking", autocallsPayload(), { ...auth, "content-type": "text/plain" })],
      ["get /v1/calls/{id}", service.get("/v1/calls/call_nope", auth)],
      ["get /v1/calls", service.get("/v1/calls?state=lost", auth)],
      ["get /v1/calls", service.get("/v1/calls?cursor=abc.def", auth)],
      ["get /v1/calls", service.get("/v1/calls", {})],
      ["get /v1/callers/{phone}", service.get("/v1/callers/5551234567?profile=booking", auth)],
      ["get /v1/callers/{phone}", service.get("/v1/callers/+15551234567", auth)],
      ["get /v1/destinations", service.get("/v1/destinations", {})],
      ["get /v1/profiles/{name}", service.get("/v1/profiles/nope", auth)],
      ["get /v1/calls/{id}", service.get(`/v1/calls/${callId}`)],
      ["post /v1/calls/{id}/retry", service.post("/v1/calls/call_nope/retry", undefined, auth)],
      ["post /v1/calls/{id}/retry", service.post(`/v1/calls/${callId}/retry`, undefined, auth)],
      ["post /v1/calls/{id}/review", service.post("/v1/calls/call_nope/review", { approve: true }, auth)],
      ["post /v1/calls/{id}/review", service.post(`/v1/calls/${callId}/review`, { approve: true }, auth)],
      ["post /v1/calls/{id}/review", service.post(`/v1/calls/${callId}/review`, { approve: false }, auth)],
      ["post /v1/calls/{id}/review", service.post(`/v1/calls/${callId}/review`, "{", auth)],
      ["get /v1/deliveries", service.get("/v1/deliveries?status=lost", auth)],
      ["get /v1/deliveries/{id}", service.get("/v1/deliveries/dlv_missing", auth)],
      ["post /v1/deliveries/{id}/retry", service.post("/v1/deliveries/dlv_missing/retry", undefined, auth)],
      ["post /v1/deliveries/{id}/retry", service.post(`/v1/deliveries/${delivered.id}/retry`, undefined, auth)],
      ["post /v1/deliveries/{id}/retry", service.post(`/v1/deliveries/${delivered.id}/retry`, "{", auth)],
      ["post /v1/destinations/{name}/test", service.post("/v1/destinations/nope/test", undefined, auth)],
      ["post /v1/calls/{id}/reextract", service.post("/v1/calls/call_nope/reextract", undefined, auth)],
      ["post /v1/calls/{id}/reextract", service.post(`/v1/calls/${callId}/reextract`, { dry_run: 1 }, auth)],
      ["post /v1/calls/{id}/reextract", service.post(`/v1/calls/${callId}/reextract`, "{", auth)],
      ["post /v1/admin/reload", service.post("/v1/admin/reload", { force: true }, auth)],
      ["post /v1/admin/reload", service.post("/v1/admin/reload", undefined)],
    ];
    for (const [key, pending] of errors) {
      const res = await pending;
      const documented = operation(key).responses[String(res.status)];
      expect(documented, `${key} answered ${res.status}`).toBeDefined();
      expect(Object.keys(documented.content["application/json"].examples), `${key} ${res.status}`).toContain(res.body.error.code);
    }
  });
});

describe("GET /openapi.json without a pipeline", () => {
  it("does not list the pipeline's routes", async () => {
    const bare = await startTestService({ OPENAI_BASE_URL: llm.url, DEBRIEF_CACHE: "false" });
    try {
      const res = await bare.get("/openapi.json");
      expect(Object.keys(res.body.paths).filter((path) => /^\/v1\/(calls|deliveries|destinations)/.test(path))).toEqual([]);
      expect(res.body.components.schemas.AutocallsPayload).toBeUndefined();
    } finally {
      await bare.close();
    }
  });
});
