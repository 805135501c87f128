// Shared set-up for delivery tests: temp outbox files, a hand-driven clock, secrets, and a tidy-up list.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../../src/logger.js";
import { compileDestinations, SqliteOutbox, DeliveryWorker, type DeliveryWorkerOptions } from "../../src/delivery/index.js";

export interface FakeClock {
  now: () => number;
  advance(ms: number): void;
}

/** Starts at a whole second close to real time, so standardwebhooks' 5-minute tolerance still accepts signatures. */
export function fakeClock(start = Math.floor(Date.now() / 1000) * 1000): FakeClock {
  let current = start;
  return { now: () => current, advance: (ms) => void (current += ms) };
}

export function newSecret(): string {
  return `whsec_${randomBytes(24).toString("base64")}`;
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "debrief-delivery-"));
}

const cleanups: (() => unknown)[] = [];

/** Registers tidy-up work; call `runCleanups` from afterEach. Runs newest first. */
export function onCleanup(fn: () => unknown): void {
  cleanups.push(fn);
}

export async function runCleanups(): Promise<void> {
  while (cleanups.length > 0) await cleanups.pop()!();
}

export function setupDelivery(
  config: Record<string, unknown>,
  options: { env?: Record<string, string>; clock?: FakeClock; file?: string; worker?: Partial<DeliveryWorkerOptions> } = {},
) {
  const dir = tempDir();
  const file = options.file ?? join(dir, "outbox.sqlite");
  const clock = options.clock ?? fakeClock();
  const outbox = SqliteOutbox.open(file, clock.now);
  const destinations = compileDestinations(config, options.env ?? {}, { allowPrivate: true });
  const worker = new DeliveryWorker({
    outbox,
    destinations,
    logger: silentLogger,
    allowPrivate: true,
    random: () => 0.5,
    ...options.worker,
  });
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  onCleanup(() => outbox.close());
  onCleanup(() => worker.stop(0));
  return { dir, file, clock, outbox, destinations, worker };
}
