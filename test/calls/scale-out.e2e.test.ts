// Several Debrief processes on one PostgreSQL database, as deployed: they start together, share the work, and one killed
// with SIGKILL in the middle loses nothing (its claims pass to the others when their leases end).
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CALLS_POSTGRES_MIGRATIONS } from "../../src/calls/store/postgres.js";
import type { PostgresMigrations } from "../../src/db/postgres.js";
import { OUTBOX_POSTGRES_MIGRATIONS } from "../../src/delivery/outbox/postgres.js";
import { answerFor, startFakeLlm, type FakeLlm } from "../support/fake-llm.js";
import { until } from "../support/poll.js";
import { createTestDatabase, type TestDatabase } from "../support/postgres.js";
import { startReceiver, type Receiver } from "../support/receiver.js";
import { spawnService, type SpawnedService } from "../support/spawn-service.js";

let llm: FakeLlm;
const answer: FakeLlm["script"] = (request) => ({ json: answerFor(request, { status: true, summary: "ok" }), delayMs: 40 });
/** Each instance extracts at most this many calls at once (its LLM concurrency). */
const PER_INSTANCE = 8;
let crm: Receiver;
let config: string;
const databases: TestDatabase[] = [];
const children: SpawnedService[] = [];

beforeAll(async () => {
  llm = await startFakeLlm(answer);
  crm = await startReceiver([{ status: 200, delayMs: 20 }]);
  config = join(mkdtempSync(join(tmpdir(), "debrief-scale-")), "debrief.json");
  writeFileSync(
    config,
    JSON.stringify({
      profiles: { booking: { variables: [], destinations: ["crm"] } },
      destinations: { crm: { url: crm.url, timeout_ms: 2_000, retry: { max_attempts: 20, initial_delay_ms: 200, max_delay_ms: 1_000 } } },
      extraction: { retry: { max_attempts: 20, initial_delay_ms: 200, max_delay_ms: 1_000 } },
    }),
  );
});
afterAll(async () => {
  for (const child of children) child.child.kill("SIGKILL");
  await Promise.all(children.map((child) => child.exited));
  await Promise.all([llm.close(), crm.close()]);
  await Promise.all(databases.map((database) => database.drop()));
});

/**
 * Short leases so a takeover happens within the test: an extraction lease follows the LLM timeout
 * (2 s × 1 try × 4 + 2 s = 10 s), a delivery lease is the destination's 2 s timeout plus a 2 s grace.
 */
function env(database: TestDatabase, extra: Record<string, string> = {}): Record<string, string> {
  return {
    OPENAI_BASE_URL: llm.url,
    DEBRIEF_CONFIG: config,
    DEBRIEF_DATABASE_URL: database.url,
    DEBRIEF_DATA_DIR: mkdtempSync(join(tmpdir(), "debrief-scale-data-")),
    DEBRIEF_ALLOW_PRIVATE_DESTINATIONS: "true",
    DEBRIEF_CACHE: "false",
    DEBRIEF_RATE_LIMIT: "0",
    DEBRIEF_LLM_TIMEOUT: "2s",
    DEBRIEF_LLM_MAX_RETRIES: "0",
    DEBRIEF_LLM_CONCURRENCY: String(PER_INSTANCE),
    DEBRIEF_DELIVERY_LEASE_GRACE: "2s",
    ...extra,
  };
}

async function start(database: TestDatabase, extra: Record<string, string> = {}): Promise<SpawnedService> {
  const child = await spawnService(env(database, extra));
  children.push(child);
  return child;
}

async function post(url: string, id: number): Promise<{ status: number; call_id?: string }> {
  const res = await fetch(`${url}/v1/calls?profile=booking`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ id, status: "completed", transcript: `AI: Hello, caller ${id}.\nCustomer: Hi, book me a demo.` }),
  });
  return { status: res.status, ...((await res.json()) as { call_id?: string }) };
}

/**
 * Makes the LLM hang until more calls are claimed than two instances can hold: then the third (the one about to be
 * killed) surely holds some, and they can only be finished by another instance taking them over after their lease.
 */
async function holdClaimsOnEveryInstance(database: TestDatabase): Promise<void> {
  llm.script = () => ({ hang: true });
  const claimed = () =>
    database.query<{ n: number }>("SELECT count(*)::int AS n FROM calls WHERE state IN ('accepted', 'extracting') AND claimed_until > $1", [Date.now()]);
  const held = await until(claimed, (rows) => rows[0]!.n > 2 * PER_INSTANCE, 10_000);
  expect(held[0]!.n).toBeGreaterThan(2 * PER_INSTANCE);
}

describe("three instances on one database", () => {
  it("delivers every one of 300 calls posted round-robin while one instance is killed mid-way and restarted", async () => {
    const database = await createTestDatabase();
    databases.push(database);
    const instances = await Promise.all([start(database), start(database), start(database)]);
    const live = new Set(instances);
    const TOTAL = 300;
    const KILL_AT = 120;
    const accepted = new Map<number, string>();
    let next = 0;
    let killed: SpawnedService | undefined;

    // Six clients, round-robin over the instances that are up; a call refused by a dying instance is posted again
    // elsewhere, as a platform retries its webhook.
    const client = async () => {
      while (next < TOTAL) {
        const id = next++;
        if (id === KILL_AT) {
          killed = instances[1]!;
          live.delete(killed);
          await holdClaimsOnEveryInstance(database);
          killed.child.kill("SIGKILL");
          llm.script = answer;
        }
        for (let attempt = 0; ; attempt++) {
          const targets = [...live];
          const target = targets[(id + attempt) % targets.length]!;
          try {
            const res = await post(target.url, id);
            expect([200, 202]).toContain(res.status);
            accepted.set(id, res.call_id!);
            break;
          } catch (error) {
            if (attempt > 5) throw error;
          }
        }
      }
    };
    await Promise.all(Array.from({ length: 6 }, client));
    expect(await killed!.exited).toBe("SIGKILL");
    const restarted = await start(database);
    live.add(restarted);
    expect(accepted.size).toBe(TOTAL);
    expect(new Set(accepted.values()).size).toBe(TOTAL);

    const delivered = () => new Set(crm.requests.map((request) => JSON.parse(request.body).id as number));
    await until(async () => delivered().size, (size) => size === TOTAL, 90_000);
    expect(delivered().size).toBe(TOTAL);
    const counts = await until(
      () => database.query<{ status: string; n: number }>("SELECT status, count(*)::int AS n FROM deliveries GROUP BY status"),
      (rows) => rows.length === 1 && rows[0]!.status === "delivered",
      30_000,
    );
    expect(counts).toEqual([{ status: "delivered", n: TOTAL }]);
    expect(await database.query("SELECT state, count(*)::int AS n FROM calls GROUP BY state")).toEqual([{ state: "extracted", n: TOTAL }]);

    // At-least-once: a delivery the killed instance sent but never recorded is sent again, with the same webhook-id.
    const perCall = new Map<number, Set<string>>();
    const sends = new Map<number, number>();
    for (const request of crm.requests) {
      const id = JSON.parse(request.body).id as number;
      sends.set(id, (sends.get(id) ?? 0) + 1);
      perCall.set(id, (perCall.get(id) ?? new Set()).add(request.headers["webhook-id"]!));
    }
    const duplicates = [...sends.values()].reduce((sum, n) => sum + n - 1, 0);
    const [{ n: interrupted }] = (await database.query<{ n: number }>("SELECT count(*)::int AS n FROM attempts WHERE outcome = 'interrupted'")) as [{ n: number }];
    // Extractions the killed instance held could only finish once their 10 s lease ran out, on another instance.
    const [{ n: takenOver }] = (await database.query<{ n: number }>("SELECT count(*)::int AS n FROM calls WHERE updated_at - created_at >= 9000")) as [{ n: number }];
    process.stdout.write(
      `scale-out: ${TOTAL} calls, ${crm.requests.length} successful deliveries, ${duplicates} duplicate(s); taken over after SIGKILL: ` +
        `${takenOver} extraction(s), ${interrupted} delivery attempt(s)\n`,
    );
    expect(takenOver).toBeGreaterThanOrEqual(1);
    expect([...perCall.values()].every((ids) => ids.size === 1)).toBe(true);
    // Only what the killed instance had in flight can arrive twice: at most its 16 delivery slots.
    expect(duplicates).toBeLessThanOrEqual(16);
    // The restarted instance freed nobody's claims (on a shared database only leases hand work over).
    expect(restarted.output()).not.toContain("resuming work a previous process left unfinished");
  }, 180_000);
});

describe("instances starting together", () => {
  it("come up on an empty database with every migration applied once", async () => {
    const database = await createTestDatabase();
    databases.push(database);
    const [a, b] = await Promise.all([start(database, { LOG_LEVEL: "info" }), start(database, { LOG_LEVEL: "info" })]);
    const applied = [a, b].filter((child) => child.output().includes("applied PostgreSQL migrations"));
    expect(applied).toHaveLength(1);
    const rows = await database.query<{ component: string; version: number }>("SELECT component, version FROM debrief_migrations ORDER BY component, version");
    const expected = (migrations: PostgresMigrations) => migrations.steps.map((_step, index) => ({ component: migrations.component, version: index + 1 }));
    expect(rows).toEqual([...expected(CALLS_POSTGRES_MIGRATIONS), ...expected(OUTBOX_POSTGRES_MIGRATIONS)]);
    for (const child of [a, b]) expect((await fetch(`${child.url}/readyz`)).status).toBe(200);
    const first = await post(a.url, 1);
    expect(first.status).toBe(202);
    expect(await post(b.url, 1)).toEqual({ status: 200, call_id: first.call_id, state: expect.any(String), duplicate: true });
  }, 60_000);
});
