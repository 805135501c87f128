// The delivery records the API shows: snake_case and ISO times, exactly as serialised. The zod schemas are the
// shapes (the OpenAPI document is generated from them); the types come from them, so the two cannot drift.
import { z } from "zod";

export const DELIVERY_STATUSES = ["pending", "delivered", "failed"] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export const DeliverySchema = z.object({
  id: z.string(),
  call_id: z.string(),
  destination: z.string().describe("The destination's name in the configuration file"),
  event: z
    .number()
    .int()
    .describe("Which routing of the call this delivers: 1 for its first extraction (`call.extracted`), 2, 3… for re-extractions delivered again (`call.reextracted`)"),
  status: z
    .enum(DELIVERY_STATUSES)
    .describe("pending: waiting or in flight; delivered: a 2xx arrived; failed: dead-lettered (final status, refused, or out of attempts)"),
  attempts: z.number().int().describe("Every attempt made at it, replays and interrupted attempts included: always the length of its attempt_history"),
  run_attempts: z
    .number()
    .int()
    .describe("Attempts in the current run, what the retry budget counts: a replay of a dead letter starts it again at 0, an attempt cut short by shutdown gives its place back"),
  last_status: z.number().int().nullable().describe("HTTP status of the last response; null before any, or when none arrived"),
  next_attempt_at: z.string().nullable().describe("ISO 8601 time of the next attempt; null once delivered or failed"),
  created_at: z.string(),
  delivered_at: z.string().nullable(),
  last_error: z.string().nullable(),
  last_response: z.string().nullable().describe("The first 20 KB of the last response body"),
  webhook_id: z.string().describe("The `webhook-id` header of every attempt, replays included: the receiver's idempotency key"),
});
export type Delivery = z.infer<typeof DeliverySchema>;

/** delivered/retry/failed as decided after the attempt; interrupted: shutdown or a crash cut it short. */
export const AttemptOutcomeSchema = z.enum(["delivered", "retry", "failed", "interrupted"]);
export type AttemptOutcome = z.infer<typeof AttemptOutcomeSchema>;

export const AttemptRecordSchema = z.object({
  attempt: z.number().int().describe("1, 2, 3… over the delivery's whole life, replays included"),
  started_at: z.string(),
  finished_at: z.string().nullable(),
  status: z.number().int().nullable(),
  latency_ms: z.number().int().nullable(),
  outcome: AttemptOutcomeSchema.nullable().describe(
    "delivered/retry/failed as decided after the attempt; interrupted: shutdown or a crash cut it short; null while in flight",
  ),
  error: z.string().nullable(),
  response_snippet: z.string().nullable().describe("The start of the response body (20 KB); null when none arrived"),
});
export type AttemptRecord = z.infer<typeof AttemptRecordSchema>;

export const DeliveryWithAttemptsSchema = DeliverySchema.extend({ attempt_history: z.array(AttemptRecordSchema) });
export type DeliveryWithAttempts = z.infer<typeof DeliveryWithAttemptsSchema>;

/** A destination's health, as the outbox knows it (the API adds what the configuration says). */
export interface DestinationHealth {
  destination: string;
  /** Waiting or in flight now. */
  pending: number;
  /** Delivered, and dead-lettered, since the window's start. */
  delivered: number;
  failed: number;
  /** Failed attempts (retried or final) since the last delivered one; interrupted attempts count neither way. */
  consecutive_failures: number;
  last_error: string | null;
  last_error_at: number | null;
  last_delivered_at: number | null;
}

export interface DeliveryFilter {
  status?: DeliveryStatus | undefined;
  destination?: string | undefined;
  callId?: string | undefined;
  /** Default 50. */
  limit?: number | undefined;
}
