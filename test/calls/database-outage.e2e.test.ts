// PostgreSQL going away under a running instance: requests that need it are a 503 with Retry-After (nothing stored, a
// retry can succeed), never a 500, and the instance serves again once the database is back, without a restart.
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, connect, type Server, type Socket, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isDatabaseUnavailable, openPostgres } from "../../src/db/index.js";
import { silentLogger } from "../../src/logger.js";
import { autocallsPayload } from "../fixtures/calls.js";
import { answerFor, startFakeLlm, type FakeLlm } from "../support/fake-llm.js";
import { until } from "../support/poll.js";
import { createTestDatabase, type TestDatabase } from "../support/postgres.js";
import { startTestService, type TestService } from "../support/service.js";

/** A TCP relay to the machine's PostgreSQL that the test can cut (the server "goes down") and bring back on the same port. */
class Relay {
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();
  port = 0;

  async up(): Promise<void> {
    this.#server = createServer((client) => {
      const upstream = connect(5432, "127.0.0.1");
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on("close", () => this.#sockets.delete(socket));
        socket.on("error", () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.#server!.listen(this.port, "127.0.0.1", resolve));
    this.port = (this.#server.address() as AddressInfo).port;
  }

  async down(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise((resolve) => this.#server?.close(resolve));
  }
}

let llm: FakeLlm;
let database: TestDatabase;
let relay: Relay;
let service: TestService;

/** The test database's URL, through the relay. */
function relayedUrl(): string {
  const url = new URL(database.url);
  url.host = `127.0.0.1:${relay.port}`;
  return url.toString();
}

beforeAll(async () => {
  llm = await startFakeLlm((request) => ({ json: answerFor(request, { status: true, summary: "Demo booked" }) }));
  database = await createTestDatabase();
  relay = new Relay();
  await relay.up();
  const config = join(mkdtempSync(join(tmpdir(), "debrief-outage-")), "debrief.json");
  writeFileSync(config, JSON.stringify({ profiles: { booking: { variables: [] } } }));
  service = await startTestService({ OPENAI_BASE_URL: llm.url, DEBRIEF_CONFIG: config, DEBRIEF_DATABASE_URL: relayedUrl(), DEBRIEF_LLM_MAX_RETRIES: "0" });
});
afterAll(async () => {
  await service?.close();
  await relay?.down();
  await Promise.all([llm?.close(), database?.drop()]);
});

describe("the database going away", () => {
  it("answers 503 store_unavailable with Retry-After while PostgreSQL is unreachable, and serves again once it is back", async () => {
    const before = await service.post("/v1/calls?profile=booking", autocallsPayload({ id: "before" }));
    expect(before.status).toBe(202);
    // Settled first: a call claimed when the database went away would wait out its lease before another try.
    await until(() => service.get(`/v1/calls/${before.body.call_id}`), (answer) => answer.body.state === "extracted", 30_000);

    await relay.down();
    const accepted = await service.post("/v1/calls?profile=booking", autocallsPayload({ id: "during" }));
    expect(accepted.status).toBe(503);
    expect(accepted.body.error.code).toBe("store_unavailable");
    expect(accepted.headers.get("retry-after")).toBe("5");
    const listed = await service.get("/v1/calls");
    expect(listed.status).toBe(503);
    expect(listed.body.error.code).toBe("store_unavailable");

    await relay.up();
    // The platform's retry of the refused call is accepted once the database is back, by the same instance.
    const retried = await service.post("/v1/calls?profile=booking", autocallsPayload({ id: "during" }));
    expect(retried.status).toBe(202);
    // The background worker lived through the outage: the call accepted after it is extracted too.
    const calls = await until(
      () => service.get("/v1/calls?limit=10"),
      (answer) => answer.body.calls?.every((call: { state: string }) => call.state === "extracted"),
      30_000,
    );
    expect(calls.body.calls.map((call: { external_id: string; state: string }) => [call.external_id, call.state]).sort()).toEqual([
      ["before", "extracted"],
      ["during", "extracted"],
    ]);
  });

  it("keeps the process up when the server goes away under a connection in use (a transaction's, between its queries)", async () => {
    const postgres = await openPostgres({ url: relayedUrl(), poolSize: 2, logger: silentLogger, migrations: [] });
    const client = await postgres.pool.connect();
    await client.query("BEGIN");
    const failed = new Promise((resolve) => postgres.pool.once("release", resolve));
    await relay.down();
    // Node would report an "error" event without a listener as an uncaught exception, failing this file.
    await new Promise((resolve) => setTimeout(resolve, 100));
    await expect(client.query("SELECT 1")).rejects.toThrow();
    client.release(true);
    await failed;
    await relay.up();
    expect((await postgres.pool.query("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
    await postgres.close();
  });
});

describe("isDatabaseUnavailable", () => {
  it("tells a database that cannot serve from a query that is wrong", () => {
    const withCode = (code: string, message = "x") => Object.assign(new Error(message), { code });
    expect(isDatabaseUnavailable(withCode("ECONNREFUSED"))).toBe(true);
    expect(isDatabaseUnavailable(withCode("57P01", "terminating connection due to administrator command"))).toBe(true);
    expect(isDatabaseUnavailable(withCode("53300", "too many clients already"))).toBe(true);
    expect(isDatabaseUnavailable(withCode("SQLITE_FULL"))).toBe(true);
    expect(isDatabaseUnavailable(withCode("SQLITE_BUSY"))).toBe(true);
    expect(isDatabaseUnavailable(new Error("Connection terminated unexpectedly"))).toBe(true);
    expect(isDatabaseUnavailable(new Error("wrapped", { cause: withCode("ETIMEDOUT") }))).toBe(true);
    expect(isDatabaseUnavailable(withCode("23505", "duplicate key value violates unique constraint"))).toBe(false);
    expect(isDatabaseUnavailable(withCode("42P01", 'relation "calls" does not exist'))).toBe(false);
    expect(isDatabaseUnavailable(withCode("SQLITE_CONSTRAINT_UNIQUE"))).toBe(false);
    expect(isDatabaseUnavailable(new TypeError("x is undefined"))).toBe(false);
    expect(isDatabaseUnavailable("ECONNREFUSED")).toBe(false);
  });
});
