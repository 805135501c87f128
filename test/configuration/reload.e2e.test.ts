// Reloading the configuration file without a restart: POST /v1/admin/reload and SIGHUP. A good file takes effect for
// the next request and call; a bad one keeps the running configuration and names every problem. On PostgreSQL, a
// reload on one instance reaches the others through NOTIFY.
import { mkdtempSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { loadSettings } from "../../src/settings.js";
import { reloadOnSignal, startService } from "../../src/server.js";
import { autocallsPayload } from "../fixtures/calls.js";
import { answerFor, startFakeLlm, type FakeLlm } from "../support/fake-llm.js";
import { captureLogs } from "../support/log-capture.js";
import { until } from "../support/poll.js";
import { createTestDatabase, type TestDatabase } from "../support/postgres.js";
import { startReceiver, type Receiver } from "../support/receiver.js";
import { startTestService, type TestService } from "../support/service.js";

const KEY = "dbr_test_reload_0123456789abcdef";
const AUTH = { authorization: `Bearer ${KEY}` };
/** Bounds the waits for another instance (generous for a loaded machine; a pass returns as soon as it holds). */
const SETTLE_MS = 30_000;

let llm: FakeLlm;
let crm: Receiver;
const services: TestService[] = [];
const databases: TestDatabase[] = [];

/** A configuration file with `booking`, and `support` too when asked; `broken` adds two problems. */
function writeConfig(file: string, options: { support?: boolean; description?: string; broken?: boolean } = {}) {
  const profiles: Record<string, unknown> = {
    booking: {
      variables: [{ name: "plan", type: "string", description: options.description ?? "The plan the customer wants" }],
      destinations: ["crm"],
      ...(options.broken ? { timezone: "Mars/Olympus_Mons" } : {}),
    },
  };
  if (options.support) profiles.support = { variables: [], destinations: [options.broken ? "nowhere" : "crm"] };
  writeFileSync(file, JSON.stringify({ profiles, destinations: { crm: { url: crm.url } } }));
}

function configFile(options: Parameters<typeof writeConfig>[1] = {}) {
  const file = join(mkdtempSync(join(tmpdir(), "debrief-reload-")), "debrief.json");
  writeConfig(file, options);
  return file;
}

async function start(config: string, env: Record<string, string> = {}) {
  const service = await startTestService({
    OPENAI_BASE_URL: llm.url,
    DEBRIEF_CONFIG: config,
    DEBRIEF_ALLOW_PRIVATE_DESTINATIONS: "true",
    DEBRIEF_API_KEYS: KEY,
    ...env,
  });
  services.push(service);
  return service;
}

beforeAll(async () => {
  [llm, crm] = await Promise.all([startFakeLlm((request) => ({ json: answerFor(request, { status: true, summary: "ok", plan: "pro" }) })), startReceiver()]);
});
afterEach(async () => {
  await Promise.all(services.splice(0).map((service) => service.close()));
});
afterAll(async () => {
  await Promise.all([llm.close(), crm.close(), ...databases.map((database) => database.drop())]);
});

describe("POST /v1/admin/reload", { timeout: 120_000 }, () => {
  it("takes a good file into use without a restart, and reports each profile's new version", async () => {
    const config = configFile();
    const service = await start(config);
    expect((await service.post("/v1/calls?profile=support", autocallsPayload(), AUTH)).status).toBe(400);

    const unchanged = await service.post("/v1/admin/reload", {}, AUTH);
    expect(unchanged.status).toBe(200);
    expect(unchanged.body).toMatchObject({ reloaded: true, changed: false, profiles: [{ name: "booking", version: expect.stringMatching(/^[0-9a-f]{12}$/) }] });
    const before = unchanged.body.profiles[0].version;

    writeConfig(config, { support: true, description: "The plan the customer chose" });
    const reloaded = await service.post("/v1/admin/reload", undefined, AUTH);
    expect(reloaded.status).toBe(200);
    expect(reloaded.body).toEqual({
      reloaded: true,
      changed: true,
      profiles: [
        { name: "booking", version: expect.stringMatching(/^[0-9a-f]{12}$/), destinations: ["crm"] },
        { name: "support", version: expect.stringMatching(/^[0-9a-f]{12}$/), destinations: ["crm"] },
      ],
      destinations: ["crm"],
    });
    // A changed description changes what the model is asked: a new version.
    expect(reloaded.body.profiles[0].version).not.toBe(before);
    expect((await service.post("/v1/calls?profile=support", autocallsPayload(), AUTH)).status).toBe(202);
  });

  it("keeps the running configuration when the new file is bad, and names every problem in it", async () => {
    const config = configFile();
    const service = await start(config);
    writeConfig(config, { support: true, broken: true });
    const refused = await service.post("/v1/admin/reload", {}, AUTH);
    expect(refused.status).toBe(422);
    expect(refused.body.error).toMatchObject({ code: "invalid_config" });
    expect(refused.body.error.details).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: "profiles.booking.timezone" }),
        expect.objectContaining({ path: "profiles.support.destinations[0]", message: expect.stringContaining("nowhere") }),
      ]),
    );
    expect(refused.body.error.details).toHaveLength(2);
    // Still the old file: booking works, support does not exist.
    expect((await service.post("/v1/calls?profile=booking", autocallsPayload({ id: 1 }), AUTH)).status).toBe(202);
    expect((await service.post("/v1/calls?profile=support", autocallsPayload({ id: 2 }), AUTH)).status).toBe(400);

    writeFileSync(config, "{ not json");
    const unparsable = await service.post("/v1/admin/reload", {}, AUTH);
    expect(unparsable.status).toBe(422);
    expect(unparsable.body.error.details).toEqual([expect.objectContaining({ path: config, message: expect.stringContaining("not valid JSON") })]);
  });

  it("needs an API key like every other /v1 route, and takes no body fields", async () => {
    const service = await start(configFile());
    expect((await service.post("/v1/admin/reload", {})).status).toBe(401);
    const unknown = await service.post("/v1/admin/reload", { force: true }, AUTH);
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.details).toEqual([expect.objectContaining({ path: "force" })]);
  });
});

describe("SIGHUP", { timeout: 120_000 }, () => {
  it("reloads the file as the endpoint does, and logs every problem of a bad one", async () => {
    const config = configFile();
    const logs = captureLogs("info");
    const settings = loadSettings({
      PORT: "0",
      HOST: "127.0.0.1",
      DEBRIEF_LOCAL_MODEL: "off",
      OPENAI_BASE_URL: llm.url,
      DEBRIEF_CONFIG: config,
      DEBRIEF_ALLOW_PRIVATE_DESTINATIONS: "true",
      DEBRIEF_DATA_DIR: mkdtempSync(join(tmpdir(), "debrief-sighup-")),
    });
    const service = await startService(settings, logs.logger, { pipelinePollIntervalMs: 50 });
    try {
      writeConfig(config, { support: true, broken: true });
      expect(reloadOnSignal(service, logs.logger)).toMatchObject({ ok: false, issues: expect.arrayContaining([expect.objectContaining({ path: "profiles.booking.timezone" })]) });
      const refused = logs.lines().find((line) => line.msg?.startsWith("configuration not reloaded"));
      expect(refused?.issues.map((issue: { path: string }) => issue.path).sort()).toEqual(["profiles.booking.timezone", "profiles.support.destinations[0]"]);

      writeConfig(config, { support: true });
      expect(reloadOnSignal(service, logs.logger)).toMatchObject({ ok: true, changed: true });
      const url = `http://127.0.0.1:${(service.server.address() as AddressInfo).port}`;
      const accepted = await fetch(`${url}/v1/calls?profile=support`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(autocallsPayload()) });
      expect(accepted.status).toBe(202);
    } finally {
      await service.close(1_000);
    }
  });
});

describe("on a shared PostgreSQL database", { timeout: 120_000 }, () => {
  it("a reload on one instance reaches the other through NOTIFY", async () => {
    const database = await createTestDatabase();
    databases.push(database);
    const config = configFile();
    const [first, second] = [await start(config, { DEBRIEF_DATABASE_URL: database.url }), await start(config, { DEBRIEF_DATABASE_URL: database.url })];
    expect((await second.post("/v1/calls?profile=support", autocallsPayload({ id: 1 }), AUTH)).status).toBe(400);

    writeConfig(config, { support: true });
    expect((await first.post("/v1/admin/reload", {}, AUTH)).body).toMatchObject({ reloaded: true, changed: true });
    // Nothing else reloads the second instance: no restart, no signal, no polling of the file.
    const reached = await until(
      () => second.post("/v1/calls?profile=support", autocallsPayload({ id: 2 }), AUTH),
      (res) => res.status === 202,
      SETTLE_MS,
    );
    expect(reached.status).toBe(202);
  });
});
