// The local model's first start, seen from outside: /readyz while it downloads (from a loopback server standing in
// for Hugging Face), a failed download that leaves the service up and says what to do, and DEBRIEF_LOCAL_MODEL=off.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { HVAC_CALL_TEXT } from "../fixtures/calls.js";
import { LOCAL_TEST_SETTINGS, waitForModel } from "../support/local-model.js";
import { startModelServer, type ModelServer } from "../support/model-server.js";
import { until } from "../support/poll.js";
import { startTestService, type TestService } from "../support/service.js";
import { tinyGguf } from "../support/tiny-gguf.js";

const FILE = tinyGguf({ seed: 11 });
const VARIABLES = [{ name: "decision_maker", type: "boolean", description: "Whether the caller makes the final decision" }];

const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  await Promise.all(cleanup.map((close) => close()));
});

async function modelServer(behaviour: Parameters<typeof startModelServer>[1]): Promise<ModelServer> {
  const server = await startModelServer(FILE, behaviour);
  cleanup.push(() => server.close());
  return server;
}

async function service(env: Record<string, string>): Promise<TestService> {
  const started = await startTestService({ ...LOCAL_TEST_SETTINGS, ...env });
  cleanup.push(() => started.close());
  return started;
}

describe("the local model's first start", { timeout: 60_000 }, () => {
  it("answers /readyz 503 loading with the download's progress, extraction 503 local_model_loading, then serves", async () => {
    const server = await modelServer({ pauseAfterBytes: Math.floor(FILE.length / 2) });
    const debrief = await service({ DEBRIEF_LOCAL_MODEL: server.fileUrl("first-start.gguf") });

    const loading = await until(() => debrief.get("/readyz"), (res) => res.body.progress > 0);
    expect(loading.status).toBe(503);
    expect(loading.body).toMatchObject({ status: "starting", llm_configured: true, model: "loading" });
    expect(loading.body.progress).toBeGreaterThan(0.4);
    expect(loading.body.progress).toBeLessThan(0.6);
    // The service answers meanwhile, and says to come back.
    expect((await debrief.get("/healthz")).status).toBe(200);
    const early = await debrief.post("/v1/extract", { transcript: HVAC_CALL_TEXT, variables: VARIABLES });
    expect(early.status).toBe(503);
    expect(early.body.error.code).toBe("local_model_loading");
    expect(early.body.error.message).toMatch(/downloaded (49|50)%/);
    expect(early.headers.get("retry-after")).toBe("10");

    server.release();
    const ready = await waitForModel(debrief);
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: "ready", llm_configured: true, llm: { ready: true }, model: "ready" });
    expect(readdirSync(join(debrief.settings.cache.dataDir, "models"))).toEqual(["first-start.gguf"]);
    const res = await debrief.post("/v1/extract", { transcript: HVAC_CALL_TEXT, variables: VARIABLES });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.meta.model).toBe("local:first-start");
  });

  it("stays up when the download fails: /readyz 200 unavailable, extraction 503 saying what to do", async () => {
    const server = await modelServer({ status: 404 });
    const debrief = await service({ DEBRIEF_LOCAL_MODEL: server.fileUrl("gone.gguf") });
    const readiness = await waitForModel(debrief);
    expect(readiness.status).toBe(200);
    expect(readiness.body).toMatchObject({ status: "ready", llm_configured: true, model: "unavailable" });
    expect(readiness.body.reason).toContain("HTTP 404");
    // Ready to take work (calls are stored and wait); the LLM itself is not, and says why.
    expect(readiness.body.llm).toEqual({ ready: false, reason: expect.stringContaining("HTTP 404") });

    const res = await debrief.post("/v1/extract", { transcript: HVAC_CALL_TEXT, variables: VARIABLES });
    // A request that was never stored is not told that what arrived is kept.
    expect(res.body.error.message).not.toContain("what arrived is kept");
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe("local_model_unavailable");
    expect(res.body.error.message).toContain("HTTP 404");
    expect(res.body.error.message).toContain("OPENAI_API_KEY");
    expect(res.body.error.message).toContain("DEBRIEF_LOCAL_MODEL to its path");
  });

  it("refuses a downloaded file whose SHA-256 is not DEBRIEF_LOCAL_MODEL_SHA256, and keeps none of it", async () => {
    const server = await modelServer({});
    const debrief = await service({ DEBRIEF_LOCAL_MODEL: server.fileUrl("tampered.gguf"), DEBRIEF_LOCAL_MODEL_SHA256: "ab".repeat(32) });
    const readiness = await waitForModel(debrief);
    expect(readiness.body.model).toBe("unavailable");
    expect(readiness.body.reason).toContain(`not the expected ${"ab".repeat(32)}`);
    const models = join(debrief.settings.cache.dataDir, "models");
    expect(existsSync(models) ? readdirSync(models) : []).toEqual([]);
  });

  it("with DEBRIEF_LOCAL_MODEL=off and no server configured, answers 503 llm_not_configured as before", async () => {
    const debrief = await service({ DEBRIEF_LOCAL_MODEL: "off" });
    const readiness = await debrief.get("/readyz");
    expect(readiness.status).toBe(200);
    expect(readiness.body).toEqual({ status: "ready", llm_configured: false, llm: { ready: false, reason: expect.stringContaining("OPENAI_API_KEY") } });
    const res = await debrief.post("/v1/extract", { transcript: HVAC_CALL_TEXT, variables: VARIABLES });
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe("llm_not_configured");
  });
});
