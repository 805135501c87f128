// GET /v1/calls/export?format=eval end to end: production calls come out as eval dataset lines that `npm run eval`
// reads back and scores; bad parameters are 400s naming them; the store is read a page at a time.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Report } from "../../../evals/index.js";
import { extractedCalls, EXPORT_PAGE_SIZE } from "../../../src/calls/api/export.js";
import { autocallsPayload, UNKNOWN_FACTS } from "../../fixtures/calls.js";
import { answerFor, startFakeLlm, userMessage, type FakeLlm, type RecordedRequest } from "../../support/fake-llm.js";
import { until } from "../../support/poll.js";
import { startTestService, type TestService } from "../../support/service.js";
import { ENGINES, contractHarness } from "../../support/stores.js";

const KEY = "dbr_live_export_5c2a9e7b1d3f4a6c";
const auth = { authorization: `Bearer ${KEY}` };

/** Answers plan "basic" when the call mentions the basic plan, else "pro": the service and the eval harness agree. */
function model(request: RecordedRequest) {
  const basic = userMessage(request).includes("basic plan");
  return { json: answerFor(request, { status: true, summary: "Demo booked", plan: basic ? "basic" : "pro", customer_name: "Dana" }) };
}

const variables = [
  { name: "plan", type: "enum", options: ["basic", "pro"], description: "The plan the customer wants a demo of" },
  { name: "customer_name", type: "string", description: "The customer's name" },
];

let llm: FakeLlm;
let api: TestService;
let dir: string;

beforeAll(async () => {
  llm = await startFakeLlm(model);
  dir = mkdtempSync(join(tmpdir(), "debrief-export-"));
  const config = join(dir, "debrief.json");
  writeFileSync(
    config,
    JSON.stringify({
      profiles: {
        booking: { system_prompt: "Book product demos.", variables, timezone: "America/New_York" },
        other: { variables },
      },
      destinations: {},
    }),
  );
  api = await startTestService({ OPENAI_BASE_URL: llm.url, DEBRIEF_CONFIG: config, DEBRIEF_CACHE: "false", DEBRIEF_API_KEYS: KEY });
});
afterAll(async () => {
  await api.close();
  await llm.close();
});

async function post(profile: string, id: string, text: string, overrides: Record<string, unknown> = {}) {
  const transcript = `AI: Hello, this is Sarah.\nCustomer: ${text}\nAI: Thanks, bye.`;
  const res = await api.post(`/v1/calls?profile=${profile}`, autocallsPayload({ id, transcript, ...overrides }), auth);
  expect(res.status).toBe(202);
  return res.body.call_id as string;
}

async function extracted(callId: string) {
  const call = await until(() => api.get(`/v1/calls/${callId}`, auth), (res) => res.body.state === "extracted");
  expect(call.body.state).toBe("extracted");
}

async function exportText(query: string): Promise<{ status: number; type: string | null; text: string }> {
  const response = await fetch(`${api.url}/v1/calls/export?${query}`, { headers: auth });
  return { status: response.status, type: response.headers.get("content-type"), text: await response.text() };
}

/** `npm run eval -- --dataset file` as a user runs it, against the same fake LLM. */
async function runEval(dataset: string): Promise<{ code: number | null; stderr: string; report: Report }> {
  const out = join(dir, "report");
  const child = spawn(process.execPath, ["--import", "tsx", "evals/run.ts", "--dataset", dataset, "--out", out], {
    env: { PATH: process.env.PATH, OPENAI_BASE_URL: llm.url, OPENAI_API_KEY: "test-key", DEBRIEF_LLM_MAX_RETRIES: "0" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  return { code, stderr, report: JSON.parse(readFileSync(join(out, "report.json"), "utf8")) as Report };
}

describe("GET /v1/calls/export?format=eval", () => {
  it("streams a profile's extracted calls as provisional eval lines that the eval harness reads back and scores", async () => {
    const basic = await post("booking", "exp-1", "I'd like a demo of the basic plan.", { input_variables: { customer_name: "Dana" } });
    const pro = await post("booking", "exp-2", "Can I get a demo of the Pro plan?");
    const elsewhere = await post("other", "exp-3", "The basic plan, please.");
    // Not completed: stored as skipped, never extracted, so never exported.
    await post("booking", "exp-4", "Hello?", { status: "no-answer" }).catch(() => undefined);
    for (const id of [basic, pro, elsewhere]) await extracted(id);

    const res = await exportText("profile=booking&format=eval");
    expect(res.status).toBe(200);
    expect(res.type).toContain("application/x-ndjson");
    const lines = res.text.trim().split("\n").map((line) => JSON.parse(line));
    // Newest first; only this profile's extracted calls.
    expect(lines.map((line) => line.id)).toEqual([pro, basic]);
    const line = lines[1];
    expect(line).toMatchObject({
      scenario: "booking",
      variables,
      context: { system_prompt: "Book product demos.", call: { created_at: "2025-01-15T10:30:00.000Z", timezone: "America/New_York" }, input_variables: { customer_name: "Dana" } },
      expected: { status: true, summary: "Demo booked", plan: "basic", customer_name: "Dana" },
      provisional: true,
    });
    expect(line.transcript).toEqual([
      { role: "agent", content: "Hello, this is Sarah." },
      { role: "customer", content: "I'd like a demo of the basic plan." },
      { role: "agent", content: "Thanks, bye." },
    ]);

    const dataset = join(dir, "production.jsonl");
    writeFileSync(dataset, res.text);
    llm.requests.length = 0;
    const run = await runEval(dataset);
    expect(run.stderr).not.toMatch(/problem|crashed/);
    expect(run.code).toBe(0);
    expect(run.report.dataset).toMatchObject({ items: 2, provisional_items: 2 });
    expect(run.report.calls.map((call) => call.id)).toEqual([pro, basic]);
    expect(run.report.models[0]!.overall).toMatchObject({ accuracy: 1, items: 2 });
    // The harness re-ran both calls on the LLM, with the exported transcript.
    expect(llm.requests).toHaveLength(2);
    expect(llm.requests.some((request) => userMessage(request).includes("I'd like a demo of the basic plan."))).toBe(true);
  });

  it("keeps to the period asked for, and answers an empty export when nothing matches", async () => {
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const res = await exportText(`profile=booking&format=eval&since=${encodeURIComponent(future)}`);
    expect(res).toMatchObject({ status: 200, text: "" });
  });

  it.each([
    ["format=eval", "profile"],
    ["profile=booking", "format"],
    ["profile=booking&format=csv", "format"],
    ["profile=booking&format=eval&since=yesterday", "since"],
    ["profile=booking&format=eval&since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z", "until"],
    ["profile=booking&format=eval&cursor=x", "cursor"],
  ])("answers 400 naming the parameter for ?%s (never a call lookup of 'export')", async (query, path) => {
    const res = await api.get(`/v1/calls/export?${query}`, auth);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("invalid_request");
    expect(res.body.error.details.map((detail: { path: string }) => detail.path)).toContain(path);
  });

  it("answers 404 profile_not_found for an unknown profile, naming no other profile (issue 25: was a 400 listing them)", async () => {
    const res = await api.get("/v1/calls/export?profile=nope&format=eval", auth);
    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({ code: "profile_not_found", message: 'No profile named "nope"' });
    expect(JSON.stringify(res.body)).not.toContain("booking");
  });
});

describe.each(ENGINES)("exporting from the $name store", (engine) => {
  const harness = contractHarness(engine);
  afterAll(async () => {
    await harness.cleanup();
    await engine.dispose();
  });

  it("reads every extracted call, page after page, newest first", async () => {
    const { store } = await harness.open();
    const ids: string[] = [];
    for (let n = 0; n < EXPORT_PAGE_SIZE * 2 + 5; n++) {
      const { call } = await store.accept({ profile: "p", source: "autocalls", externalId: `e${n}`, call: UNKNOWN_FACTS, payload: { n }, state: n % 10 === 3 ? "skipped" : "accepted" });
      if (call.stage === "accepted") {
        await store.markExtracted(call.id, { extracted_variables: { n }, meta: {} }, []);
        ids.push(call.id);
      }
      harness.clock.advance(1);
    }
    const seen: string[] = [];
    for await (const call of extractedCalls(store, { profile: "p" })) seen.push(call.id);
    expect(seen).toEqual(ids.reverse());
  });
});
