// The delivery layer's public surface: config compiler, outbox, worker, API router.
export { DestinationsConfigSchema } from "./config-schema.js";
export { compileDestinations, configIssues, substituteEnv, type CompiledDestination } from "./compile-destinations.js";
export { DEFAULT_RETRY_POLICY, backoffDelayMs, retryConfigSchema, retryPolicyFromConfig, type RetryPolicy } from "./retry-policy.js";
export type { ClaimRequest, DeliveryOutbox } from "./outbox/port.js";
export { SqliteOutbox } from "./outbox/sqlite.js";
export { OUTBOX_POSTGRES_MIGRATIONS, PostgresOutbox } from "./outbox/postgres.js";
export { DeliveryWorker, LEASE_GRACE_MS, type DeliveryMetrics, type DeliveryWorkerOptions } from "./worker.js";
export { enqueueCallDeliveries, type BodyRenderer, type EnqueueReport } from "./enqueue-call.js";
export { deliveriesRouter } from "./api/router.js";
export { consecutiveFailuresByDestination } from "./health.js";
export { webhookIdFor } from "./signing.js";
export { createDeliveryDispatcher } from "./address-guard.js";
export { AttemptRecordSchema, DeliverySchema, DeliveryWithAttemptsSchema } from "./types.js";
export type { DeliveryStatus, DeliveryWithAttempts } from "./types.js";
export {
  deliveriesApiDocs,
  DeliveryWithAttemptsComponent,
  DELIVERY_EXAMPLES,
  DestinationHealthSchema,
  DestinationsHealthSchema,
  TestRequestResultSchema,
} from "./api/docs.js";
