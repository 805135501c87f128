// The API's shapes as the console reads them (see /openapi.json, generated from the service's zod schemas). Only the
// fields the console shows are named.

export interface CallFacts {
  completed: boolean;
  started_at: string | null;
  ended_at: string | null;
  duration_s: number | null;
  customer_phone: string | null;
  agent_phone: string | null;
  recording_url: string | null;
}

export interface Attempt {
  attempt: number;
  started_at: string;
  finished_at: string | null;
  status: number | null;
  latency_ms: number | null;
  outcome: "delivered" | "retry" | "failed" | "interrupted" | null;
  error: string | null;
  response_snippet?: string | null;
}

export interface Delivery {
  id: string;
  call_id: string;
  destination: string;
  status: "pending" | "delivered" | "failed";
  attempts: number;
  last_status: number | null;
  next_attempt_at: string | null;
  created_at: string;
  delivered_at: string | null;
  last_error: string | null;
  last_response: string | null;
  webhook_id: string;
  attempt_history: Attempt[];
}

export interface Turn {
  speaker: string;
  text: string;
  time?: string;
}

export interface EvidenceItem {
  quote: string;
  turn: number;
}

export interface CallDetail {
  call_id: string;
  profile: string;
  source: string;
  external_id: string;
  call: CallFacts | null;
  state: string;
  reason: string | null;
  attempts: number;
  next_attempt_at: string | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
  extracted_variables: Record<string, unknown> | null;
  meta: Record<string, unknown> | null;
  delivery_errors: { destination: string; path: string; message: string }[];
  deliveries: Delivery[];
}

export interface ExtractResult {
  extracted_variables: Record<string, unknown>;
  evidence?: Record<string, EvidenceItem>;
  meta: Record<string, unknown> & { model: string; cached: boolean; latency_ms: number; ungrounded?: number };
}

export interface TestRequestResult {
  ok: boolean;
  status: number | null;
  latency_ms: number;
  body_snippet: string | null;
  error: string | null;
  webhook_id: string;
}

/** A call in the list (GET /v1/calls). */
export interface CallSummary {
  call_id: string;
  external_id: string;
  profile: string;
  source: string;
  state: string;
  call: CallFacts | null;
  created_at: string;
}

export interface CallList {
  calls: CallSummary[];
  next_cursor: string | null;
}

/** A destination's health (GET /v1/destinations). */
export interface DestinationHealth {
  name: string;
  [field: string]: unknown;
}
