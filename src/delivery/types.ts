// The delivery records the API shows: snake_case and ISO times, exactly as serialised.

export const DELIVERY_STATUSES = ["pending", "delivered", "failed"] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export interface Delivery {
  id: string;
  call_id: string;
  destination: string;
  /** pending: waiting or in flight; delivered: a 2xx arrived; failed: dead-lettered (final status, refused, or out of attempts). */
  status: DeliveryStatus;
  /** Attempts in the current run; a replay starts again at 0. */
  attempts: number;
  last_status: number | null;
  next_attempt_at: string | null;
  created_at: string;
  delivered_at: string | null;
  last_error: string | null;
  /** The first 20 KB of the last response body. */
  last_response: string | null;
  webhook_id: string;
}

/** delivered/retry/failed as decided after the attempt; interrupted: shutdown or a crash cut it short. */
export type AttemptOutcome = "delivered" | "retry" | "failed" | "interrupted";

export interface AttemptRecord {
  /** 1, 2, 3… over the delivery's whole life, replays included. */
  attempt: number;
  started_at: string;
  finished_at: string | null;
  status: number | null;
  latency_ms: number | null;
  /** Null while the attempt is in flight. */
  outcome: AttemptOutcome | null;
  error: string | null;
}

export interface DeliveryWithAttempts extends Delivery {
  attempt_history: AttemptRecord[];
}

export interface DeliveryFilter {
  status?: DeliveryStatus | undefined;
  destination?: string | undefined;
  callId?: string | undefined;
  /** Default 50. */
  limit?: number | undefined;
}
