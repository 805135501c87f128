// The workers' wake-up signals through a PostgreSQL outage: the LISTEN connection keeps reconnecting, and says so in one
// log line at once, then one per 10 s with the number of failed reconnects it did not log.
import { createServer, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { PostgresSignals } from "../../src/db/signals.js";
import { fakeClock } from "../delivery/fixtures.js";
import { captureLogs } from "../support/log-capture.js";
import { until } from "../support/poll.js";

/** A "PostgreSQL" that drops every connection at once, counting them. */
async function droppingServer(): Promise<{ server: Server; url: string; connections: () => number }> {
  let connections = 0;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on("error", () => undefined);
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `postgres://postgres@127.0.0.1:${port}/debrief`, connections: () => connections };
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("PostgresSignals while the database is down", () => {
  it("logs the lost LISTEN connection once, then once per 10 s with how many reconnects failed meanwhile", async () => {
    const down = await droppingServer();
    const pool = new pg.Pool({ connectionString: down.url });
    const logs = captureLogs();
    const clock = fakeClock();
    const signals = new PostgresSignals({ url: down.url, pool, logger: logs.logger, clock: clock.now, initialBackoffMs: 1, maxBackoffMs: 1 });
    cleanups.push(
      () => new Promise((resolve) => down.server.close(resolve)),
      () => pool.end(),
      () => signals.close(),
    );
    const lost = () => logs.lines().filter((line) => line.msg.startsWith("lost the PostgreSQL LISTEN connection"));

    await until(async () => down.connections(), (n) => n >= 20);
    expect(lost()).toHaveLength(1);
    expect(lost()[0]).toMatchObject({ level: 40 });

    clock.advance(10_000);
    await until(async () => lost().length, (n) => n >= 2);
    expect(lost()).toHaveLength(2);
    expect(lost()[1]!.suppressed).toBeGreaterThanOrEqual(18);
  });
});
