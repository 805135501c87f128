// A backfill survives SIGKILL: restarted on the same files, it finishes without re-doing a call it had finished
// (counted at the fake LLM: each finished call was sent once; only the one in flight at the kill is sent again).
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { autocallsPayload } from "../fixtures/calls.js";
import { answerFor, requestedVariables, startFakeLlm, userMessage, type FakeLlm, type RecordedRequest } from "../support/fake-llm.js";
import { until } from "../support/poll.js";
import { spawnService, type SpawnedService } from "../support/spawn-service.js";

const CALLS = 5;
let llm: FakeLlm;
const children: SpawnedService[] = [];

beforeAll(async () => {
  llm = await startFakeLlm();
});
afterAll(async () => {
  for (const child of children) child.child.kill("SIGKILL");
  await llm.close();
});

const tagOf = (request: RecordedRequest) => /call (\d+)\./.exec(userMessage(request))?.[1] ?? "?";
/** A backfill's request: the profile's second version asks for `budget` too. */
const isBackfill = (request: RecordedRequest) => requestedVariables(request).includes("budget");
/** The values each version asks for (a value the schema does not ask for would fail validation). */
const answer = (request: RecordedRequest) =>
  answerFor(request, { status: true, summary: "ok", plan: "pro", ...(isBackfill(request) ? { budget: 4000 } : {}) });

async function json(service: SpawnedService, method: string, path: string, body?: unknown) {
  const res = await fetch(`${service.url}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

it("finishes after a SIGKILL and a restart, sending no finished call to the LLM again", async () => {
  const dir = mkdtempSync(join(tmpdir(), "debrief-backfill-kill-"));
  const config = join(dir, "debrief.json");
  const writeConfig = (variables: unknown[]) => writeFileSync(config, JSON.stringify({ profiles: { booking: { variables } }, destinations: {} }));
  const plan = { name: "plan", type: "enum", options: ["basic", "pro"], description: "The plan the customer wants a demo of" };
  writeConfig([plan]);
  const env = { OPENAI_BASE_URL: llm.url, DEBRIEF_CONFIG: config, DEBRIEF_DATA_DIR: join(dir, "data"), DEBRIEF_LLM_MAX_RETRIES: "0", DEBRIEF_LLM_CONCURRENCY: "1" };
  llm.script = (request) => ({ json: answer(request) });

  // Version 1 extracts the calls.
  const first = await spawnService(env, { readyTimeoutMs: 60_000 });
  children.push(first);
  const ids: string[] = [];
  for (let n = 1; n <= CALLS; n++) {
    const transcript = `AI: Hello, this is call ${n}.\nCustomer: A demo of the Pro plan, budget four thousand.\nAI: Booked.`;
    const res = await json(first, "POST", "/v1/calls?profile=booking", autocallsPayload({ id: `kill-${n}`, transcript }));
    expect(res.status).toBe(202);
    ids.push(res.body.call_id);
  }
  for (const id of ids) expect((await until(() => json(first, "GET", `/v1/calls/${id}`), (res) => res.body.state === "extracted", 60_000)).body.state).toBe("extracted");
  first.child.kill("SIGTERM");
  await first.exited;

  // Version 2 asks for a budget too: every call is outdated. Two are answered, the third hangs, and the process dies.
  writeConfig([plan, { name: "budget", type: "number", description: "The customer's budget in dollars" }]);
  llm.script = (request) => {
    if (isBackfill(request) && llm.requests.filter(isBackfill).length === 3) return { hang: true };
    return { json: answer(request) };
  };
  const second = await spawnService(env, { readyTimeoutMs: 60_000 });
  children.push(second);
  const started = await json(second, "POST", "/v1/profiles/booking/backfill", {});
  expect(started).toMatchObject({ status: 202, body: { state: "running", total: CALLS } });
  const id = started.body.backfill_id as string;
  await until(async () => llm.requests.filter(isBackfill).length, (n) => n === 3, 60_000);
  const before = await until(() => json(second, "GET", `/v1/backfills/${id}`), (res) => res.body.done === 2, 30_000);
  expect(before.body).toMatchObject({ state: "running", done: 2 });
  second.child.kill("SIGKILL");
  expect(await second.exited).toBe("SIGKILL");
  const finishedBeforeKill = llm.requests.filter(isBackfill).slice(0, 2).map(tagOf);

  llm.script = (request) => ({ json: answer(request) });
  const third = await spawnService(env, { readyTimeoutMs: 60_000 });
  children.push(third);
  const after = await until(() => json(third, "GET", `/v1/backfills/${id}`), (res) => res.body.state === "done", 90_000);
  expect(after.body).toMatchObject({ state: "done", total: CALLS, done: CALLS, changed: CALLS, failed: 0 });

  const sent = llm.requests.filter(isBackfill).map(tagOf);
  // Every call once, and the one in flight at the kill once more: never one that had finished.
  expect(sent).toHaveLength(CALLS + 1);
  expect(new Set(sent).size).toBe(CALLS);
  for (const tag of finishedBeforeKill) expect(sent.filter((sentTag) => sentTag === tag)).toHaveLength(1);
  for (const callId of ids) expect((await json(third, "GET", `/v1/calls/${callId}`)).body.extracted_variables).toMatchObject({ budget: 4000 });
  third.child.kill("SIGTERM");
  await third.exited;
}, 240_000); // three processes start one after the other: slow on a loaded 2-core machine
