// Waiting for background work in tests: poll until a condition holds, bounded in time.

/** Calls `probe` every 25 ms until `done` holds or `timeoutMs` passes; returns the last value either way. */
export async function until<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 8_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
