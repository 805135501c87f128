// The local model without internet: a failed download is remembered in the data dir, so later starts try once, then
// not at all until the backoff has passed, and say why the LLM is not ready; SIGTERM exits 0 after "shut down".
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadSettings } from "../../src/settings.js";
import { llmReadiness } from "../../src/llm/create-llm.js";
import { LocalLlm } from "../../src/llm/local-llm.js";
import { recordDownloadFailure } from "../../src/llm/model-download.js";
import { LOCAL_TEST_SETTINGS, tinyModelFile } from "../support/local-model.js";
import { startModelServer, type ModelServer } from "../support/model-server.js";
import { spawnService } from "../support/spawn-service.js";
import { until } from "../support/poll.js";
import { tinyGguf } from "../support/tiny-gguf.js";

let server: ModelServer;
const opened: LocalLlm[] = [];

/** One start of the service's local model on `dataDir`, as the service makes it (in the background), waited for. */
async function start(dataDir: string): Promise<LocalLlm> {
  const settings = loadSettings({ ...LOCAL_TEST_SETTINGS, DEBRIEF_DATA_DIR: dataDir, DEBRIEF_LOCAL_MODEL: server.fileUrl("offline.gguf") });
  // A short first-start retry pace: the first start still tries a few connections (a cut one is resumed).
  const llm = new LocalLlm(settings.llm, { download: { attempts: 3, retryDelayMs: 10 } });
  opened.push(llm);
  await llm.start().catch(() => undefined);
  return llm;
}

const failureFile = (dataDir: string) => join(dataDir, "models", "offline.gguf.failed.json");

beforeAll(async () => {
  // The file server answers 503 to everything: a mirror that is down, as a machine without internet sees the Hub.
  server = await startModelServer(tinyGguf({ seed: 5 }), { status: 503 });
});
afterAll(async () => {
  await Promise.all(opened.map((llm) => llm.close()));
  await server.close();
});

describe("the local model without internet", { timeout: 60_000 }, () => {
  it("remembers a failed download in the data dir, tries once per start after the backoff, and says why it is not ready", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "debrief-offline-"));

    const first = await start(dataDir);
    expect(server.requests).toHaveLength(3); // the first start: its connections, then it gives up
    expect(first.status()).toMatchObject({ model: "unavailable", reason: expect.stringContaining("HTTP 503") });
    expect(llmReadiness(first)).toEqual({ ready: false, reason: expect.stringContaining("HTTP 503") });
    expect(first.status().reason).not.toContain("what arrived is kept");
    const remembered = JSON.parse(readFileSync(failureFile(dataDir), "utf8"));
    expect(remembered).toMatchObject({ url: server.fileUrl("offline.gguf"), failures: 1, reason: expect.stringContaining("HTTP 503") });

    // A restart inside the backoff makes no request at all, and says when the next start will try.
    const second = await start(dataDir);
    expect(server.requests).toHaveLength(3);
    expect(second.status().reason).toMatch(/failed 1 time, last at .*; a start after .* tries again/);
    expect(llmReadiness(second)).toMatchObject({ ready: false });

    // Once the backoff has passed (the failure moved an hour back), a start tries exactly once, and the wait doubles.
    writeFileSync(failureFile(dataDir), JSON.stringify({ ...remembered, failed_at: new Date(Date.now() - 3_600_000).toISOString() }));
    await start(dataDir);
    expect(server.requests).toHaveLength(4);
    const again = JSON.parse(readFileSync(failureFile(dataDir), "utf8"));
    expect(again.failures).toBe(2);
    expect(Date.parse(again.next_attempt_after) - Date.parse(again.failed_at)).toBe(2 * Date.parse(remembered.next_attempt_after) - 2 * Date.parse(remembered.failed_at));

    // The mirror is back: the next start after the backoff downloads, loads, and forgets the failure.
    server.behaviour.status = undefined;
    writeFileSync(failureFile(dataDir), JSON.stringify({ ...again, failed_at: new Date(Date.now() - 86_400_000).toISOString() }));
    const back = await start(dataDir);
    expect(back.status()).toEqual({ model: "ready" });
    expect(llmReadiness(back)).toEqual({ ready: true });
    expect(() => readFileSync(failureFile(dataDir))).toThrow();
    server.behaviour.status = 503;
  });

  it("exits 0 on SIGTERM after a \"shut down\" line, with the model loaded", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "debrief-offline-"));
    const service = await spawnService({ ...LOCAL_TEST_SETTINGS, DEBRIEF_DATA_DIR: dataDir, DEBRIEF_LOCAL_MODEL: tinyModelFile(), LOG_LEVEL: "info" });
    await until(() => fetch(`${service.url}/readyz`).then((res) => res.json() as Promise<any>), (body: any) => body.model === "ready");
    service.child.kill("SIGTERM");
    expect(await service.exited).toBe(0);
    expect(service.output()).toMatch(/"msg":"shut down"/);
  });

  it("exits 0 on SIGTERM after a \"shut down\" line, with the model unavailable", async () => {
    // The data dir remembers a download that failed a moment ago: this start makes no request, and says so at once.
    const dataDir = mkdtempSync(join(tmpdir(), "debrief-offline-"));
    recordDownloadFailure(join(dataDir, "models", "gone.gguf"), server.fileUrl("gone.gguf"), "could not reach the mirror");
    const requests = server.requests.length;
    const service = await spawnService({ ...LOCAL_TEST_SETTINGS, DEBRIEF_DATA_DIR: dataDir, DEBRIEF_LOCAL_MODEL: server.fileUrl("gone.gguf"), LOG_LEVEL: "info" });
    const ready = await until(() => fetch(`${service.url}/readyz`).then((res) => res.json() as Promise<any>), (body: any) => body.model === "unavailable");
    expect(ready.reason).toContain("could not reach the mirror");
    expect(server.requests.length).toBe(requests);
    service.child.kill("SIGTERM");
    expect(await service.exited).toBe(0);
    expect(service.output()).toMatch(/"msg":"shut down"/);
  });
});
