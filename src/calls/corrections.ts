// A reviewer's corrections are facts about the call, not about one extraction: every later extraction (re-extract,
// backfill, replay) delivers them, a flag on a corrected value no longer counts, and a correction the profile's current
// definition of its variable no longer accepts holds the call (correction_conflict) rather than being dropped.
// Pure: the callers read and write the store.
import type { Review } from "../extract/index.js";
import { formatPath, outputSchemaFor, withDefaults, type VariableSpec } from "../schema/index.js";
import { changedPaths } from "./value-diff.js";

/** The reason a call waits for a reviewer because a correction no longer fits its variable. */
export const CORRECTION_CONFLICT = "correction_conflict";

// The corrections standing on a call (by variable name: a nested variable's whole value, its corrected leaves listed in
// `reviewed.corrected`), whether a path lies inside one, and the values a call delivers: the store's value rows need
// them too, so they live beside it.
export { correctionsOf, isCorrected, withCorrections } from "./store/reviewed.js";
import { correctionsOf, isCorrected } from "./store/reviewed.js";

/**
 * The leaf paths a correction changed against the model's values (`items[1].quantity`, `contact.email`; a flat
 * variable's name), in the order of `order` (the profile's variables), then of the values.
 */
export function correctedPaths(model: Record<string, unknown>, corrections: Record<string, unknown>, order: readonly string[] = []): string[] {
  return inOrder(Object.keys(corrections), order).flatMap((name) => {
    const paths = changedPaths({ [name]: model[name] ?? null }, { [name]: corrections[name] });
    // A correction equal to the model's value (the model changed since) still stands: it is named, as it always was.
    return paths.length > 0 ? paths : [name];
  });
}

/** Variable names in the profile's order (the order corrections were always listed in); names it lacks go last. */
export function inOrder(names: readonly string[], order: readonly string[]): string[] {
  const rank = (name: string) => (order.includes(name) ? order.indexOf(name) : order.length);
  return [...names].sort((a, b) => rank(a) - rank(b));
}

export interface CorrectionConflict {
  path: string;
  message: string;
}

/**
 * The corrections the profile's current variables no longer accept (a type or options changed since the review), each
 * with why and where (`items[1].quantity` inside a list of objects). A correction of a variable the profile no longer
 * has is not a conflict: nothing asks for it any more.
 */
export function correctionConflicts(corrections: Record<string, unknown>, variables: readonly VariableSpec[]): CorrectionConflict[] {
  const specs = withDefaults(variables).filter((spec) => Object.hasOwn(corrections, spec.name));
  if (specs.length === 0) return [];
  const parsed = outputSchemaFor(specs, { evidence: false }).zod.safeParse({ values: Object.fromEntries(specs.map((spec) => [spec.name, corrections[spec.name]])) });
  if (parsed.success) return [];
  const conflicts = new Map<string, string>();
  for (const issue of parsed.error.issues) {
    const path = formatPath(issue.path.slice(1));
    if (path && !conflicts.has(path)) conflicts.set(path, issue.message);
  }
  return [...conflicts].map(([path, message]) => ({ path, message }));
}

/** The call's `reason` while a conflicting correction holds it: the code, then which values and why. */
export function conflictReason(conflicts: readonly CorrectionConflict[]): string {
  return `${CORRECTION_CONFLICT}: ${conflicts.map((conflict) => `${conflict.path} (${conflict.message})`).join("; ")}`;
}

/** The flags that still need a person: those on values nobody corrected. */
export function uncorrectedReview(review: Review, corrections: Record<string, unknown>): Review {
  if (Object.keys(corrections).length === 0) return review;
  const fields = Object.fromEntries(Object.entries(review.fields).filter(([path]) => !isCorrected(path, corrections)));
  return { needed: Object.keys(fields).length > 0, fields };
}

/** Confidence for what the model decided: a corrected value is a person's, with no model confidence. */
export function uncorrectedConfidence(confidence: Record<string, number>, corrections: Record<string, unknown>): Record<string, number> {
  if (Object.keys(corrections).length === 0) return confidence;
  return Object.fromEntries(Object.entries(confidence).filter(([path]) => !isCorrected(path, corrections)));
}
