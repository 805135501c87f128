// Opens the call store, the outbox and the workers' wake-up signals on the engine the settings name: SQLite files in
// the data dir (one process), or one PostgreSQL database that every instance shares.
import { join } from "node:path";
import type { Settings } from "../settings.js";
import { openPostgres } from "../db/postgres.js";
import { LocalSignals, PostgresSignals, type WorkSignals } from "../db/signals.js";
import { OUTBOX_POSTGRES_MIGRATIONS, PostgresOutbox, SqliteOutbox, type DeliveryOutbox } from "../delivery/index.js";
import type { Logger } from "../logger.js";
import { CALLS_POSTGRES_MIGRATIONS, PostgresCallStore } from "../calls/store/postgres.js";
import { SqliteCallStore, type SqliteInsightsReader } from "../calls/store/sqlite.js";
import type { CallStore } from "../calls/store/port.js";

export interface PipelineStores {
  store: CallStore;
  outbox: DeliveryOutbox;
  signals: WorkSignals;
  close(): Promise<void>;
}

export interface OpenStoresOptions {
  /** Reads insights off the event loop on SQLite (the offload pool's); default: in-process. */
  sqliteInsights?: SqliteInsightsReader;
}

/** Throws DatabaseSetupError (unreachable, or a schema newer than this code) before anything is served. */
export async function openPipelineStores(settings: Settings, logger: Logger, options: OpenStoresOptions = {}): Promise<PipelineStores> {
  const { url, poolSize } = settings.database;
  if (!url) {
    const store = SqliteCallStore.open(join(settings.cache.dataDir, "calls.sqlite"), { insights: options.sqliteInsights });
    const outbox = SqliteOutbox.open(join(settings.cache.dataDir, "outbox.sqlite"));
    const signals = new LocalSignals();
    return { store, outbox, signals, close: async () => void (await Promise.all([signals.close(), store.close(), outbox.close()])) };
  }
  const database = await openPostgres({
    url,
    poolSize,
    logger: logger.child({ module: "postgres" }),
    migrations: [CALLS_POSTGRES_MIGRATIONS, OUTBOX_POSTGRES_MIGRATIONS],
    applicationName: `debrief:${settings.role}`,
  });
  const signals = new PostgresSignals({ url, pool: database.pool, logger: logger.child({ module: "postgres" }) });
  // Listening before serving: a configuration reload another instance announces right after this one starts must not
  // go unheard (missed work notifications are found by polling; a missed reload would not be). If the LISTEN fails,
  // `ready` settles anyway, and the reconnect that follows wakes every channel, config included.
  await signals.ready;
  return {
    store: new PostgresCallStore(database.pool),
    outbox: new PostgresOutbox(database.pool),
    signals,
    async close() {
      await signals.close();
      await database.close();
    },
  };
}
