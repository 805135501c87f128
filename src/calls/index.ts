// Public surface of the post-call pipeline: config file, call store, background worker, API.
export { loadPipelineConfig, compilePipelineConfig, type PipelineConfig, type Profile } from "./config-file.js";
export { CallStore, CALL_STATES, type CallRecord, type CallState } from "./store.js";
export { CallWorker, type CallWorkerOptions } from "./worker.js";
export { callsRouter, type CallsRouterDeps } from "./router.js";
export { startPipeline, type Pipeline, type PipelineOptions } from "./pipeline.js";
export { callsApiDocs, CallAcceptedSchema, CallDuplicateSchema, CallIgnoredSchema, CallReplayedSchema, CallSchema } from "./api-docs.js";
