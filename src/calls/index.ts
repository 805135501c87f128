// Public surface of the post-call pipeline: config file, call store, background worker, API.
export { loadPipelineConfig, compilePipelineConfig, type PipelineConfig, type Profile } from "./config-file.js";
export type { CallExtraction, CallListQuery, CallRecord, CallStore, CallSummary, ExtractionRecord, ExtractionTrigger } from "./store.js";
export { CALL_STAGES, CALL_STATES, FATE_REASONS, FATES, type CallStage, type CallState, type Fate, type FateInput, type FateReason, type FateRecord } from "./fates.js";
export { SqliteCallStore } from "./sqlite-store.js";
export { CALLS_POSTGRES_MIGRATIONS, PostgresCallStore } from "./postgres-store.js";
export { CallWorker, type CallWorkerOptions } from "./worker.js";
export { callsRouter, type CallsRouterDeps } from "./router.js";
export { startPipeline, type Pipeline, type PipelineOptions } from "./pipeline.js";
export { PipelineConfigHolder, type ConfigSource, type ProfileSummary, type ReloadReport } from "./config-holder.js";
export { CallReextractor, type Reextractor, type ReextractOptions, type ReextractOutcome } from "./reextract.js";
export { profileVersion } from "./profile-version.js";
export { callsReadRouter } from "./read-router.js";
export { syncFates } from "./fate-sync.js";
export {
  callsApiDocs,
  CallAcceptedSchema,
  CallDuplicateSchema,
  CallerSchema,
  CallIgnoredSchema,
  CallListSchema,
  CallReplayedSchema,
  CallSchema,
  CallSummarySchema,
  DestinationFateSchema,
} from "./api-docs.js";
