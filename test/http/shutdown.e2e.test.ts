// Graceful shutdown of the real server process: SIGTERM lets in-flight requests finish, refuses new connections,
// and exits 0 within DEBRIEF_SHUTDOWN_TIMEOUT; a request that outlives the deadline is cut.
import { createServer } from "node:http";
import { mkdtempSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, it } from "vitest";
import { loadSettings } from "../../src/settings.js";
import { Extractor } from "../../src/extract/index.js";
import { createApp } from "../../src/http/app.js";
import { unconfiguredLlm } from "../../src/llm/index.js";
import { silentLogger } from "../../src/logger.js";
import { HVAC_CALL_TEXT } from "../fixtures/calls.js";
import { answerFor, startFakeLlm, type FakeLlm } from "../support/fake-llm.js";
import { spawnService, type SpawnedService } from "../support/spawn-service.js";

const children: SpawnedService[] = [];
const llms: FakeLlm[] = [];

/** `node --import tsx src/server.ts` against `llm`, logging at info so the test can read how it stopped. */
async function spawnServer(llm: FakeLlm, env: Record<string, string>) {
  const service = await spawnService({
    LOG_LEVEL: "info",
    OPENAI_BASE_URL: llm.url,
    DEBRIEF_CACHE: "false",
    DEBRIEF_DATA_DIR: mkdtempSync(join(tmpdir(), "debrief-shutdown-")),
    ...env,
  });
  children.push(service);
  return {
    ...service,
    port: Number(new URL(service.url).port),
    /** The exit code and when it came. */
    stopped: service.exited.then((code) => ({ code, at: Date.now() })),
    logs: () => service.output().split("\n").filter((line) => line.startsWith("{")).map((line) => JSON.parse(line) as Record<string, any>),
  };
}

function extract(url: string) {
  return fetch(`${url}/v1/extract`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ transcript: HVAC_CALL_TEXT, variables: [] }),
  });
}

/** Resolves with the connection error code, or "connected". */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve("connected");
    });
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "error"));
  });
}

/** The signal takes a moment to arrive: connections are tried for up to a second until one is refused. */
async function refusedWithinASecond(port: number): Promise<string> {
  let outcome = await tryConnect(port);
  for (let i = 0; i < 20 && outcome === "connected"; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    outcome = await tryConnect(port);
  }
  return outcome;
}

async function untilCalled(llm: FakeLlm) {
  while (llm.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
}

async function fakeLlm(script: Parameters<typeof startFakeLlm>[0]) {
  const llm = await startFakeLlm(script);
  llms.push(llm);
  return llm;
}

afterAll(async () => {
  for (const { child } of children) if (child.exitCode === null) child.kill("SIGKILL");
  await Promise.all(llms.map((llm) => llm.close()));
});

// Each test runs its own server process and LLM, so they run side by side.
describe.concurrent("graceful shutdown", () => {
  it("on SIGTERM finishes the request in flight, refuses new connections, and exits 0 within the deadline", async ({ expect }) => {
    const llm = await fakeLlm((request) => ({
      json: answerFor(request),
      delayMs: 1_000,
    }));
    const server = await spawnServer(llm, { DEBRIEF_SHUTDOWN_TIMEOUT: "5s" });
    const inFlight = extract(server.url);
    await untilCalled(llm);

    const signalled = Date.now();
    server.child.kill("SIGTERM");
    // Refused, or (when the connection raced the close into the kernel backlog) reset: never served.
    expect(["ECONNREFUSED", "ECONNRESET"]).toContain(await refusedWithinASecond(server.port));

    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).extracted_variables).toHaveProperty("status");
    const { code, at } = await server.stopped;
    expect(code).toBe(0);
    expect(at - signalled).toBeLessThan(5_000);
    expect(server.logs().map((line) => line.msg)).toEqual(expect.arrayContaining(["shutting down: finishing requests in flight", "shut down"]));
  });

  it("on SIGINT cuts a request that outlives DEBRIEF_SHUTDOWN_TIMEOUT, and still exits 0", async ({ expect }) => {
    const llm = await fakeLlm(() => ({ hang: true }));
    const server = await spawnServer(llm, { DEBRIEF_SHUTDOWN_TIMEOUT: "500ms" });
    const inFlight = extract(server.url).then(
      (res) => res.status,
      (error: Error) => error.name,
    );
    await untilCalled(llm);

    const signalled = Date.now();
    server.child.kill("SIGINT");
    expect(await inFlight).toBe("TypeError");
    const { code, at } = await server.stopped;
    expect(code).toBe(0);
    expect(at - signalled).toBeGreaterThanOrEqual(450);
    expect(at - signalled).toBeLessThan(3_000);
    expect(server.logs().find((line) => line.msg.startsWith("shutdown deadline reached"))).toMatchObject({ level: 40, in_flight: 1 });
  });

  it("answers /readyz with 503 stopping while draining", async ({ expect }) => {
    const settings = loadSettings({ DEBRIEF_RATE_LIMIT: "0", DEBRIEF_LOCAL_MODEL: "off" });
    let stopping = false;
    const app = createApp({ settings, extractor: new Extractor({ llm: unconfiguredLlm, settings: settings.llm }), logger: silentLogger, stopping: () => stopping });
    const server = createServer(app);
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/readyz`;
    try {
      expect(await (await fetch(url)).json()).toEqual({ status: "ready", llm_configured: false });
      stopping = true;
      const draining = await fetch(url);
      expect(draining.status).toBe(503);
      expect(await draining.json()).toEqual({ status: "stopping", llm_configured: false });
    } finally {
      server.closeAllConnections();
      await new Promise((done) => server.close(done));
    }
  });
});
