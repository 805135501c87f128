// Public surface of the post-call pipeline: config file, call store, background worker, API.
export { loadPipelineConfig, compilePipelineConfig, type PipelineConfig, type Profile } from "./config-file.js";
export { CALL_STATES, type CallRecord, type CallState, type CallStore } from "./store.js";
export { SqliteCallStore } from "./sqlite-store.js";
export { CALLS_POSTGRES_MIGRATIONS, PostgresCallStore } from "./postgres-store.js";
export { CallWorker, type CallWorkerOptions } from "./worker.js";
export { callsRouter, type CallsRouterDeps } from "./router.js";
export { startPipeline, type Pipeline, type PipelineOptions } from "./pipeline.js";
export { callsApiDocs, CallAcceptedSchema, CallDuplicateSchema, CallIgnoredSchema, CallReplayedSchema, CallSchema } from "./api-docs.js";
