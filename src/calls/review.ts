// Hold for review: which calls a profile holds, what a reviewer may send, and the values a reviewed call delivers.
// Pure: the route reads and writes the store, the worker routes.
import { isDeepStrictEqual } from "node:util";
import { z } from "zod";
import { InvalidRequestError, type ErrorDetail } from "../errors.js";
import { countedFlags, type Review } from "../extract/index.js";
import { knownKeysAt, outputSchemaFor, withDefaults, zodIssuesToDetails, type VariableSpec } from "../schema/index.js";
import type { Profile } from "../configuration/config-file.js";
import { correctedPaths, correctionConflicts, correctionsOf, inOrder, uncorrectedReview } from "./corrections.js";
import type { CallExtraction, CallReview } from "./store/port.js";

export const MAX_REVIEW_REASON_CHARS = 2_000;
/** A body of a thousand unknown names is one short answer. */
const MAX_DETAILS = 20;

/** `POST /v1/calls/{id}/review`; the OpenAPI document describes it from this schema. */
export const ReviewRequestSchema = z
  .object({
    approve: z.boolean().describe("true: deliver the call now, with `values` applied; false: skip it for `reason`"),
    values: z
      .record(z.unknown())
      .optional()
      .describe(
        "Corrections by variable name (the profile's variables, status and summary included), each validated as extraction validates it; null clears a value. " +
          "An object or a list of objects is sent whole (every field, null for one the call never gave), and each field and item is validated against its type: " +
          "a 400 names the path, e.g. `values.items[1].quantity`. Only with approve: true",
      ),
    reason: z
      .string()
      .trim()
      .min(1, "must not be blank")
      .max(MAX_REVIEW_REASON_CHARS)
      .optional()
      .describe("Why the call is skipped: required with approve: false, kept as the call's `reason`"),
  })
  .strict();
export type ReviewRequest = z.infer<typeof ReviewRequestSchema>;

/**
 * The extraction's flags that count for the profile, and whether they hold the call for a reviewer. A flag on a value a
 * reviewer corrected does not count: a person decided it.
 */
export function holdDecision(review: Review, profile: Pick<Profile, "review">, corrections: Record<string, unknown> = {}): { review: Review; hold: boolean } {
  const counted = uncorrectedReview(countedFlags(review, profile.review.flags), corrections);
  return { review: counted, hold: profile.review.hold && counted.needed };
}

/** Validates a review body; throws InvalidRequestError naming each offending field. */
export function parseReviewRequest(body: unknown): ReviewRequest {
  const parsed = ReviewRequestSchema.safeParse(body ?? {});
  const details: ErrorDetail[] = parsed.success ? [] : zodIssuesToDetails(parsed.error.issues, [], (path) => knownKeysAt(ReviewRequestSchema, path));
  if (parsed.success && !parsed.data.approve) {
    if (parsed.data.reason === undefined) details.push({ path: "reason", message: "is required when approve is false: say why the call is skipped" });
    if (parsed.data.values !== undefined) details.push({ path: "values", message: "corrections are only taken with approve: true" });
  }
  if (!parsed.success || details.length > 0) throw new InvalidRequestError("The review does not match its schema", details);
  return parsed.data;
}

/**
 * The reviewer's decision as the call keeps it. Corrections are validated with the profile's variable types, as the
 * model's answer is (so "4,000" for a number is 4000, and each field of an object or item of a list against its own
 * type); a value equal to the model's is not a correction. `values` keeps each corrected variable's whole value;
 * `corrected` names the leaves that differ from the model's (`items[1].quantity`, `contact.email`, a flat variable's
 * name). Corrections from an earlier review of the call stand (they are facts about the call, whatever extraction is
 * current) unless this review sends that variable again: its value then replaces the correction, and the model's own
 * value withdraws it.
 */
export function reviewDecision(
  request: ReviewRequest,
  input: { extraction: CallExtraction; variables: readonly VariableSpec[]; at: Date; previous?: CallReview | null },
): CallReview {
  const at = input.at.toISOString();
  const standing = correctionsOf(input.previous);
  const model = input.extraction.extracted_variables;
  const specs = withDefaults(input.variables);
  const known = specs.map((spec) => spec.name);
  if (!request.approve) return { approved: false, at, corrected: correctedPaths(model, standing, known), values: standing, reason: request.reason ?? null };
  const corrections = request.values ?? {};
  const details: ErrorDetail[] = Object.keys(corrections)
    .filter((name) => !known.includes(name))
    .map((name) => ({ path: `values.${name}`, message: `is not a variable of this profile; expected one of ${known.join(", ")}` }));
  const sentSpecs = specs.filter((spec) => Object.hasOwn(corrections, spec.name));
  const schema = outputSchemaFor(sentSpecs, { evidence: false }).zod;
  const parsed = schema.safeParse({ values: Object.fromEntries(sentSpecs.map((spec) => [spec.name, corrections[spec.name]])) });
  if (!parsed.success) {
    // One detail per value: a date that is no date fails its format and its calendar check, and one reason is enough.
    for (const detail of zodIssuesToDetails(parsed.error.issues, [], (path) => knownKeysAt(schema, path))) {
      if (details.some((d) => d.path === detail.path)) continue;
      // An object is sent whole: a field left out is one the reviewer forgot, not one the call never gave.
      details.push(detail.message === "Required" ? { ...detail, message: "is required: an object is sent with every field (null for one the call never gave)" } : detail);
    }
  }
  // An earlier correction the variable's current definition refuses must be replaced (or cleared) by this review.
  const kept = Object.fromEntries(Object.entries(standing).filter(([name]) => !Object.hasOwn(corrections, name)));
  for (const conflict of correctionConflicts(kept, input.variables)) {
    details.push({ path: `values.${conflict.path}`, message: `the earlier correction no longer fits this variable (${conflict.message}): send a new value, or null` });
  }
  if (!parsed.success || details.length > 0) {
    throw new InvalidRequestError("A correction is not a valid value of its variable", details.slice(0, MAX_DETAILS));
  }
  const sent = parsed.data.values;
  const values: Record<string, unknown> = Object.fromEntries(Object.entries(standing).filter(([name]) => !Object.hasOwn(sent, name)));
  for (const [name, value] of Object.entries(sent)) if (!isDeepStrictEqual(model[name] ?? null, value)) values[name] = value;
  const names = inOrder(Object.keys(values), known);
  return { approved: true, at, corrected: correctedPaths(model, values, known), values: Object.fromEntries(names.map((name) => [name, values[name]])), reason: null };
}
