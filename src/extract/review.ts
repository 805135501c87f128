// Review flags per value: why a human might check it before it reaches a CRM. Pure: the answer-time flags are kept
// with the cached extraction, and low_confidence is added per request, against that request's threshold.
import { z } from "zod";
import { valueAtPath } from "./paths.js";

export { valueAtPath };

/** Every flag, in the order a value's list gives them. */
export const REVIEW_FLAGS = ["low_confidence", "ungrounded", "repaired", "chunks_disagree", "coerced", "invalid_format"] as const;
export type ReviewFlag = (typeof REVIEW_FLAGS)[number];


/** The flags known once the answer is made (cached with it); low_confidence depends on the request's min_confidence. */
export const ANSWER_FLAGS = ["ungrounded", "repaired", "chunks_disagree", "coerced", "invalid_format"] as const satisfies readonly ReviewFlag[];
export type AnswerFlag = (typeof ANSWER_FLAGS)[number];

export const ReviewSchema = z.object({
  needed: z.boolean().describe("Whether any value has a flag"),
  fields: z
    .record(z.array(z.enum(REVIEW_FLAGS)))
    .describe(
      "The flagged non-null values only, each with its flags, by variable name; inside an object or a list of objects, by leaf path " +
        "(contact.email, items[1].quantity): low_confidence (confidence under options.min_confidence), " +
        "ungrounded (its evidence quote is not in the transcript), repaired (an earlier answer was invalid for it), " +
        "chunks_disagree (parts of a long call gave different values), coerced (normalised from the model's spelling), " +
        "invalid_format (a null value, at its path such as contact.email or items[1].phone: the model's value broke its format or pattern)",
    ),
});
export type Review = z.infer<typeof ReviewSchema>;

/** Adds `flag` to `name`'s flags (once). */
export function addFlag<Flag extends ReviewFlag>(flags: Record<string, Flag[]>, name: string, flag: Flag): void {
  const list = (flags[name] ??= []);
  if (!list.includes(flag)) list.push(flag);
}

/**
 * The review of an extraction: each non-null value's answer-time flags, plus low_confidence where its confidence is
 * under `minConfidence`; a nested variable's by leaf path, as its confidence and flags are keyed. A null value is never
 * flagged (there is nothing to trust), and a value without a confidence (the server gave no log-probabilities) is
 * never low_confidence.
 */
export function reviewOf(input: {
  values: Record<string, unknown>;
  confidence?: Record<string, number>;
  flags?: Record<string, readonly AnswerFlag[]>;
  minConfidence: number;
}): Review {
  const fields: Record<string, ReviewFlag[]> = {};
  for (const [name, value] of Object.entries(input.values)) {
    if (value === null || value === undefined) continue;
    const confidence = input.confidence?.[name];
    const found = new Set<ReviewFlag>(input.flags?.[name] ?? []);
    if (confidence !== undefined && confidence < input.minConfidence) found.add("low_confidence");
    found.delete("invalid_format");
    if (found.size > 0) fields[name] = REVIEW_FLAGS.filter((flag) => found.has(flag));
  }
  // Unlike the others, invalid_format sits on a null value (the broken one was dropped), at its path inside the
  // variable; it stands only while that path is still null (a later chunk may have given a valid value).
  // Flags and confidence on a path inside a variable (`items[1].quantity`) are judged like a variable's: kept on a
  // non-null value.
  const paths = new Set([...Object.keys(input.flags ?? {}), ...Object.keys(input.confidence ?? {})]);
  for (const path of paths) {
    const flags = input.flags?.[path] ?? [];
    const value = valueAtPath(input.values, path);
    const present = value !== null && value !== undefined;
    const inside = !Object.hasOwn(input.values, path) && present;
    const found = new Set<ReviewFlag>(inside ? flags.filter((flag) => flag !== "invalid_format") : []);
    const confidence = input.confidence?.[path];
    if (inside && confidence !== undefined && confidence < input.minConfidence) found.add("low_confidence");
    if (flags.includes("invalid_format") && (!present || Array.isArray(value))) found.add("invalid_format");
    if (found.size > 0) fields[path] = REVIEW_FLAGS.filter((flag) => found.has(flag) || fields[path]?.includes(flag));
  }
  return { needed: Object.keys(fields).length > 0, fields };
}

/** The review with only the flags in `counted` (a profile's `review.flags`): a value left with none is not flagged. */
export function countedFlags(review: Review, counted: readonly ReviewFlag[]): Review {
  const fields: Record<string, ReviewFlag[]> = {};
  for (const [name, flags] of Object.entries(review.fields)) {
    const kept = flags.filter((flag) => counted.includes(flag));
    if (kept.length > 0) fields[name] = kept;
  }
  return { needed: Object.keys(fields).length > 0, fields };
}
