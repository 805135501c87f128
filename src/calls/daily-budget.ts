// A profile's daily LLM budget (`budget.daily_usd`): what its extractions cost since its day began (in its time zone,
// else UTC), read from the call store so every instance sharing it sees one figure, and whether that reached the budget.
import type { Profile } from "../configuration/config-file.js";
import { bucketsOf } from "./insights.js";
import type { CallStore } from "./store/port.js";

const DAY_MS = 86_400_000;

/** The profile's day around an instant: [start, end) in ms since the epoch (23 or 25 hours on a clock change). */
export interface BudgetDay {
  start: number;
  end: number;
}

/** The calendar day of `timeZone` that `now` falls in, cut the way insights cut their days. */
export function budgetDay(now: number, timeZone = "UTC"): BudgetDay {
  // A window of three days around `now`: the middle bucket is whole, neither end cut to the window.
  const day = bucketsOf({ since: now - DAY_MS, until: now + 2 * DAY_MS, bucket: "day" }, timeZone).find((bucket) => bucket.start <= now && now < bucket.end);
  return { start: day!.start, end: day!.end };
}

export interface BudgetStatus {
  /** USD the profile's extractions cost today (extractions without a known price count nothing). */
  spent: number;
  dailyUsd: number;
  onExceeded: "continue" | "wait";
  /** Today's spend reached the budget. */
  exceeded: boolean;
  day: BudgetDay;
}

/** What today's `spent` means under the profile's budget. */
function statusOf(profile: Profile & Required<Pick<Profile, "budget">>, spent: number, day: BudgetDay): BudgetStatus {
  return { spent, dailyUsd: profile.budget.dailyUsd, onExceeded: profile.budget.onExceeded, exceeded: spent >= profile.budget.dailyUsd, day };
}

const hasBudget = (profile: Profile): profile is Profile & Required<Pick<Profile, "budget">> => profile.budget !== undefined;

/** Today's spend of a profile with a budget, read now; undefined for a profile without one. */
export async function budgetStatus(store: Pick<CallStore, "spentSince">, profile: Profile, now: number): Promise<BudgetStatus | undefined> {
  if (!hasBudget(profile)) return undefined;
  const day = budgetDay(now, profile.timezone);
  return statusOf(profile, await store.spentSince(profile.name, day.start), day);
}

/** How long a profile's spend is reused before the store is asked again: a busy worker asks once, not once per call. */
export const SPEND_CACHE_MS = 5_000;

/**
 * Budget status per profile, its spend read from the store at most every SPEND_CACHE_MS (and again when its day
 * turns); calls of a profile started at once share one read. `add` counts this instance's own extraction at once;
 * `forget` drops a profile's figure, so the next look reads the store (after work whose cost only the store knows).
 * The budget itself is the profile's as passed: a reload's new amount counts at once.
 */
export class DailyBudgets {
  readonly #store: Pick<CallStore, "spentSince">;
  readonly #clock: () => number;
  readonly #cacheMs: number;
  readonly #spent = new Map<string, { at: number; dayStart: number; spent: Promise<number> }>();

  constructor(options: { store: Pick<CallStore, "spentSince">; clock: () => number; cacheMs?: number }) {
    this.#store = options.store;
    this.#clock = options.clock;
    this.#cacheMs = options.cacheMs ?? SPEND_CACHE_MS;
  }

  /** Undefined for a profile without a budget. A failed read is not kept: the next one asks the store again. */
  async status(profile: Profile): Promise<BudgetStatus | undefined> {
    if (!hasBudget(profile)) return undefined;
    const now = this.#clock();
    const day = budgetDay(now, profile.timezone);
    let seen = this.#spent.get(profile.name);
    if (!seen || seen.dayStart !== day.start || now - seen.at >= this.#cacheMs) {
      seen = this.#keep(profile.name, { at: now, dayStart: day.start, spent: this.#store.spentSince(profile.name, day.start) });
    }
    return statusOf(profile, await seen.spent, day);
  }

  #keep(profile: string, entry: { at: number; dayStart: number; spent: Promise<number> }) {
    this.#spent.set(profile, entry);
    entry.spent.catch(() => {
      if (this.#spent.get(profile) === entry) this.#spent.delete(profile);
    });
    return entry;
  }

  /**
   * This instance's extraction of the profile just cost `usd`: added to the figure kept, so the next call sees it at once
   * rather than after SPEND_CACHE_MS (what other instances spend is seen at the next read).
   */
  add(profile: string, usd: number): void {
    const seen = this.#spent.get(profile);
    if (!seen || !(usd > 0)) return;
    this.#keep(profile, { ...seen, spent: seen.spent.then((spent) => spent + usd) });
  }

  forget(profile: string): void {
    this.#spent.delete(profile);
  }
}

/** Whether a reload changed what a profile may spend today (its amount, what happens when reached, or its day). */
export function budgetChanged(before: Profile | undefined, after: Profile): boolean {
  const a = before?.budget;
  const b = after.budget;
  if (a === undefined) return false;
  return b === undefined || a.dailyUsd !== b.dailyUsd || a.onExceeded !== b.onExceeded || before?.timezone !== after.timezone;
}

/**
 * Makes due again what waits for the budget of each of `profiles` that may spend now: its calls in waiting_for_budget
 * (no budget, `continue`, or one not reached today) and its backfills' deferred items (no budget, or one not reached
 * today: backfills pause under `continue` too). What is still over its budget keeps waiting. Returns how many.
 */
export async function resumeAffordable(
  deps: { store: Pick<CallStore, "resumeWaitingForBudget" | "resumeBackfills">; budgets: Pick<DailyBudgets, "status"> },
  profiles: readonly Profile[],
): Promise<{ calls: number; items: number }> {
  const calls: string[] = [];
  const backfills: string[] = [];
  for (const profile of profiles) {
    const status = await deps.budgets.status(profile);
    if (!status?.exceeded || status.onExceeded === "continue") calls.push(profile.name);
    if (!status?.exceeded) backfills.push(profile.name);
  }
  const resumed = { calls: calls.length > 0 ? await deps.store.resumeWaitingForBudget({ profiles: calls }) : 0, items: 0 };
  for (const profile of backfills) resumed.items += await deps.store.resumeBackfills(profile);
  return resumed;
}
