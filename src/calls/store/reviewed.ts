// What a reviewer's decision (CallReview) makes of a call's values, as the store's value rows need it: the corrections
// standing on the call, whether a path lies inside one, and the values the call delivers. ../corrections.ts builds the
// rest of the corrections' rules (conflicts, flags, confidence) on these.
import { isWithin } from "../../extract/paths.js";
import type { CallReview } from "./port.js";

/**
 * The corrections standing on a call, by variable name: a nested variable's whole value (its corrected leaves are listed
 * in `reviewed.corrected`), so every later extraction delivers exactly what the reviewer approved.
 */
export function correctionsOf(reviewed: CallReview | null | undefined): Record<string, unknown> {
  return reviewed?.values ?? {};
}

/** True when `path` is a corrected path or lies inside one (`contact.email` inside a corrected `contact`). */
export function isCorrected(path: string, corrections: Record<string, unknown>): boolean {
  return Object.keys(corrections).some((corrected) => isWithin(path, corrected));
}

/** The values a call delivers: the model's, with every standing correction in place of the model's value. */
export function withCorrections(values: Record<string, unknown>, reviewed: CallReview | null | undefined): Record<string, unknown> {
  const corrections = correctionsOf(reviewed);
  return Object.keys(corrections).length === 0 ? values : { ...values, ...corrections };
}
