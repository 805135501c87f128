// What a call's receivers have had so far and what waits for a reviewer: the held page and the history must agree.
import type { CallDetail } from "./types.js";

export interface ReviewStory {
  /** The newest event any destination received, and when; null when nothing was delivered yet. */
  delivered: { event: number; at: string | null } | null;
  /** The event the held extraction goes out as once approved; null when the call is not held. */
  waiting: number | null;
}

export function reviewStory(call: Pick<CallDetail, "state" | "destinations" | "extraction">): ReviewStory {
  const sent = call.destinations.flatMap((fate) => fate.deliveries).filter((delivery) => delivery.status === "delivered");
  const newest = sent.reduce<(typeof sent)[number] | undefined>((best, delivery) => (!best || delivery.event > best.event ? delivery : best), undefined);
  const waiting = call.state === "needs_review" ? (call.extraction?.history[0]?.event ?? 1) : null;
  return { delivered: newest ? { event: newest.event, at: newest.delivered_at } : null, waiting };
}

/** Events that reached a destination (or are on their way): a history entry "as event N" only counts once it has. */
export function routedEvents(call: Pick<CallDetail, "destinations">): Set<number> {
  return new Set(call.destinations.flatMap((fate) => fate.deliveries).map((delivery) => delivery.event));
}
