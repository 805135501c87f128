// Caller memory: what Debrief knows of a phone number under a profile (its latest extracted values, its recent calls),
// and the flat map of strings a platform's pre-call webhook can inject into the next call.
import { withDefaults } from "../../schema/index.js";
import { callSummaryView } from "./call-view.js";
import type { Profile } from "../../configuration/config-file.js";
import type { CallRecord, CallSummary } from "../store/port.js";

/**
 * A value as a string a prompt template can hold: strings as they are, numbers in their shortest JSON form (4000,
 * 12.5), booleans as "true"/"false", lists as their items joined with ", ", any other object as JSON, and null (the
 * call never said) as "", so a template reads blank rather than "null".
 */
export function flatString(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return value.filter((item) => item !== null && item !== undefined).map((item) => (typeof item === "object" ? JSON.stringify(item) : flatString(item))).join(", ");
  return JSON.stringify(value);
}

/**
 * The same keys for every caller of a profile, known or not, so a platform's prompt can rely on them: each of the
 * profile's variables (status and summary included) from the newest extracted call, then `debrief_known_caller`
 * ("true" when the number has called before) and `debrief_last_call_at` (ISO 8601, "" for a first call).
 */
export function dynamicVariables(profile: Profile, history: { recent: readonly CallSummary[]; latest: CallRecord | undefined }): Record<string, string> {
  const values = history.latest?.extraction?.extracted_variables ?? {};
  const newest = history.recent[0];
  return {
    ...Object.fromEntries(withDefaults(profile.variables).map((spec) => [spec.name, flatString(values[spec.name])])),
    debrief_known_caller: String(newest !== undefined),
    debrief_last_call_at: newest ? new Date(newest.created_at).toISOString() : "",
  };
}

/** The `GET /v1/callers/{phone}` body. */
export function describeCaller(profile: Profile, phone: string, history: { recent: readonly CallSummary[]; latest: CallRecord | undefined }) {
  const { latest } = history;
  return {
    phone,
    profile: profile.name,
    known: history.recent.length > 0,
    latest:
      latest?.extraction
        ? { call_id: latest.id, created_at: new Date(latest.created_at).toISOString(), extracted_variables: latest.extraction.extracted_variables }
        : null,
    dynamic_variables: dynamicVariables(profile, history),
    calls: history.recent.map(callSummaryView),
  };
}
