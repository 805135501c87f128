// Backfills end to end on SQLite: a dry run's sample, diff and estimate (against tokens counted independently), a real
// run behind live calls (the order the fake LLM sees requests in), cancellation, and bad input.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { get_encoding } from "tiktoken";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { TOKENS_PER_MESSAGE, TOKENS_PER_REQUEST } from "../../src/extract/plan.js";
import { SHIPPED_PRICES } from "../../src/llm/index.js";
import { autocallsPayload } from "../fixtures/calls.js";
import { answerFor, startFakeLlm, userMessage, type FakeLlm, type RecordedRequest, type Reply } from "../support/fake-llm.js";
import { until } from "../support/poll.js";
import { startTestService, type TestService } from "../support/service.js";

const KEY = "dbr_live_backfill_7a3c5e9b1d2f4a6c";
const auth = { authorization: `Bearer ${KEY}` };

const o200k = get_encoding("o200k_base");
const tokens = (text: string) => o200k.encode_ordinary(text).length;
/** What OpenAI bills as a request's prompt: every message's text, the response schema, and the chat framing. */
function billedPrompt(request: RecordedRequest): number {
  const schema = request.body.response_format?.json_schema?.schema;
  return request.body.messages.reduce((sum, message) => sum + tokens(message.content) + TOKENS_PER_MESSAGE, tokens(schema ? JSON.stringify(schema) : "") + TOKENS_PER_REQUEST);
}

const variables = [{ name: "plan", type: "enum", options: ["basic", "pro"], description: "The plan the customer wants a demo of" }];

/** Each call says "call <tag>": which call a request is for. */
const tagOf = (request: RecordedRequest) => /call ([\w-]+)\./.exec(userMessage(request))?.[1] ?? "?";

/** The plan a call is answered with: "pro" after the model "learned better" (`upgraded`), else what the call says. */
let upgraded = new Set<string>();
/** Requests for these tags wait until `release()`. */
let held = new Set<string>();
let release: () => void = () => {};
let gate = Promise.resolve();

function model(request: RecordedRequest): Reply | Promise<Reply> {
  const tag = tagOf(request);
  const answer = (): Reply => ({
    json: answerFor(request, { status: true, summary: "Demo booked", plan: upgraded.has(tag) ? "pro" : userMessage(request).includes("basic plan") ? "basic" : "pro" }),
  });
  return held.has(tag) ? gate.then(answer) : answer();
}

function hold(tags: string[]) {
  held = new Set(tags);
  gate = new Promise((resolve) => (release = resolve));
}

let llm: FakeLlm;
const services: TestService[] = [];
const configFiles = new Map<TestService, { file: string; profile: Record<string, unknown> }>();

/** A sharper description, reloaded: a new profile version, so every call extracted before is outdated. */
async function changeProfile(api: TestService) {
  const { file, profile } = configFiles.get(api)!;
  const sharper = [{ ...variables[0], description: "The plan (basic or pro) the customer asks to see a demo of" }];
  writeFileSync(file, JSON.stringify({ profiles: { booking: { ...profile, variables: sharper } }, destinations: {} }));
  const res = await api.post("/v1/admin/reload", undefined, auth);
  expect(res.status).toBe(200);
}

beforeAll(async () => {
  llm = await startFakeLlm(model);
});
afterEach(async () => {
  release();
  await Promise.all(services.splice(0).map((service) => service.close()));
  upgraded = new Set();
  held = new Set();
});
afterAll(async () => {
  await llm.close();
  o200k.free();
});

async function service(profile: Record<string, unknown> = {}): Promise<TestService> {
  const file = join(mkdtempSync(join(tmpdir(), "debrief-backfill-")), "debrief.json");
  writeFileSync(file, JSON.stringify({ profiles: { booking: { variables, ...profile } }, destinations: {} }));
  const started = await startTestService({
    OPENAI_BASE_URL: llm.url,
    DEBRIEF_CONFIG: file,
    DEBRIEF_API_KEYS: KEY,
    // Every re-extraction reaches the LLM (the cache would answer an unchanged call for free).
    DEBRIEF_CACHE: "false",
    DEBRIEF_LLM_MAX_RETRIES: "0",
    DEBRIEF_LLM_CONCURRENCY: "1",
  });
  services.push(started);
  configFiles.set(started, { file, profile });
  return started;
}

async function postCall(api: TestService, tag: string, plan: "basic" | "pro" = "basic"): Promise<string> {
  const transcript = `AI: Hello, this is call ${tag}.\nCustomer: I'd like a demo of the ${plan === "basic" ? "basic plan" : "Pro plan"}.\nAI: Booked.`;
  const res = await api.post("/v1/calls?profile=booking", autocallsPayload({ id: `ext-${tag}`, transcript }), auth);
  expect(res.status).toBe(202);
  return res.body.call_id as string;
}

async function extracted(api: TestService, ids: string[]) {
  for (const id of ids) {
    const call = await until(() => api.get(`/v1/calls/${id}`, auth), (res) => res.body.state === "extracted");
    expect(call.body.state).toBe("extracted");
  }
}

const backfill = (api: TestService, body: unknown) => api.post("/v1/profiles/booking/backfill", body, auth);
const finished = (api: TestService, id: string) =>
  until(() => api.get(`/v1/backfills/${id}`, auth), (res) => res.body.state !== "running", 15_000);

describe("POST /v1/profiles/{name}/backfill with dry_run", () => {
  it("re-extracts a sample without storing it, and estimates every matching call's tokens and cost", async () => {
    const api = await service();
    const ids = [await postCall(api, "d1"), await postCall(api, "d2"), await postCall(api, "d3")];
    await extracted(api, ids);
    await changeProfile(api);
    upgraded = new Set(["d2"]);
    llm.requests.length = 0;

    const res = await backfill(api, { dry_run: true, limit: 2 });
    expect(res.status).toBe(200);
    // The sample is the newest two; the estimate covers all three.
    expect(llm.requests.map(tagOf)).toEqual(["d3", "d2"]);
    expect(res.body).toMatchObject({
      dry_run: true,
      profile: "booking",
      matching: 3,
      sampled: 2,
      changed_calls: 1,
      change_rates: { status: 0, summary: 0, plan: 0.5 },
      examples: [{ call_id: ids[1], changes: { plan: { before: "basic", after: "pro" } } }],
      sample_errors: [],
      sample_usage: { prompt_tokens: 200, completion_tokens: 40 },
    });
    // The three calls' prompts differ only in their tag, which is one token whatever the digit: each is the sampled one's size.
    const perCall = billedPrompt(llm.requests[0]!);
    expect(billedPrompt(llm.requests[1]!)).toBe(perCall);
    const price = SHIPPED_PRICES.models["gpt-4o-mini"]!;
    expect(res.body.estimate).toEqual({
      model: "gpt-4o-mini",
      calls: 3,
      llm_calls: 3,
      prompt_tokens: 3 * perCall,
      // The fake LLM bills 20 completion tokens a call.
      completion_tokens: 60,
      // Rounded to 6 decimals (issue 23: not a float sum's 17 digits).
      cost_usd: Math.round(3 * perCall * price.prompt + 60 * price.completion) / 1_000_000,
    });
    // Nothing stored: the call keeps its values.
    expect((await api.get(`/v1/calls/${ids[1]}`, auth)).body.extracted_variables.plan).toBe("basic");
  });

  it("gives tokens without a cost for a model the price table does not know", async () => {
    const api = await service({ model: "llama3.1:8b" });
    await extracted(api, [await postCall(api, "u1")]);
    await changeProfile(api);
    const res = await backfill(api, { dry_run: true });
    expect(res.status).toBe(200);
    expect(res.body.estimate).toMatchObject({ model: "llama3.1:8b", calls: 1, cost_usd: null, note: expect.stringContaining("llama3.1:8b") });
    expect(res.body.estimate.prompt_tokens).toBeGreaterThan(0);
  });

  it("says so when every sampled call was answered from the result cache, instead of an upper bound of 0 completion tokens", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "debrief-backfill-")), "debrief.json");
    writeFileSync(file, JSON.stringify({ profiles: { booking: { variables } }, destinations: {} }));
    const api = await startTestService({ OPENAI_BASE_URL: llm.url, DEBRIEF_CONFIG: file, DEBRIEF_API_KEYS: KEY, DEBRIEF_LLM_MAX_RETRIES: "0" });
    services.push(api);
    await extracted(api, [await postCall(api, "k1")]);
    // Every call, not only outdated ones: the one call is at the current version, so its answer is the cached one.
    const res = await backfill(api, { dry_run: true, only_outdated: false });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ matching: 1, sampled: 1, sample_cached: 1, estimate: { completion_tokens: 0 } });
    expect(res.body.estimate.note).toMatch(/answered from the result cache/);
    expect(Number.isInteger(res.body.estimate.cost_usd * 1e6)).toBe(true);
  });

  it("matches nothing when every call is at the profile's current version (only_outdated, the default)", async () => {
    const api = await service();
    await extracted(api, [await postCall(api, "c1")]);
    llm.requests.length = 0;
    const res = await backfill(api, { dry_run: true });
    expect(res.body).toMatchObject({ matching: 0, sampled: 0, estimate: { calls: 0, prompt_tokens: 0, cost_usd: 0 } });
    expect(llm.requests).toHaveLength(0);
    expect((await backfill(api, {})).body).toMatchObject({ state: "done", total: 0 });
  });
});

describe("a backfill run", () => {
  it("re-extracts every matching call and counts what changed, serving a live call that arrives first", async () => {
    const api = await service();
    const ids = [await postCall(api, "r1"), await postCall(api, "r2"), await postCall(api, "r3")];
    await extracted(api, ids);
    await changeProfile(api);
    upgraded = new Set(["r1", "r3"]);
    llm.requests.length = 0;
    // The first call the backfill sends (the newest, r3) waits at the LLM while a live call comes in.
    hold(["r3"]);

    const started = await backfill(api, {});
    expect(started.status).toBe(202);
    expect(started.body).toEqual({ backfill_id: expect.stringMatching(/^bf_/), state: "running", total: 3 });
    await until(async () => llm.requests.length, (n) => n === 1);
    const live = await postCall(api, "live");
    release();

    const done = await finished(api, started.body.backfill_id);
    await extracted(api, [live]);
    // Live first: once the backfill's first call was answered, the live call went before the backfill's next ones.
    expect(llm.requests.map(tagOf)).toEqual(["r3", "live", "r2", "r1"]);
    expect(done.body).toMatchObject({
      backfill_id: started.body.backfill_id,
      profile: "booking",
      state: "done",
      total: 3,
      done: 3,
      changed: 2,
      failed: 0,
      tokens: { prompt_tokens: 300, completion_tokens: 60 },
      redeliver: false,
      finished_at: expect.any(String),
    });
    expect((await api.get(`/v1/calls/${ids[0]}`, auth)).body.extracted_variables.plan).toBe("pro");
    expect((await api.get(`/v1/calls/${ids[1]}`, auth)).body.extracted_variables.plan).toBe("basic");
  });

  it("stops at cancel: the call in flight finishes, the others are never sent", async () => {
    const api = await service();
    const ids = [await postCall(api, "k1"), await postCall(api, "k2"), await postCall(api, "k3")];
    await extracted(api, ids);
    await changeProfile(api);
    llm.requests.length = 0;
    hold(["k3"]);
    const started = await backfill(api, {});
    await until(async () => llm.requests.length, (n) => n === 1);

    const cancelled = await api.post(`/v1/backfills/${started.body.backfill_id}/cancel`, undefined, auth);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ state: "cancelled", total: 3, done: 0, finished_at: expect.any(String) });
    release();
    const after = await until(() => api.get(`/v1/backfills/${started.body.backfill_id}`, auth), (res) => res.body.done === 1);
    expect(after.body).toMatchObject({ state: "cancelled", done: 1 });
    // A live call extracted after it proves the worker ran since; the backfill sent nothing more.
    await extracted(api, [await postCall(api, "after")]);
    expect(llm.requests.map(tagOf)).toEqual(["k3", "after"]);
    expect((await api.post(`/v1/backfills/${started.body.backfill_id}/cancel`, undefined, auth)).body.state).toBe("cancelled");
  });

  it("answers 409 when cancelling a backfill that is done, and 404 for one that does not exist", async () => {
    const api = await service();
    const done = await backfill(api, {});
    expect(done.body.state).toBe("done");
    const conflict = await api.post(`/v1/backfills/${done.body.backfill_id}/cancel`, undefined, auth);
    expect(conflict.status).toBe(409);
    expect(conflict.body.error.code).toBe("conflict");
    expect((await api.get("/v1/backfills/bf_nope", auth)).status).toBe(404);
    expect((await api.post("/v1/backfills/bf_nope/cancel", undefined, auth)).status).toBe(404);
  });
});

describe("bad backfill requests", () => {
  it.each([
    [{ since: "yesterday" }, "since"],
    [{ since: "2026-01-02T00:00:00Z", until: "2026-01-01T00:00:00Z" }, "until"],
    [{ states: ["finished"] }, "states[0]"],
    [{ limit: 0 }, "limit"],
    [{ limit: 2.5 }, "limit"],
    [{ dry_run: true, limit: 500 }, "limit"],
    [{ only_outdated: "yes" }, "only_outdated"],
    [{ dryrun: true }, "dryrun"],
    [[], ""],
  ])("answers 400 naming the field for %j", async (body, path) => {
    const api = await service();
    const res = await backfill(api, body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("invalid_request");
    expect(res.body.error.details.map((detail: { path: string }) => detail.path)).toContain(path);
  });

  it("answers 404 for a profile that does not exist", async () => {
    const api = await service();
    const res = await api.post("/v1/profiles/nope/backfill", {}, auth);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("profile_not_found");
  });
});
