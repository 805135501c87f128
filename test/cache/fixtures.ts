// Shared set-up for the cache tests: temp data dirs, a hand-driven clock, and a namespace in the real Redis.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";

export const REDIS_URL = "redis://127.0.0.1:6379";
/** Nothing listens on port 1: connecting is refused at once, like a Redis that is down. */
export const DOWN_REDIS_URL = "redis://127.0.0.1:1";

/** A fresh directory per test, removed by the returned cleanup. */
export function makeTempDir(): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "debrief-cache-"));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export function fakeClock(start = 1_700_000_000_000): { now: () => number; advance: (ms: number) => void } {
  let time = start;
  return { now: () => time, advance: (ms) => void (time += ms) };
}

/** A key prefix no other test run shares, so runs can overlap and clean up after themselves. */
export function uniqueRedisPrefix(): string {
  return `debrief-test:${randomUUID()}:`;
}

/** Deletes every key under `prefix` and returns how many there were. */
export async function deleteRedisKeys(prefix: string): Promise<number> {
  const client = new Redis(REDIS_URL);
  try {
    let deleted = 0;
    for await (const keys of client.scanStream({ match: `${prefix}*`, count: 200 }) as AsyncIterable<string[]>) {
      if (keys.length > 0) deleted += await client.del(...keys);
    }
    return deleted;
  } finally {
    await client.quit();
  }
}

export async function readRedisKey(key: string): Promise<{ value: string | null; ttlMs: number }> {
  const client = new Redis(REDIS_URL);
  try {
    return { value: await client.get(key), ttlMs: await client.pttl(key) };
  } finally {
    await client.quit();
  }
}

/** Collects the unhandled rejections seen while a test runs; a healthy degraded cache produces none. */
export function watchUnhandledRejections(): { seen: unknown[]; stop: () => void } {
  const seen: unknown[] = [];
  const listener = (reason: unknown) => void seen.push(reason);
  process.on("unhandledRejection", listener);
  return { seen, stop: () => void process.off("unhandledRejection", listener) };
}
