import { describe, expect, it } from "vitest";
import { MemoryStore } from "../../src/cache/memory-store.js";
import { fakeClock } from "./fixtures.js";

const roomy = { maxEntries: 100, maxBytes: 1_000_000 };

describe("MemoryStore", () => {
  it("returns what was set, and nothing once deleted", async () => {
    const store = new MemoryStore(roomy);
    await store.set("k", '{"budget":5000}', 60_000);
    expect(await store.get("k")).toBe('{"budget":5000}');
    await store.delete("k");
    expect(await store.get("k")).toBeUndefined();
    expect(await store.get("never-set")).toBeUndefined();
  });

  it("forgets an entry once its ttl has passed", async () => {
    const clock = fakeClock();
    const store = new MemoryStore({ ...roomy, clock: clock.now });
    await store.set("k", "v", 1_000);
    clock.advance(999);
    expect(await store.get("k")).toBe("v");
    clock.advance(2);
    expect(await store.get("k")).toBeUndefined();
  });

  it("stores nothing when the ttl is already used up", async () => {
    const store = new MemoryStore(roomy);
    await store.set("k", "old", 60_000);
    await store.set("k", "new", 0);
    expect(await store.get("k")).toBeUndefined();
  });

  it("evicts the least recently used entry when the entry bound is reached", async () => {
    const store = new MemoryStore({ maxEntries: 2, maxBytes: 1_000_000 });
    await store.set("a", "1", 60_000);
    await store.set("b", "2", 60_000);
    await store.get("a");
    await store.set("c", "3", 60_000);
    expect(await store.get("a")).toBe("1");
    expect(await store.get("b")).toBeUndefined();
    expect(await store.get("c")).toBe("3");
  });

  it("evicts old entries when the byte bound is reached", async () => {
    // Each entry costs 2 × (1 + 49) = 100 bytes.
    const store = new MemoryStore({ maxEntries: 100, maxBytes: 250 });
    const value = "x".repeat(49);
    await store.set("a", value, 60_000);
    await store.set("b", value, 60_000);
    await store.set("c", value, 60_000);
    expect(await store.get("a")).toBeUndefined();
    expect(await store.get("b")).toBe(value);
    expect(await store.get("c")).toBe(value);
  });

  it("does not keep an entry larger than the whole byte bound", async () => {
    const store = new MemoryStore({ maxEntries: 100, maxBytes: 100 });
    await store.set("small", "s", 60_000);
    await store.set("huge", "x".repeat(1_000), 60_000);
    expect(await store.get("huge")).toBeUndefined();
    expect(await store.get("small")).toBe("s");
  });
});
