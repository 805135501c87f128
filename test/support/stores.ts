// Both engines behind the store ports, for the contract suites: each test gets empty stores on its own clock, and can
// open a second handle on the same data (another process's view on SQLite, another instance's on PostgreSQL).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CALLS_POSTGRES_MIGRATIONS, PostgresCallStore, SqliteCallStore, type CallStore } from "../../src/calls/index.js";
import { openPostgres, type Postgres } from "../../src/db/index.js";
import { OUTBOX_POSTGRES_MIGRATIONS, PostgresOutbox, SqliteOutbox, type DeliveryOutbox } from "../../src/delivery/index.js";
import { silentLogger } from "../../src/logger.js";
import { fakeClock, type FakeClock } from "../delivery/fixtures.js";
import { createTestDatabase, type TestDatabase } from "./postgres.js";

export interface Stores {
  store: CallStore;
  outbox: DeliveryOutbox;
  close(): Promise<void>;
}

export interface Engine {
  name: "sqlite" | "postgres";
  /** Several processes may use the store at once: claims left behind are never freed at start-up, only by their lease. */
  shared: boolean;
  /** Fresh, empty stores. */
  create(clock: () => number): Promise<Stores & { reopen(clock?: () => number): Promise<Stores> }>;
  /** Drops whatever `create` made (call from afterAll). */
  dispose(): Promise<void>;
}

function sqliteEngine(): Engine {
  return {
    name: "sqlite",
    shared: false,
    async create(clock) {
      const dir = mkdtempSync(join(tmpdir(), "debrief-stores-"));
      const open = async (now: () => number = clock): Promise<Stores> => {
        const store = SqliteCallStore.open(join(dir, "calls.sqlite"), now);
        const outbox = SqliteOutbox.open(join(dir, "outbox.sqlite"), now);
        return { store, outbox, close: async () => void (await Promise.all([store.close(), outbox.close()])) };
      };
      return { ...(await open()), reopen: open };
    },
    async dispose() {},
  };
}

function postgresEngine(): Engine {
  const databases: TestDatabase[] = [];
  const pools: Postgres[] = [];
  return {
    name: "postgres",
    shared: true,
    async create(clock) {
      const database = await createTestDatabase();
      databases.push(database);
      const open = async (now: () => number = clock): Promise<Stores> => {
        const postgres = await openPostgres({ url: database.url, poolSize: 4, logger: silentLogger, migrations: [CALLS_POSTGRES_MIGRATIONS, OUTBOX_POSTGRES_MIGRATIONS] });
        pools.push(postgres);
        return { store: new PostgresCallStore(postgres.pool, now), outbox: new PostgresOutbox(postgres.pool, now), close: () => postgres.close() };
      };
      return { ...(await open()), reopen: open };
    },
    async dispose() {
      await Promise.all(pools.splice(0).map((pool) => pool.close()));
      await Promise.all(databases.splice(0).map((database) => database.drop()));
    },
  };
}

/** Every adapter the contract suites run against. A new engine is added here. */
export const ENGINES: Engine[] = [sqliteEngine(), postgresEngine()];

/**
 * What a contract suite needs per test: fresh stores on a hand-driven clock, more handles on the same data on demand,
 * all closed by `cleanup` (afterEach).
 */
export function contractHarness(engine: Engine) {
  const opened: Stores[] = [];
  let clock: FakeClock = fakeClock();
  return {
    get clock(): FakeClock {
      return clock;
    },
    async open(): Promise<Stores & { reopen(): Promise<Stores> }> {
      clock = fakeClock();
      const stores = await engine.create(clock.now);
      opened.push(stores);
      return {
        ...stores,
        reopen: async () => {
          const again = await stores.reopen();
          opened.push(again);
          return again;
        },
      };
    },
    async cleanup(): Promise<void> {
      await Promise.all(opened.splice(0).map((stores) => stores.close()));
    },
  };
}
