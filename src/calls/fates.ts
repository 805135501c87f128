// What became of a call at each destination (its fate), and the one state the API shows for a call, derived from its
// extraction stage and those fates. Pure: both store adapters and the call view use these same rules.
//
// The words for a call, used with these meanings in the code, the README and the API:
// - stage: where the call is in its own extraction lifecycle (CALL_STAGES: accepted, waiting_for_budget, extracting,
//   extracted, extraction_failed, skipped, needs_review). The call store keeps it in the `calls.state` column (the first
//   release's name).
// - state: what the API shows for the call (CALL_STATES, `state` in every answer and filter). It is the stage until the
//   call is extracted; after that the destinations' latest fates decide it (delivering, delivered, delivery_failed, or
//   extracted when no destination applied). Kept in `calls.public_state`, written in the same transaction as the stage
//   and the fates, so a list filters on it with an index.
// - fate: what became of one event of the call at one destination (FATES: delivered, pending, failed, skipped), with
//   why (FATE_REASONS). Stored in `call_fates`; a call's view prefers the outbox's live delivery status.
// - event: one routing of the call to its profile's destinations, numbered per call. 1 is its first extraction
//   (`call.extracted`, or `call.reviewed` when it was held); each re-extraction delivered again takes the next
//   (`call.reextracted`, or `call.reviewed` when held). A destination gets at most one delivery per event, whose
//   webhook-id derives from the call, the destination and the event, so receivers can deduplicate.
// - profile version: 12 hex digits of a hash over what changes a profile's answers (variables, system prompt, model,
//   prompt templates, evidence, time zone; not destinations, gates or inbound auth). Each stored extraction records
//   the version it ran under; a call extracted under another version than the current one is outdated.
// - hold: a profile's `review.hold`. A call whose extraction has a flagged value that counts (`review.flags`) waits in
//   needs_review, routed nowhere, until a reviewer approves it (routed with the corrections, not extracted again) or
//   skips it. A held re-extraction reserves its event number when it is held.
// - waiting for budget: a profile's `budget` (a daily LLM spend in USD) was reached and its `on_exceeded` is `wait`, so
//   a call is not extracted: it waits in waiting_for_budget until the profile's next day starts, or a reload raises the
//   budget, then is due again. Nothing was extracted and nobody has to act, unlike a hold (which waits for a reviewer).
// - backfill item: one call of a backfill (a profile's past calls re-extracted under its current version), fixed when
//   the backfill starts. The call worker claims items only when no live call is due; each ends done or failed.
import type { DeliveryStatus, DeliveryWithAttempts, EnqueueReport } from "../delivery/index.js";

/**
 * The one list of call states for the whole API (README, OpenAPI, filters), in the order a call moves through them:
 * accepted → extracting → extraction_failed | skipped | needs_review | extracted | delivering → delivered | delivery_failed.
 * waiting_for_budget: accepted, but its profile's daily LLM budget is spent (`budget.on_exceeded: wait`): extracted once
 * the profile's next day starts or a reload raises the budget (→ accepted, or extracting when an attempt failed before).
 * needs_review: extracted under a profile whose `review.hold` is on, with a flagged value: routed nowhere until a
 * reviewer approves it (→ accepted, then routed with the corrections, without extracting again) or skips it (→ skipped).
 */
export const CALL_STATES = [
  "accepted",
  "waiting_for_budget",
  "extracting",
  "extraction_failed",
  "skipped",
  "needs_review",
  "extracted",
  "delivering",
  "delivered",
  "delivery_failed",
] as const;
export type CallState = (typeof CALL_STATES)[number];

/** The extraction's own lifecycle, as the store's `state` column keeps it; the public state adds the fates to it. */
export const CALL_STAGES = ["accepted", "waiting_for_budget", "extracting", "extracted", "extraction_failed", "skipped", "needs_review"] as const;
export type CallStage = (typeof CALL_STAGES)[number];

export const FATES = ["delivered", "pending", "failed", "skipped"] as const;
export type Fate = (typeof FATES)[number];

/**
 * Why a destination's fate is what it is. Stored: when_false, when_failed, transform_failed (skipped at routing) and
 * dead_lettered (failed). Derived when the call view is built: retrying, awaiting_extraction, awaiting_review,
 * call_skipped, not_recorded.
 */
export const FATE_REASONS = [
  "when_false",
  "when_failed",
  "transform_failed",
  "dead_lettered",
  "retrying",
  "awaiting_extraction",
  "awaiting_review",
  "call_skipped",
  "not_recorded",
] as const;
export type FateReason = (typeof FATE_REASONS)[number];

/** A destination skipped because its expression failed on the call: the CRM did not get it, and someone must act. */
const EXPRESSION_FAILURES: ReadonlySet<string> = new Set<FateReason>(["when_failed", "transform_failed"]);

/**
 * One destination's fate for one event of a call, as the call store keeps it. `event` numbers the times a call was
 * routed (1 today; re-extraction will route a call again as event 2, 3…). A fate that follows a delivery carries its id
 * and the outbox `version` it reflects, so an older write never overwrites a newer one.
 */
export interface FateRecord {
  destination: string;
  event: number;
  fate: Fate;
  reason_code: FateReason | null;
  reason: string | null;
  delivery_id: string | null;
  version: number;
  updated_at: number;
}

/** What a writer hands the store: a fate without the time it is written. */
export type FateInput = Omit<FateRecord, "updated_at">;

/** A fate written for another call than the one being updated (the delivery worker's and the sweeper's writes). */
export type CallFateInput = FateInput & { call_id: string };

/** The latest event's fate of each destination. */
export function latestFates<T extends Pick<FateRecord, "destination" | "event">>(fates: readonly T[]): T[] {
  const latest = new Map<string, T>();
  for (const fate of fates) {
    const seen = latest.get(fate.destination);
    if (!seen || fate.event > seen.event) latest.set(fate.destination, fate);
  }
  return [...latest.values()];
}

/**
 * The state the API shows. Until a call is extracted it is its stage; after that, its destinations' latest fates
 * decide: any failure (a dead letter, or an expression that failed) → delivery_failed; else anything pending →
 * delivering; else anything delivered → delivered; else (no destination applied) → extracted.
 */
export function summarizeCallState(stage: CallStage, fates: readonly Pick<FateRecord, "destination" | "event" | "fate" | "reason_code">[]): CallState {
  if (stage !== "extracted") return stage;
  const latest = latestFates(fates);
  if (latest.some((f) => f.fate === "failed" || (f.fate === "skipped" && f.reason_code !== null && EXPRESSION_FAILURES.has(f.reason_code)))) {
    return "delivery_failed";
  }
  if (latest.some((f) => f.fate === "pending")) return "delivering";
  if (latest.some((f) => f.fate === "delivered")) return "delivered";
  return "extracted";
}

/** The fate a delivery's status stands for, with why when it is not plain. */
export function fateOfDelivery(delivery: { status: DeliveryStatus; last_error: string | null }): { fate: Fate; reason_code: FateReason | null; reason: string | null } {
  if (delivery.status === "failed") return { fate: "failed", reason_code: "dead_lettered", reason: delivery.last_error };
  if (delivery.status === "pending" && delivery.last_error !== null) return { fate: "pending", reason_code: "retrying", reason: delivery.last_error };
  return { fate: delivery.status, reason_code: null, reason: null };
}

export interface DestinationFate {
  destination: string;
  /** The destination is in the profile's `destinations` now. */
  in_profile: boolean;
  fate: Fate;
  reason: { code: FateReason; message: string } | null;
  /** Every delivery of the call to this destination (one per event), oldest first, each with its attempts. */
  deliveries: DeliveryWithAttempts[];
}

const REASON_TEXT: Partial<Record<FateReason, string>> = {
  when_false: "its when expression was not true for this call",
  awaiting_extraction: "the call is not extracted yet: it is routed to its destinations once it is",
  awaiting_review: "the call is held for review: it is routed to its destinations once a reviewer approves it",
  not_recorded:
    "no fate was recorded: the destination was added to the profile after this call was routed, or the call was routed before Debrief recorded fates (its `when` was then not true)",
};

/**
 * Every destination of the call: the profile's, then any other the call was routed to (a destination since removed
 * from the profile). The outbox's live delivery status wins over the stored fate, so the view is right even while
 * the call store's copy is being brought up to date.
 */
export function describeFates(input: {
  stage: CallStage;
  stageReason: string | null;
  profileDestinations: readonly string[];
  fates: readonly FateRecord[];
  deliveries: readonly DeliveryWithAttempts[];
}): DestinationFate[] {
  const names = [...new Set([...input.profileDestinations, ...input.fates.map((f) => f.destination), ...input.deliveries.map((d) => d.destination)])];
  return names.map((destination): DestinationFate => {
    const deliveries = input.deliveries.filter((d) => d.destination === destination);
    const stored = latestFates(input.fates.filter((f) => f.destination === destination))[0];
    const current = deliveries.at(-1);
    const base = { destination, in_profile: input.profileDestinations.includes(destination), deliveries };
    // A stored fate that follows a delivery is an older copy of what the outbox says now.
    if (current && (!stored || stored.delivery_id !== null)) {
      const { fate, reason_code, reason } = fateOfDelivery(current);
      return { ...base, fate, reason: reason_code ? { code: reason_code, message: reason ?? "" } : null };
    }
    if (stored) {
      const code = stored.reason_code;
      return { ...base, fate: stored.fate, reason: code ? { code, message: stored.reason ?? REASON_TEXT[code] ?? "" } : null };
    }
    if (input.stage === "skipped") {
      return { ...base, fate: "skipped", reason: { code: "call_skipped", message: `the call was skipped: ${input.stageReason ?? "a gate stopped it"}` } };
    }
    if (input.stage === "extracted") return { ...base, fate: "skipped", reason: { code: "not_recorded", message: REASON_TEXT.not_recorded! } };
    if (input.stage === "needs_review") return { ...base, fate: "pending", reason: { code: "awaiting_review", message: REASON_TEXT.awaiting_review! } };
    return { ...base, fate: "pending", reason: { code: "awaiting_extraction", message: REASON_TEXT.awaiting_extraction! } };
  });
}

/** A destination's latest fate as a list of calls shows it: what became of the call there, and why when not plain. */
export type FateBrief = Pick<DestinationFate, "destination" | "fate" | "reason">;

/** Each destination's latest stored fate, with why: `GET /v1/calls` items, a page's fates read in one query. */
export function briefFates(fates: readonly FateRecord[]): FateBrief[] {
  return latestFates(fates)
    .sort((a, b) => a.destination.localeCompare(b.destination))
    .map(({ destination, fate, reason_code: code, reason }) => ({
      destination,
      fate,
      reason: code ? { code, message: reason ?? REASON_TEXT[code] ?? "" } : null,
    }));
}

/** The call's state from the view's fates (live delivery status included): what GET /v1/calls/{id} shows. */
export function stateOfView(stage: CallStage, destinations: readonly DestinationFate[]): CallState {
  return summarizeCallState(
    stage,
    destinations
      .filter((d) => d.reason?.code !== "not_recorded")
      .map((d) => ({ destination: d.destination, event: 1, fate: d.fate, reason_code: d.reason?.code ?? null })),
  );
}

/** The fates extraction routed a call to: enqueued (pending, following its delivery), skipped by `when`, or an expression that failed. */
export function routedFates(report: EnqueueReport, event = 1): FateInput[] {
  const base = { event, version: 0 };
  return [
    ...report.enqueued.map((delivery): FateInput => ({ ...base, destination: delivery.destination, fate: "pending", reason_code: null, reason: null, delivery_id: delivery.id })),
    ...report.skipped.map(
      (destination): FateInput => ({ ...base, destination, fate: "skipped", reason_code: "when_false", reason: report.whenFalse?.[destination] ?? null, delivery_id: null }),
    ),
    ...report.errors.map(
      (error): FateInput => ({
        ...base,
        destination: error.destination,
        fate: "skipped",
        reason_code: error.path.endsWith(".when") ? "when_failed" : "transform_failed",
        reason: error.message,
        delivery_id: null,
      }),
    ),
  ];
}
