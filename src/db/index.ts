// Opening SQLite and PostgreSQL, their migrations, and the workers' wake-up signals.
export { openDatabase, type OpenOptions } from "./sqlite.js";
export { openPostgres, migrate, redactUrl, type Postgres, type PostgresMigrations, type PostgresOptions } from "./postgres.js";
export { LocalSignals, PostgresSignals, WORK_CHANNELS, type WorkChannel, type WorkSignals } from "./signals.js";
export { DatabaseSetupError, isDatabaseUnavailable } from "./errors.js";
