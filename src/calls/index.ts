// Public surface of the calls domain: the call store, the fates' vocabulary and the calls API's documented shapes.
export type { CallListQuery, CallStore } from "./store/port.js";
export { CALL_STATES, type FateInput } from "./fates.js";
export { SqliteCallStore } from "./store/sqlite.js";
export { CALLS_POSTGRES_MIGRATIONS, PostgresCallStore } from "./store/postgres.js";
export { syncFates } from "./fate-sync.js";
export {
  CallAcceptedSchema,
  CallDuplicateSchema,
  CallerSchema,
  CallIgnoredSchema,
  CallListItemSchema,
  CallListSchema,
  CallReplayedSchema,
  CallReviewedSchema,
  CallSchema,
  CallSummarySchema,
  DestinationFateSchema,
} from "./api/docs/call-schemas.js";
export { ReextractResultSchema } from "./api/docs/reextract.js";
