import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { RedisStore } from "../../src/cache/redis-store.js";
import { silentLogger } from "../../src/logger.js";
import { DOWN_REDIS_URL, REDIS_URL, deleteRedisKeys, readRedisKey, uniqueRedisPrefix, watchUnhandledRejections } from "./fixtures.js";

const MINUTE = 60_000;
const prefix = uniqueRedisPrefix();

describe("RedisStore against a running Redis", () => {
  const opened: RedisStore[] = [];
  const open = () => {
    const store = new RedisStore({ url: REDIS_URL, logger: silentLogger, keyPrefix: prefix });
    opened.push(store);
    return store;
  };
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((store) => store.close()));
  });
  afterAll(async () => {
    await deleteRedisKeys(prefix);
  });

  it("returns what was set, and nothing once deleted", async () => {
    const store = open();
    await store.set("k", '{"budget":5000}', MINUTE);
    expect(await store.get("k")).toBe('{"budget":5000}');
    await store.delete("k");
    expect(await store.get("k")).toBeUndefined();
  });

  it("keeps keys under its prefix with the ttl it was given", async () => {
    const store = open();
    await store.set("prefixed", "v", MINUTE);
    const raw = await readRedisKey(`${prefix}prefixed`);
    expect(raw.value).toBe("v");
    expect(raw.ttlMs).toBeGreaterThan(MINUTE - 5_000);
    expect(raw.ttlMs).toBeLessThanOrEqual(MINUTE);
  });

  it("forgets an entry once its ttl has passed", async () => {
    const store = open();
    await store.set("short", "v", 40);
    expect(await store.get("short")).toBe("v");
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(await store.get("short")).toBeUndefined();
  });

  it("lets one holder take a lock, and frees it only for the token that owns it", async () => {
    const store = open();
    const first = await store.tryLock("job", MINUTE);
    expect(first.status).toBe("acquired");
    expect((await store.tryLock("job", MINUTE)).status).toBe("held");

    await store.unlock("job", "someone-else's-token");
    expect((await store.tryLock("job", MINUTE)).status).toBe("held");

    if (first.status === "acquired") await store.unlock("job", first.token);
    expect((await store.tryLock("job", MINUTE)).status).toBe("acquired");
  });

  it("frees a lock by itself once its ttl has passed", async () => {
    const store = open();
    expect((await store.tryLock("crashed-holder", 40)).status).toBe("acquired");
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect((await store.tryLock("crashed-holder", MINUTE)).status).toBe("acquired");
  });

  it("sees what another instance wrote", async () => {
    const writer = open();
    const reader = open();
    await writer.set("shared", "from-writer", MINUTE);
    expect(await reader.get("shared")).toBe("from-writer");
  });
});

describe("RedisStore when Redis is down", () => {
  it("reads as a miss and drops writes, quickly and without an unhandled rejection", async () => {
    const rejections = watchUnhandledRejections();
    const store = new RedisStore({ url: DOWN_REDIS_URL, logger: silentLogger });
    try {
      const started = performance.now();
      expect(await store.get("k")).toBeUndefined();
      await expect(store.set("k", "v", MINUTE)).resolves.toBeUndefined();
      await expect(store.delete("k")).resolves.toBeUndefined();
      expect(await store.tryLock("k", MINUTE)).toEqual({ status: "unavailable" });
      await expect(store.unlock("k", "token")).resolves.toBeUndefined();
      expect(performance.now() - started).toBeLessThan(500);
      // Let a reconnect attempt or two fail in the background.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(rejections.seen).toEqual([]);
    } finally {
      rejections.stop();
      await store.close();
    }
  });

  it("logs the outage once rather than once per command or reconnect", async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _encoding, done) => void (lines.push(String(chunk)), done()) });
    const store = new RedisStore({ url: DOWN_REDIS_URL, logger: pino({ level: "warn" }, sink) });
    try {
      for (let i = 0; i < 20; i += 1) await store.get(`k${i}`);
      await new Promise((resolve) => setTimeout(resolve, 400));
      const warnings = lines.map((line) => JSON.parse(line) as { level: number; msg: string }).filter((line) => line.level === 40);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]?.msg).toMatch(/redis cache unreachable/);
    } finally {
      await store.close();
    }
  });
});
