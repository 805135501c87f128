// The cache's public surface: key hashing, the factory, and the ResultCache the extractor talks to.
export { canonicalHash, canonicalJson } from "../lib/canonical-hash.js";
export { createResultCache, type CreateResultCacheOptions } from "./create-result-cache.js";
export { ResultCache, type CacheOutcome, type GetOrComputeOptions, type ResultCacheOptions } from "./result-cache.js";
// For tests and embedded use that want a cache with no file and no Redis: new ResultCache({ tiers: [new MemoryStore(…)], … }).
export { MemoryStore } from "./memory-store.js";
export type { Clock, Store } from "./store.js";
