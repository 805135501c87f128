// A call's values as rows: the narrow `call_values` table insights count and the calls list filters by (issue 27),
// written with every extraction and every reviewer's decision, so nothing re-parses the stored extraction (which holds
// the whole transcript) to answer "how many callers asked for a repair". Pure: values-sql.ts writes the rows.
import type { CallExtraction, CallReview } from "./port.js";
import { correctionsOf, isCorrected, withCorrections } from "./reviewed.js";

/** What a value is, as a row says it: a container's rows are followed by its leaves'. */
export const VALUE_KINDS = ["null", "string", "number", "boolean", "object", "list"] as const;
export type ValueKind = (typeof VALUE_KINDS)[number];

/**
 * One node of a call's values: a top-level variable (`budget`), a field inside an object (`contact.email`), or an item
 * of a list (`items[]`, `items[].quantity`: list positions are left out, so every item of a list counts under one path).
 */
export interface ValueRow {
  /** The top-level variable it belongs to. */
  variable: string;
  path: string;
  kind: ValueKind;
  /** A string as it is, a boolean as "true"/"false", a number as JSON writes it; null for null, objects and lists. */
  value: string | null;
  /** A number's value (for spreads); null otherwise. */
  num: number | null;
  /** The model's confidence in it, when the LLM gave log-probabilities and nobody corrected it. */
  confidence: number | null;
  /** A reviewer's correction stands on it (or on a value it lies inside). */
  corrected: boolean;
}

/** Deeper than any variable can be (3 levels of objects, lists between): a stored value is never walked further. */
const MAX_DEPTH = 12;

/**
 * The rows of the values a call delivers: the extraction's, with the reviewer's corrections in place of the model's
 * (a correction counts as the corrected value). Every top-level variable has a row, null ones included.
 */
export function valueRowsOf(extraction: CallExtraction, reviewed: CallReview | null | undefined): ValueRow[] {
  const corrections = correctionsOf(reviewed);
  const values = withCorrections(extraction.extracted_variables ?? {}, reviewed);
  const confidence = extraction.confidence ?? {};
  const rows: ValueRow[] = [];
  const walk = (variable: string, path: string, at: string, value: unknown, depth: number) => {
    const corrected = isCorrected(at, corrections);
    const row = (kind: ValueKind, text: string | null = null, num: number | null = null) =>
      rows.push({ variable, path, kind, value: text, num, confidence: corrected ? null : (confidence[at] ?? null), corrected });
    if (value === null || value === undefined) return row("null");
    if (typeof value === "string") return row("string", value);
    if (typeof value === "boolean") return row("boolean", String(value));
    if (typeof value === "number") return Number.isFinite(value) ? row("number", String(value), value) : row("null");
    if (depth >= MAX_DEPTH) return row(Array.isArray(value) ? "list" : "object");
    if (Array.isArray(value)) {
      row("list");
      value.forEach((item, index) => walk(variable, `${path}[]`, `${at}[${index}]`, item, depth + 1));
      return;
    }
    row("object");
    for (const [field, inner] of Object.entries(value as Record<string, unknown>)) walk(variable, `${path}.${field}`, `${at}.${field}`, inner, depth + 1);
  };
  for (const [name, value] of Object.entries(values)) walk(name, name, name, value, 0);
  return rows;
}
