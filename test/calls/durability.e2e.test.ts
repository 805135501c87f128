// Nothing accepted is lost: the server is killed (SIGKILL) mid-work and restarted on the same files, or stopped with SIGTERM.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { answerFor, startFakeLlm, type FakeLlm } from "../support/fake-llm.js";
import { until } from "../support/poll.js";
import { startReceiver, type Receiver } from "../support/receiver.js";
import { spawnService, type SpawnedService } from "../support/spawn-service.js";
import { AUTOCALLS_TURNS, UNKNOWN_FACTS } from "../fixtures/calls.js";

let llm: FakeLlm;
const children: SpawnedService[] = [];

beforeAll(async () => {
  llm = await startFakeLlm();
});
afterAll(async () => {
  for (const child of children) child.child.kill("SIGKILL");
  await llm.close();
});

function setup(receiver: Receiver, retry = { max_attempts: 5, initial_delay_ms: 1_500, max_delay_ms: 1_500 }) {
  const dir = mkdtempSync(join(tmpdir(), "debrief-durable-"));
  const config = join(dir, "debrief.json");
  writeFileSync(
    config,
    JSON.stringify({
      profiles: { booking: { variables: [], destinations: ["crm"] } },
      destinations: { crm: { url: receiver.url, retry } },
      extraction: { retry: { max_attempts: 50, initial_delay_ms: 200, max_delay_ms: 200 } },
    }),
  );
  return {
    OPENAI_BASE_URL: llm.url,
    DEBRIEF_CONFIG: config,
    DEBRIEF_DATA_DIR: join(dir, "data"),
    DEBRIEF_ALLOW_PRIVATE_DESTINATIONS: "true",
    DEBRIEF_LLM_MAX_RETRIES: "0",
  };
}

async function start(env: Record<string, string>) {
  const service = await spawnService(env);
  children.push(service);
  return service;
}

async function postCall(service: SpawnedService, id: number) {
  const res = await fetch(`${service.url}/v1/calls?profile=booking`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ id, status: "completed", transcript: AUTOCALLS_TURNS, customer_phone: "+15550001111" }),
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { call_id: string }).call_id;
}

async function callState(service: SpawnedService, callId: string) {
  return (await (await fetch(`${service.url}/v1/calls/${callId}`)).json()) as { state: string; destinations: { deliveries: { attempts: number; status: string }[] }[] };
}

const okAnswer = () => (request: Parameters<FakeLlm["script"]>[0]) => ({
  json: answerFor(request, { status: true, summary: "ok" }),
});

describe("durability", () => {
  it("finishes a delivery after a SIGKILL in the middle of its retry wait", async () => {
    llm.script = okAnswer();
    const receiver = await startReceiver([{ status: 500 }, { status: 200 }]);
    const env = setup(receiver);
    const first = await start(env);
    const callId = await postCall(first, 901);
    await receiver.waitForRequests(1, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 200)); // the failed attempt is recorded; the retry waits
    first.child.kill("SIGKILL");
    expect(await first.exited).toBe("SIGKILL");

    const second = await start(env);
    await receiver.waitForRequests(2, 15_000);
    const state = await until(() => callState(second, callId), (call) => call.state === "delivered", 20_000);
    expect(state.state).toBe("delivered");
    expect(receiver.requests).toHaveLength(2);
    expect(new Set(receiver.requests.map((r) => r.headers["webhook-id"])).size).toBe(1);
    await receiver.close();
  }, 60_000); // two processes start, one after the other: slow on a loaded 2-core machine

  it("extracts and delivers, after a restart, a call accepted while the LLM was down", async () => {
    // The LLM never answers: the process dies holding the call's claim, mid-extraction.
    llm.script = () => ({ hang: true });
    const receiver = await startReceiver([{ status: 200 }]);
    const env = setup(receiver);
    const first = await start(env);
    const before = llm.requests.length;
    const callId = await postCall(first, 902);
    for (let i = 0; i < 200 && llm.requests.length === before; i += 1) await new Promise((resolve) => setTimeout(resolve, 25));
    first.child.kill("SIGKILL");
    await first.exited;

    llm.script = okAnswer();
    const second = await start(env);
    await receiver.waitForRequests(1, 15_000);
    expect(JSON.parse(receiver.requests[0]!.body).debrief.call_id).toBe(callId);
    await receiver.close();
  });

  it("on SIGTERM lets an in-flight delivery finish, then exits 0", async () => {
    llm.script = okAnswer();
    const receiver = await startReceiver([{ status: 200, delayMs: 1_000 }]);
    const env = setup(receiver);
    const service = await start(env);
    const callId = await postCall(service, 903);
    await receiver.waitForRequests(1, 10_000);
    service.child.kill("SIGTERM");
    expect(await service.exited).toBe(0);

    const restarted = await start(env);
    const state = await callState(restarted, callId);
    expect(state.state).toBe("delivered");
    expect(state.destinations[0]!.deliveries[0]).toMatchObject({ status: "delivered", attempts: 1 });
    expect(receiver.requests).toHaveLength(1);
    await receiver.close();
  }, 60_000); // two processes start, one after the other: slow on a loaded machine

  it("refuses to start with a bad configuration file, naming the path", async () => {
    const dir = mkdtempSync(join(tmpdir(), "debrief-badconfig-"));
    const config = join(dir, "debrief.json");
    writeFileSync(config, JSON.stringify({ profiles: { booking: { destinations: ["crm"] } }, destinations: { crm: { url: "https://x.example/${MISSING_TOKEN}" } } }));
    const service = await spawnService({ OPENAI_BASE_URL: llm.url, DEBRIEF_CONFIG: config, DEBRIEF_DATA_DIR: join(dir, "data") }, { waitReady: false });
    expect(await service.exited).toBe(1);
    expect(service.output()).toContain("destinations.crm.url");
    expect(service.output()).toContain("MISSING_TOKEN");
    expect(service.output()).not.toContain("    at "); // a message, not a stack trace
  });
});
