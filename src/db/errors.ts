// The one error a database raises while opening: it stops start-up with its message, never a stack trace.

/** The database cannot be used by this Debrief: unreachable, or its schema is newer than this code knows. */
export class DatabaseSetupError extends Error {}

/** PostgreSQL's SQLSTATE classes and codes that say "the server cannot serve now", not "this query is wrong". */
const POSTGRES_UNAVAILABLE = /^(08|53|57P0[1-3])/;
/** The socket errors of a server that is down, restarting or unreachable. */
const NETWORK_UNAVAILABLE = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN", "EPIPE"]);
/** SQLite's: the file is locked past the busy timeout, the disk is full or failing, or the file cannot be opened or written. */
const SQLITE_UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|FULL|IOERR|CANTOPEN|READONLY)/;
/** node-postgres's own errors have no code, only these messages. */
const PG_CONNECTION_MESSAGES = /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error)/;

/**
 * Did the database fail to serve (down, restarting, full, locked), rather than the query being wrong? Such a failure is
 * the service's to report as 503 with a Retry-After, not a 500: nothing was stored, and the same request can succeed
 * later. Looks through `cause` chains a few levels deep.
 */
export function isDatabaseUnavailable(error: unknown, depth = 0): boolean {
  if (!(error instanceof Error) || depth > 3) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string") {
    if (NETWORK_UNAVAILABLE.has(code) || SQLITE_UNAVAILABLE.test(code)) return true;
    if (/^[0-9A-Z]{5}$/.test(code) && POSTGRES_UNAVAILABLE.test(code)) return true;
  }
  if (PG_CONNECTION_MESSAGES.test(error.message)) return true;
  return isDatabaseUnavailable(error.cause, depth + 1);
}
