// The delivery layer's public surface: config compiler, outbox, worker, API router.
export { DestinationsConfigSchema, type DestinationConfig, type DestinationsConfig } from "./config-schema.js";
export { compileDestinations, configIssues, substituteEnv, type CompiledDestination } from "./compile-destinations.js";
export { ConfigError, ConflictError, DeliveryExpressionError, DestinationRefusedError, NotFoundError, type ConfigIssue } from "./errors.js";
export { DEFAULT_RETRY_POLICY, backoffDelayMs, retryPolicyFromConfig, type RetryPolicy } from "./retry-policy.js";
export type { ClaimedDelivery, ClaimRequest, DeliveryOutbox, FateSyncRow } from "./outbox/port.js";
export { SqliteOutbox } from "./outbox/sqlite.js";
export { OUTBOX_POSTGRES_MIGRATIONS, PostgresOutbox } from "./outbox/postgres.js";
export { DeliveryWorker, LEASE_GRACE_MS, type DeliveryMetrics, type DeliveryWorkerOptions } from "./worker.js";
export { enqueueCallDeliveries, type BodyRenderer, type EnqueueReport } from "./enqueue-call.js";
export { deliveriesRouter } from "./api/router.js";
export { consecutiveFailuresByDestination, destinationsHealth, HEALTH_WINDOW_MS } from "./health.js";
export { samplePayload } from "./sample-payload.js";
export { webhookIdFor } from "./signing.js";
export { createDeliveryDispatcher, forbiddenAddressReason, refusedUrlReason } from "./address-guard.js";
export { AttemptRecordSchema, DeliverySchema, DeliveryWithAttemptsSchema } from "./types.js";
export type { AttemptOutcome, AttemptRecord, Delivery, DeliveryFilter, DeliveryStatus, DeliveryWithAttempts, DestinationHealth } from "./types.js";
export {
  deliveriesApiDocs,
  DeliveryComponent,
  DeliveryWithAttemptsComponent,
  DELIVERY_EXAMPLES,
  DestinationHealthSchema,
  DestinationsHealthSchema,
  TestRequestResultSchema,
} from "./api/docs.js";
