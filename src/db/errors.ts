// The one error a database raises while opening: it stops start-up with its message, never a stack trace.

/** The database cannot be used by this Debrief: unreachable, or its schema is newer than this code knows. */
export class DatabaseSetupError extends Error {}
