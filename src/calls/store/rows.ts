// The call store's rows as both engines return them, and the mappers from rows to the port's records.
import { CALL_STATES, type CallFateInput, type CallStage, type CallState, type FateRecord } from "../fates.js";
import type { SourceName } from "../../sources/index.js";
import type {
  BackfillItem,
  BackfillRecord,
  CallExtraction,
  CallRecord,
  CallSummary,
  ExtractionRecord,
  ExtractionTrigger,
} from "./port.js";

/**
 * A `calls` row as both engines return it: JSON as text, times as ms since the epoch. The columns keep their first
 * release's names (`state` holds the stage, `public_state` the state); the row's fields say what they hold, through
 * the aliases in CALL_COLUMNS.
 */
export interface CallRow {
  id: string;
  profile: string;
  external_id: string;
  source: SourceName;
  completed: number | boolean | null;
  started_at: string | null;
  ended_at: string | null;
  duration_s: number | null;
  customer_phone: string | null;
  agent_phone: string | null;
  recording_url: string | null;
  customer_e164: string | null;
  stage: CallStage;
  state: CallState;
  reason: string | null;
  payload: string;
  attempts: number;
  next_attempt_at: number | null;
  last_error: string | null;
  extraction: string | null;
  reviewed: string | null;
  created_at: number;
  updated_at: number;
}

export type CallSummaryRow = Omit<CallRow, "payload" | "extraction" | "reviewed">;

/** What a list reads: everything but the payload, the extraction and the review, as CallSummaryRow names it. */
export const SUMMARY_COLUMNS =
  "id, profile, external_id, source, completed, started_at, ended_at, duration_s, customer_phone, agent_phone, recording_url, customer_e164, " +
  "state AS stage, public_state AS state, reason, attempts, next_attempt_at, last_error, created_at, updated_at";

/** A whole call, as CallRow names it. */
export const CALL_COLUMNS = `${SUMMARY_COLUMNS}, payload, extraction, reviewed`;

/** The fields of a call row that hold text a platform, a model or a reviewer wrote (PostgreSQL escapes them). */
export const CALL_TEXT_FIELDS = [
  "external_id",
  "started_at",
  "ended_at",
  "customer_phone",
  "agent_phone",
  "recording_url",
  "reason",
  "last_error",
] as const satisfies readonly (keyof CallRow)[];
export const CALL_JSON_FIELDS = ["payload", "extraction", "reviewed"] as const satisfies readonly (keyof CallRow)[];

export function toCallSummary(row: CallSummaryRow): CallSummary {
  return {
    id: row.id,
    profile: row.profile,
    external_id: row.external_id,
    source: row.source,
    call:
      row.completed === null
        ? null
        : {
            completed: row.completed === 1 || row.completed === true,
            started_at: row.started_at,
            ended_at: row.ended_at,
            duration_s: row.duration_s,
            customer_phone: row.customer_phone,
            agent_phone: row.agent_phone,
            recording_url: row.recording_url,
          },
    customer_phone_e164: row.customer_e164,
    state: row.state,
    stage: row.stage,
    reason: row.reason,
    attempts: row.attempts,
    next_attempt_at: row.next_attempt_at,
    last_error: row.last_error,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export function toCallRecord(row: CallRow): CallRecord {
  return {
    ...toCallSummary(row),
    payload: JSON.parse(row.payload),
    extraction: row.extraction ? JSON.parse(row.extraction) : null,
    reviewed: row.reviewed ? JSON.parse(row.reviewed) : null,
  };
}

/** A `call_extractions` row as both engines return it. */
export interface ExtractionRow {
  seq: number;
  profile_version: string | null;
  trigger: ExtractionTrigger;
  event: number | null;
  extraction: string;
  created_at: number | string;
}

export const EXTRACTION_COLUMNS = "seq, profile_version, trigger, event, extraction, created_at";

export function toExtractionRecord(row: ExtractionRow): ExtractionRecord {
  return {
    seq: row.seq,
    profile_version: row.profile_version,
    trigger: row.trigger,
    event: row.event,
    extraction: JSON.parse(row.extraction) as ExtractionRecord["extraction"],
    created_at: Number(row.created_at),
  };
}

/** The extraction as its history keeps it: without the turns (the call's transcript, the same for every extraction). */
/** What an extraction cost in USD, as its meta says; null when it does not know (an unknown model, stored before costs). */
export function extractionCost(extraction: CallExtraction): number | null {
  const cost = extraction.meta?.cost_usd;
  return typeof cost === "number" && Number.isFinite(cost) ? cost : null;
}

export function historyText(extraction: CallExtraction): string {
  const { turns: _turns, ...rest } = extraction;
  return JSON.stringify(rest);
}

/** The stage and state of a call, as the fates' writers read them before summarising. */
export interface CallStateRow {
  id: string;
  stage: CallStage;
  state: CallState;
}

export const CALL_STATE_COLUMNS = "id, state AS stage, public_state AS state";

export function emptyCallCounts(): Record<CallState, number> {
  return Object.fromEntries(CALL_STATES.map((state) => [state, 0])) as Record<CallState, number>;
}

/** Calls per public state, as `counts()` reads them into emptyCallCounts(). */
export const COUNTS_SQL = "SELECT public_state AS state, COUNT(*) AS n FROM calls GROUP BY public_state";

export interface CountRow {
  state: CallState;
  n: number;
}

/** One fate per (call, destination, event): the last one given wins (a batch must not touch a row twice). */
export function uniqueFates<T extends CallFateInput>(fates: readonly T[]): T[] {
  return [...new Map(fates.map((fate) => [`${fate.call_id}\u0000${fate.destination}\u0000${fate.event}`, fate])).values()];
}

/** The columns of a fate as FateRecord names them. */
export const FATE_COLUMNS = "destination, event, fate, reason_code, reason, delivery_id, version, updated_at";

/** A `backfills` row as both engines return it. */
export interface BackfillRow extends Omit<BackfillRecord, "request" | "redeliver"> {
  request: string;
  redeliver: number | boolean;
}

export function toBackfillRecord(row: BackfillRow): BackfillRecord {
  const number = (value: unknown) => Number(value);
  return {
    id: row.id,
    profile: row.profile,
    state: row.state,
    request: JSON.parse(row.request),
    redeliver: row.redeliver === 1 || row.redeliver === true,
    total: number(row.total),
    done: number(row.done),
    changed: number(row.changed),
    failed: number(row.failed),
    prompt_tokens: number(row.prompt_tokens),
    completion_tokens: number(row.completion_tokens),
    cost_usd: row.cost_usd === null || row.cost_usd === undefined ? null : number(row.cost_usd),
    created_at: number(row.created_at),
    updated_at: number(row.updated_at),
    finished_at: row.finished_at === null ? null : number(row.finished_at),
  };
}

/** A claimed `backfill_items` row with its backfill's `redeliver`. */
export type BackfillItemRow = Omit<BackfillItem, "redeliver"> & { redeliver: number | boolean };

export function toBackfillItem(row: BackfillItemRow): BackfillItem {
  return { backfill_id: row.backfill_id, call_id: row.call_id, attempts: Number(row.attempts), redeliver: row.redeliver === 1 || row.redeliver === true };
}

/** Fate rows of several calls, grouped by call (each call's in the order the query gave). */
export function groupFates(rows: readonly (FateRecord & { call_id: string })[]): Map<string, FateRecord[]> {
  const byCall = new Map<string, FateRecord[]>();
  for (const { call_id: callId, ...fate } of rows) {
    const fates = byCall.get(callId) ?? [];
    fates.push(fate);
    byCall.set(callId, fates);
  }
  return byCall;
}
