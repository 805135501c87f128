// Scoped keys seen from a client: every /v1 operation in the OpenAPI document declares the scope it needs, and answers
// 403 insufficient_scope to a key without it (a new route that declares none fails here); keys reload with the file.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SCOPES, sha256, type Scope } from "../../src/access/index.js";
import { answerFor, startFakeLlm, type FakeLlm } from "../support/fake-llm.js";
import { startTestService, type TestService } from "../support/service.js";

const ENV_KEY = "dbr_env_admin_0123456789abcdef01";
const PLAIN: Scope[] = SCOPES.filter((scope) => scope !== "admin");
const envName = (label: string) => `KEY_${label.replace(/[^A-Za-z0-9]/g, "_").toUpperCase()}`;
const secretOf = (label: string) => `dbr_${label.replace(/[^A-Za-z0-9]/g, "_")}_${"0123456789abcdef".repeat(2)}`;
const bearer = (label: string) => ({ authorization: `Bearer ${secretOf(label)}` });

/** For every scope: a key holding only it, and one holding every other plain scope (never admin). */
const KEYS: Record<string, Scope[]> = {
  ...Object.fromEntries(PLAIN.map((scope) => [`only-${scope.replace(":", "-")}`, [scope]])),
  ...Object.fromEntries(SCOPES.map((scope) => [`without-${scope.replace(":", "-")}`, PLAIN.filter((other) => other !== scope)])),
  "only-admin": ["admin"],
};

function writeConfig(file: string, keys: Record<string, Scope[]>, extra: Record<string, unknown> = {}) {
  const entries = Object.fromEntries(Object.entries(keys).map(([name, scopes]) => [name, { key: `\${${envName(name)}}`, scopes }]));
  writeFileSync(file, JSON.stringify({ profiles: { booking: { variables: [] }, dental: { variables: [] } }, keys: { ...entries, ...extra } }));
}

let llm: FakeLlm;
let service: TestService;
let file: string;
let doc: any;
const env: Record<string, string> = {};

beforeAll(async () => {
  llm = await startFakeLlm((request) => ({ json: answerFor(request) }));
  file = join(mkdtempSync(join(tmpdir(), "debrief-scopes-")), "debrief.json");
  for (const label of [...Object.keys(KEYS), "rotated", "desk"]) env[envName(label)] = secretOf(label);
  writeConfig(file, KEYS);
  service = await startTestService({ OPENAI_BASE_URL: llm.url, DEBRIEF_CACHE: "false", DEBRIEF_CONFIG: file, DEBRIEF_API_KEYS: ENV_KEY, DEBRIEF_RATE_LIMIT: "0", ...env });
});

/** The document the service serves: fetched by the tests that walk it, so the others stand on their own. */
async function loadDocument() {
  if (doc) return;
  const res = await service.get("/openapi.json", bearer("only-calls-read"));
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  doc = res.body;
}
afterAll(async () => {
  await service?.close();
  await llm?.close();
});

/** Every /v1 operation in the document, with a concrete path for it. */
function operations(): { method: string; template: string; path: string; operation: any }[] {
  return Object.entries<any>(doc.paths)
    .filter(([template]) => template.startsWith("/v1/"))
    .flatMap(([template, item]) =>
      Object.entries<any>(item).map(([method, operation]) => ({ method, template, path: template.replace(/\{[^}]+\}/g, "nothing_here"), operation })),
    );
}

async function send(method: string, path: string, headers: Record<string, string>) {
  const response = await fetch(`${service.url}${path}`, {
    method: method.toUpperCase(),
    headers: method === "get" ? headers : { ...headers, "content-type": "application/json" },
    body: method === "get" ? undefined : "{}",
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

describe("every /v1 operation declares its scope and enforces it", () => {
  it("declares a security requirement naming one scope (or none: any valid key) on every /v1 operation", async () => {
    await loadDocument();
    const found = operations();
    expect(found.length).toBeGreaterThanOrEqual(20);
    for (const { method, template, operation } of found) {
      const label = `${method.toUpperCase()} ${template}`;
      expect(operation.security, `${label} declares no scope: add it to OPERATION_SCOPES`).toEqual([
        { bearerAuth: expect.any(Array) },
        { apiKeyHeader: expect.any(Array) },
      ]);
      const scopes: string[] = operation.security[0].bearerAuth;
      expect(scopes.length, label).toBeLessThanOrEqual(1);
      for (const scope of scopes) expect(SCOPES, label).toContain(scope);
      if (scopes.length) expect(operation.responses["403"], label).toBeDefined();
    }
  });

  it("answers 403 insufficient_scope, naming the scope, to a key without it, and lets keys with it (or admin) through", async () => {
    await loadDocument();
    for (const { method, template, path, operation } of operations()) {
      const label = `${method.toUpperCase()} ${template}`;
      const scope: Scope | undefined = operation.security[0].bearerAuth[0];
      if (scope === undefined) {
        for (const name of ["only-extract", "without-admin"]) expect((await send(method, path, bearer(name))).status, `${label} ${name}`).toBe(200);
        continue;
      }
      const refused = await send(method, path, bearer(`without-${scope.replace(":", "-")}`));
      expect(refused.status, label).toBe(403);
      expect(refused.body.error.code, label).toBe("insufficient_scope");
      expect(refused.body.error.message, label).toContain(scope);
      const holders = scope === "admin" ? ["only-admin"] : [`only-${scope.replace(":", "-")}`, "only-admin"];
      for (const holder of holders) {
        const res = await send(method, path, bearer(holder));
        expect([401, 403], `${label} with ${holder}: ${JSON.stringify(res.body)}`).not.toContain(res.status);
      }
      // A DEBRIEF_API_KEYS key means admin: nothing that worked before scopes is refused now.
      expect([401, 403], `${label} with DEBRIEF_API_KEYS`).not.toContain((await send(method, path, { authorization: `Bearer ${ENV_KEY}` })).status);
    }
  });

  it("counts requests by the key's name in the metrics, never the key", async () => {
    await service.get("/v1/me", bearer("only-extract"));
    await service.get("/v1/calls", bearer("only-extract"));
    const text: string = (await service.get("/metrics", bearer("only-admin"))).body;
    expect(text).toMatch(/debrief_api_key_requests_total\{key="only-extract",status="200"\} [1-9]/);
    expect(text).toMatch(/debrief_api_key_requests_total\{key="only-extract",status="403"\} [1-9]/);
    expect(text).not.toContain(secretOf("only-extract"));
  });

  it("keeps /metrics and /openapi.json open to any valid key, and answers 401 without one", async () => {
    expect((await service.get("/metrics", bearer("only-calls-write"))).status).toBe(200);
    expect((await service.get("/openapi.json", bearer("only-extract"))).status).toBe(200);
    expect((await service.get("/v1/me")).status).toBe(401);
  });
});

describe("GET /v1/me", () => {
  it("answers with the key's name, scopes and profiles", async () => {
    const res = await service.get("/v1/me", bearer("without-admin"));
    expect(res.body).toEqual({ auth: true, name: "without-admin", scopes: PLAIN, profiles: null });
  });

  it("names a DEBRIEF_API_KEYS key by its digest, never the key, with every scope", async () => {
    const res = await service.get("/v1/me", { "x-api-key": ENV_KEY });
    expect(res.body).toEqual({ auth: true, name: `api-key:${sha256(ENV_KEY).toString("hex").slice(0, 8)}`, scopes: [...SCOPES], profiles: null });
    expect(JSON.stringify(res.body)).not.toContain(ENV_KEY);
  });
});

describe("keys reload with the configuration", () => {
  it("admits a key added to the file and refuses one removed from it, after a reload (how a key is rotated)", async () => {
    const admin = { authorization: `Bearer ${ENV_KEY}` };
    expect((await service.get("/v1/me", bearer("rotated"))).status).toBe(401);
    writeConfig(file, { ...KEYS, rotated: ["calls:read"] }, { desk: { key_sha256: sha256(secretOf("desk")).toString("hex"), scopes: ["calls:review"], profiles: ["dental"] } });
    expect((await service.post("/v1/admin/reload", undefined, admin)).status).toBe(200);
    expect((await service.get("/v1/me", bearer("rotated"))).body).toMatchObject({ name: "rotated", scopes: ["calls:read"] });
    expect((await service.get("/v1/me", bearer("desk"))).body).toMatchObject({ name: "desk", profiles: ["dental"] });

    const { "only-extract": _removed, ...rest } = KEYS;
    writeConfig(file, { ...rest, rotated: ["calls:read"] });
    expect((await service.post("/v1/admin/reload", undefined, admin)).status).toBe(200);
    expect((await service.get("/v1/me", bearer("only-extract"))).status).toBe(401);
    expect((await service.get("/v1/me", bearer("desk"))).status).toBe(401);
  });

  it("refuses a reload with a bad key, naming every problem, and keeps the running keys", async () => {
    writeConfig(file, KEYS, { bad: { key: "${NOT_SET_ANYWHERE}", scopes: ["calls:nothing"], profiles: ["nowhere"] } });
    const res = await service.post("/v1/admin/reload", undefined, bearer("only-admin"));
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe("invalid_config");
    expect(res.body.error.details.map((detail: { path: string }) => detail.path)).toEqual(["keys.bad.scopes[0]"]);
    expect((await service.get("/v1/me", bearer("rotated"))).status).toBe(200);
  });
});

describe("authentication switched on by the file alone", () => {
  let alone: TestService;
  let aloneFile: string;
  beforeAll(async () => {
    aloneFile = join(mkdtempSync(join(tmpdir(), "debrief-scopes-")), "debrief.json");
    writeConfig(aloneFile, { "only-admin": ["admin"] });
    alone = await startTestService({ OPENAI_BASE_URL: llm.url, DEBRIEF_CONFIG: aloneFile, ...env });
  });
  afterAll(async () => alone?.close());

  it("asks for a key when only the file holds keys", async () => {
    expect((await alone.get("/v1/calls")).status).toBe(401);
    expect((await alone.get("/v1/calls", bearer("only-admin"))).status).toBe(200);
  });

  it("refuses with 422 a reload that would leave no key at all, and the key keeps working", async () => {
    writeFileSync(aloneFile, JSON.stringify({ profiles: { booking: { variables: [] } } }));
    const res = await alone.post("/v1/admin/reload", undefined, bearer("only-admin"));
    expect(res.status).toBe(422);
    expect(res.body.error.details).toEqual([{ path: "keys", message: expect.stringContaining("no API key") }]);
    expect((await alone.get("/v1/calls")).status).toBe(401);
    expect((await alone.get("/v1/calls", bearer("only-admin"))).status).toBe(200);
  });
});
