// From SQLite to PostgreSQL with store:copy: a data dir holding calls in every state is copied, cut short and resumed,
// copied again without changing anything, and then served by a PostgreSQL instance exactly as the SQLite one served it.
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqliteCallStore } from "../../src/calls/store/sqlite.js";
import { restoredJson } from "../../src/db/postgres.js";
import { silentLogger } from "../../src/logger.js";
import { copyStores, StoreCopyError } from "../../src/wiring/store-copy.js";
import { autocallsPayload, UNKNOWN_FACTS } from "../fixtures/calls.js";
import { answerFor, startFakeLlm, type FakeLlm, type Reply } from "../support/fake-llm.js";
import { until } from "../support/poll.js";
import { createTestDatabase, type TestDatabase } from "../support/postgres.js";
import { startReceiver, type Receiver } from "../support/receiver.js";
import { startTestService, type TestService } from "../support/service.js";

const run = promisify(execFile);
const variables = [{ name: "budget", type: "number", description: "Monthly budget the customer states, in USD" }];
const ANSWER = { status: true, summary: "AC repair booked", budget: 4000 };
const TABLES = ["calls", "call_extractions", "call_fates", "backfills", "backfill_items", "cursor_key", "deliveries", "attempts", "destination_health"];

let llm: FakeLlm;
let crm: Receiver;
let flaky: Receiver;
let database: TestDatabase;
let config: string;
let dataDir: string;
/** The extraction of a call whose transcript says BREAK fails while this is on. */
let breakLlm = true;
const services: TestService[] = [];

/** What the SQLite service answered, to compare with what the PostgreSQL one answers after the copy. */
const before: { list: any; views: Map<string, any>; backfill: any; ids: Record<string, string>; waiting: string; extracting: string } = {
  list: undefined,
  views: new Map(),
  backfill: undefined,
  ids: {},
  waiting: "",
  extracting: "",
};

async function service(env: Record<string, string> = {}): Promise<TestService> {
  const started = await startTestService({
    OPENAI_BASE_URL: llm.url,
    DEBRIEF_CONFIG: config,
    DEBRIEF_ALLOW_PRIVATE_DESTINATIONS: "true",
    DEBRIEF_LLM_MAX_RETRIES: "0",
    DEBRIEF_CACHE: "false",
    ...env,
  });
  services.push(started);
  return started;
}

const transcript = (words: string) => `AI: Hello, this is Sarah from CoolAir.\nCustomer: My budget is 4,000 a month. ${words}\nAI: Booked, bye.`;

/** Rows per table in the target, and a digest of their contents: what "changes nothing" is measured by. */
async function snapshot(): Promise<Record<string, string>> {
  const entries = await Promise.all(
    TABLES.map(async (table) => {
      const [row] = await database.query<{ n: string; digest: string | null }>(
        `SELECT count(*)::text AS n, md5(string_agg(t::text, '|' ORDER BY t::text)) AS digest FROM ${table} AS t`,
      );
      return [table, `${row!.n}:${row!.digest}`] as const;
    }),
  );
  return Object.fromEntries(entries);
}

function sqliteCounts(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const file of ["calls.sqlite", "outbox.sqlite"]) {
    const db = new Database(join(dataDir, file), { readonly: true });
    for (const table of TABLES) {
      const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table);
      if (exists) counts[table] = (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    }
    db.close();
  }
  return counts;
}

const cli = (args: string[], dir = dataDir) =>
  run(join(process.cwd(), "node_modules/.bin/tsx"), ["src/wiring/store-copy-cli.ts", ...args], {
    env: { ...process.env, DEBRIEF_DATA_DIR: dir, LOG_LEVEL: "silent" },
  });

beforeAll(async () => {
  [llm, crm, flaky, database] = await Promise.all([startFakeLlm(), startReceiver(), startReceiver([{ status: 400, body: "no such lead" }]), createTestDatabase()]);
  llm.logprobs = "give";
  llm.script = (request): Reply => {
    const text = JSON.stringify(request.body.messages);
    if (breakLlm && text.includes("BREAK")) return { status: 500, body: { error: { message: "the model fell over" } } };
    return { json: answerFor(request, ANSWER), tokens: { uncertain: text.includes("UNSURE") ? { budget: -1.6 } : {} } };
  };
  config = join(mkdtempSync(join(tmpdir(), "debrief-copy-")), "debrief.json");
  writeFileSync(
    config,
    JSON.stringify({
      profiles: {
        booking: { variables, destinations: ["crm"] },
        flaky: { variables, destinations: ["flaky"] },
        slow: { variables, destinations: ["slow"] },
        held: { variables, destinations: ["crm"], review: { hold: true, min_confidence: 0.8 } },
        quiet: { variables, destinations: [] },
      },
      destinations: {
        crm: { url: crm.url },
        flaky: { url: flaky.url, retry: { max_attempts: 1 } },
        // Nothing listens on port 1: the first attempt fails and the next is ten hours away.
        slow: { url: "http://127.0.0.1:1/hook", retry: { max_attempts: 3, initial_delay_ms: 36_000_000, max_delay_ms: 36_000_000 } },
      },
      extraction: { retry: { max_attempts: 1 } },
    }),
  );
  dataDir = mkdtempSync(join(tmpdir(), "debrief-copy-data-"));
});
afterAll(async () => {
  await Promise.all(services.map((started) => started.close()));
  await Promise.all([llm.close(), crm.close(), flaky.close()]);
  await database.drop();
});

describe("npm run store:copy", () => {
  it("fills a SQLite data dir with calls in every state, a backfill, failed and pending deliveries", async () => {
    const api = await service({ DEBRIEF_DATA_DIR: dataDir });
    const post = async (name: string, profile: string, state: string, overrides: Record<string, unknown> = {}) => {
      const res = await api.post(`/v1/calls?profile=${profile}`, autocallsPayload({ id: name, transcript: transcript(name), ...overrides }));
      expect(res.status).toBe(202);
      const settled = await until(() => api.get(`/v1/calls/${res.body.call_id}`), (got) => got.body.state === state);
      expect(settled.body.state).toBe(state);
      before.ids[name] = res.body.call_id;
    };
    // Text PostgreSQL cannot hold as it is (NUL, a lone surrogate, the escape character itself) goes through storable().
    await post("delivered", "booking", "delivered", { input_variables: { customer_name: "Ann\u0000 \uE000e000 \uD800" } });
    await post("delivered-2", "booking", "delivered");
    await post("failed-extraction BREAK", "booking", "extraction_failed");
    await post("skipped", "booking", "skipped", { status: "no-answer" });
    await post("held UNSURE", "held", "needs_review");
    await post("quiet", "quiet", "extracted");
    await post("approved UNSURE", "held", "needs_review");
    const approved = await api.post(`/v1/calls/${before.ids["approved UNSURE"]}/review`, { approve: true, values: { budget: 4200 } });
    expect(approved.status).toBe(200);
    await until(() => api.get(`/v1/calls/${before.ids["approved UNSURE"]}`), (got) => got.body.state === "delivered");
    await post("dead-letter", "flaky", "delivery_failed");
    await post("retrying", "slow", "delivering");

    const started = await api.post("/v1/profiles/booking/backfill", { only_outdated: false });
    expect(started.status).toBeLessThan(300);
    const backfillId = started.body.backfill_id ?? started.body.id;
    before.backfill = (await until(() => api.get(`/v1/backfills/${backfillId}`), (res) => res.body.state !== "running")).body;
    expect(before.backfill).toMatchObject({ state: "done", total: 2, done: 2 }); // the two booking calls that were extracted

    before.list = (await api.get("/v1/calls?limit=100")).body;
    for (const id of Object.values(before.ids)) before.views.set(id, (await api.get(`/v1/calls/${id}`)).body);
    before.views.set("deliveries", (await api.get("/v1/deliveries?limit=100")).body);
    await api.close();

    // A call accepted and not yet extracted when the SQLite service stopped, and one a worker held when it died.
    const store = SqliteCallStore.open(join(dataDir, "calls.sqlite"));
    const { call: dying } = await store.accept({
      profile: "booking",
      source: "autocalls",
      call: UNKNOWN_FACTS,
      externalId: "extracting",
      payload: autocallsPayload({ id: "extracting", transcript: transcript("extracting") }),
      state: "accepted",
    });
    expect((await store.claimDue(1, 3_600_000)).map((claimed) => claimed.id)).toEqual([dying.id]);
    before.extracting = dying.id;
    const { call } = await store.accept({
      profile: "booking",
      source: "autocalls",
      call: UNKNOWN_FACTS,
      externalId: "waiting",
      payload: autocallsPayload({ id: "waiting", transcript: transcript("waiting") }),
      state: "accepted",
    });
    await store.close();
    before.waiting = call.id;
  }, 60_000);

  it("resumes a copy cut short, and a second full run changes nothing", async () => {
    let batches = 0;
    const cut = copyStores({
      dataDir,
      url: database.url,
      batchSize: 2,
      logger: silentLogger,
      onBatch: () => {
        if (++batches === 3) throw new Error("cut short"); // 6 of the 11 calls are in
      },
    });
    await expect(cut).rejects.toThrow("cut short");
    const [{ n: partial }] = (await database.query<{ n: number }>("SELECT count(*)::int AS n FROM calls")) as [{ n: number }];
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(sqliteCounts().calls!);

    const resumed = await cli(["--to", database.url, "--batch-size", "3"]);
    expect(resumed.stdout).toContain("(resumed an earlier run)");
    const counts = sqliteCounts();
    const copied = await snapshot();
    for (const table of TABLES) expect(Number(copied[table]!.split(":")[0]), table).toBe(counts[table]);

    // Text PostgreSQL cannot hold is stored escaped, and reads back as SQLite held it.
    const source = new Database(join(dataDir, "calls.sqlite"), { readonly: true });
    const sqlitePayload = (source.prepare("SELECT payload FROM calls WHERE external_id = 'delivered'").get() as { payload: string }).payload;
    source.close();
    const [stored] = await database.query<{ payload: string }>("SELECT payload FROM calls WHERE external_id = 'delivered'");
    expect(sqlitePayload).toContain("\\u0000");
    expect(stored!.payload).not.toContain("\\u0000");
    expect(restoredJson(stored!.payload)).toBe(sqlitePayload);

    const again = await cli(["--to", database.url]);
    for (const table of TABLES.filter((table) => table !== "cursor_key")) expect(again.stdout).toContain(`${table}: 0 copied now`);
    expect(await snapshot()).toEqual(copied);
  }, 60_000);

  it("refuses a target holding another data dir's calls unless --merge", async () => {
    const other = mkdtempSync(join(tmpdir(), "debrief-copy-other-"));
    const store = SqliteCallStore.open(join(other, "calls.sqlite"));
    await store.accept({ profile: "booking", source: "autocalls", call: UNKNOWN_FACTS, externalId: "other-1", payload: autocallsPayload({ id: "other-1" }), state: "skipped", reason: "test" });
    await store.close();
    (await service({ DEBRIEF_DATA_DIR: other })).close(); // creates its outbox.sqlite

    await expect(copyStores({ dataDir: other, url: database.url, logger: silentLogger })).rejects.toThrow(StoreCopyError);
    const refused = await cli(["--to", database.url], other).catch((error: { code: number; stderr: string }) => error);
    expect(refused).toMatchObject({ code: 1, stderr: expect.stringContaining("already holds other data") });

    const merged = await copyStores({ dataDir: other, url: database.url, logger: silentLogger, merge: true });
    expect(merged.tables.find((table) => table.table === "calls")).toEqual({ table: "calls", inserted: 1, total: 1 });
    const mergedCalls = await database.query<{ n: number }>("SELECT count(*)::int AS n FROM calls");
    expect(mergedCalls[0]!.n).toBe(sqliteCounts().calls! + 1);
    await database.query("DELETE FROM calls WHERE external_id = 'other-1'");
  }, 60_000);

  it("serves the copied calls from PostgreSQL: list, view, review, replay, a delivery retry, the calls left unfinished", async () => {
    breakLlm = false;
    const api = await service({ DEBRIEF_DATABASE_URL: database.url });
    const unsettled = [before.waiting, before.extracting];
    const withoutWaiting = (list: any) => ({ ...list, calls: list.calls.filter((item: any) => !unsettled.includes(item.call_id)) });
    expect(withoutWaiting((await api.get("/v1/calls?limit=100")).body)).toEqual(withoutWaiting(before.list));
    for (const id of Object.values(before.ids)) expect((await api.get(`/v1/calls/${id}`)).body, id).toEqual(before.views.get(id));
    expect((await api.get("/v1/deliveries?limit=100")).body).toEqual(before.views.get("deliveries"));
    expect((await api.get(`/v1/backfills/${before.backfill.backfill_id ?? before.backfill.id}`)).body).toEqual(before.backfill);

    // The calls the SQLite service never got to, or held when it stopped (its claim is gone), are delivered from here.
    for (const id of unsettled) expect((await until(() => api.get(`/v1/calls/${id}`), (res) => res.body.state === "delivered")).body.state).toBe("delivered");
    // The reviewer's decision came along.
    expect((await api.get(`/v1/calls/${before.ids["approved UNSURE"]}`)).body.reviewed).toMatchObject({ values: { budget: 4200 } });
    // So did its values, as rows (insights, the list's `where`): found by the corrected value.
    const corrected = await api.get("/v1/calls?profile=held&where=budget:4200");
    expect(corrected.body.calls.map((item: any) => item.call_id)).toEqual([before.ids["approved UNSURE"]]);

    // A replay of the failed extraction, now that the model answers.
    const failed = before.ids["failed-extraction BREAK"]!;
    expect((await api.post(`/v1/calls/${failed}/retry`, {})).status).toBeLessThan(300);
    expect((await until(() => api.get(`/v1/calls/${failed}`), (res) => res.body.state === "delivered")).body.state).toBe("delivered");

    // The dead letter sent again, now that its receiver takes it: same webhook-id as on SQLite.
    flaky.script([{ status: 200 }]);
    const deadLetter = before.ids["dead-letter"]!;
    const [delivery] = before.views.get(deadLetter).destinations[0].deliveries;
    expect((await api.post(`/v1/deliveries/${delivery.id}/retry`, {})).status).toBe(200);
    expect((await until(() => api.get(`/v1/calls/${deadLetter}`), (res) => res.body.state === "delivered")).body.state).toBe("delivered");
    expect(flaky.requests.map((request) => request.headers["webhook-id"])).toEqual([delivery.webhook_id, delivery.webhook_id]);
  }, 60_000);
});
