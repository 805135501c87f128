// Public surface of the calls domain: the call store, the background worker, re-extraction and the calls API.
export type { CallExtraction, CallListQuery, CallRecord, CallStore, CallSummary, ExtractionRecord, ExtractionTrigger } from "./store/port.js";
export { CALL_STAGES, CALL_STATES, FATE_REASONS, FATES, type CallStage, type CallState, type Fate, type FateInput, type FateReason, type FateRecord } from "./fates.js";
export { SqliteCallStore } from "./store/sqlite.js";
export { CALLS_POSTGRES_MIGRATIONS, PostgresCallStore } from "./store/postgres.js";
export { CallWorker, type CallWorkerOptions } from "./worker.js";
export { callsRouter, type CallsRouterDeps } from "./api/router.js";
export { CallReextractor, type Reextractor, type ReextractOptions, type ReextractOutcome } from "./reextract.js";
export { callsReadRouter } from "./api/read-router.js";
export { syncFates } from "./fate-sync.js";
export {
  callsApiDocs,
  CallAcceptedSchema,
  CallDuplicateSchema,
  CallerSchema,
  CallIgnoredSchema,
  CallListSchema,
  CallReplayedSchema,
  CallReviewedSchema,
  CallReviewSchema,
  CallSchema,
  CallSummarySchema,
  DestinationFateSchema,
  ReextractResultSchema,
  ReloadResultSchema,
} from "./api/docs/calls.js";
