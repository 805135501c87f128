// The in-process tier: an LRU bounded by entry count and by bytes, so a burst of large results cannot grow the heap.
import { LRUCache } from "lru-cache";
import type { Clock, Store } from "./store.js";

export interface MemoryStoreOptions {
  maxEntries: number;
  maxBytes: number;
  /** Replaces performance.now for expiry; tests pass a fake one. */
  clock?: Clock;
}

export class MemoryStore implements Store {
  readonly name = "memory";
  readonly #lru: LRUCache<string, string>;

  constructor({ maxEntries, maxBytes, clock }: MemoryStoreOptions) {
    this.#lru = new LRUCache<string, string>({
      max: maxEntries,
      maxSize: maxBytes,
      // V8 keeps a string in one or two bytes per character; counting two never under-reports the heap it holds.
      sizeCalculation: (value, key) => Math.max(1, 2 * (key.length + value.length)),
      // lru-cache caches "now" for 1 ms behind a timer; an injected clock must be read every time to be exact.
      ...(clock ? { perf: { now: clock }, ttlResolution: 0 } : {}),
    });
  }

  async get(key: string): Promise<string | undefined> {
    return this.#lru.get(key);
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    // lru-cache reads a ttl of 0 as "never expires", the opposite of what an exhausted lifetime means.
    if (ttlMs <= 0) {
      this.#lru.delete(key);
      return;
    }
    // An entry larger than maxBytes is silently not stored (and any older copy dropped) by lru-cache itself.
    this.#lru.set(key, value, { ttl: Math.ceil(ttlMs) });
  }

  async delete(key: string): Promise<void> {
    this.#lru.delete(key);
  }

  async close(): Promise<void> {
    this.#lru.clear();
  }
}
