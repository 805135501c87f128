// The one storage contract every cache tier implements; nothing above it knows which backend it talks to.

/** Milliseconds since some fixed point; injected so expiry can be tested without sleeping. */
export type Clock = () => number;

export interface Store {
  /** "memory" | "sqlite" | "redis": names the tier in logs. */
  readonly name: string;
  /** The stored text, or undefined when absent or expired. May reject when the backend fails. */
  get(key: string): Promise<string | undefined>;
  /** Keeps `value` for `ttlMs`; a ttl of zero or less stores nothing. May reject when the backend fails. */
  set(key: string, value: string, ttlMs: number): Promise<void>;
  delete(key: string): Promise<void>;
  close(): Promise<void>;
}

export type LockAttempt =
  | { status: "acquired"; token: string }
  /** Another holder has it: wait for their result. */
  | { status: "held" }
  /** The lock service cannot be reached: nobody can coordinate, so compute. */
  | { status: "unavailable" };

/** A short-lived lock shared by every instance, so one of them computes a key while the others wait for its result. */
export interface KeyLock {
  tryLock(key: string, ttlMs: number): Promise<LockAttempt>;
  /** Releases only if `token` still owns the lock: a holder whose lock expired must not free the next holder's. */
  unlock(key: string, token: string): Promise<void>;
}
