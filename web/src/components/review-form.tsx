// The decision on a call held for review: each value editable (flagged ones marked, with their flags and confidence),
// approve to deliver it with the corrections, or skip it with a reason. The API validates the corrections; its 400
// names each field (`values.<name>`), which is marked here.
import { useState } from "preact/hooks";
import { api, ApiError } from "../api.js";
import { displayValue } from "../format.js";
import type { CallDetail, CallReviewed } from "../types.js";
import { ErrorBox } from "./error-box.js";
import { ValueJudgement } from "./extraction-view.js";
import { When } from "./when.js";
import { reviewStory } from "../review-story.js";

/** What an input shows for a value: lists as "a, b", null as blank. */
function asText(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (Array.isArray(value)) return value.map(String).join(", ");
  return typeof value === "string" ? value : displayValue(value);
}

/**
 * What the reviewer typed, as the value to send: blank is null, a list is split on commas, anything else goes as text
 * (the API reads "4000" for a number and "true" for a boolean, as it reads the model's answer).
 */
function fromText(text: string, original: unknown): unknown {
  const trimmed = text.trim();
  if (trimmed === "") return null;
  if (Array.isArray(original)) return trimmed.split(",").map((item) => item.trim()).filter((item) => item !== "");
  return trimmed;
}

export function ReviewForm({ call, onDecided }: { call: CallDetail; onDecided: () => void }) {
  // A standing correction is shown as the value: left as it is, it stays; changed, it is replaced.
  const corrections = call.reviewed?.values ?? {};
  const values = { ...(call.extracted_variables ?? {}), ...corrections };
  const flags = call.review?.fields ?? {};
  const story = reviewStory(call);
  const [texts, setTexts] = useState<Record<string, string>>(() => Object.fromEntries(Object.entries(values).map(([name, value]) => [name, asText(value)])));
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState<"approve" | "skip" | undefined>(undefined);
  const [error, setError] = useState<ApiError | undefined>(undefined);
  const invalid = new Set((error?.details ?? []).map((detail) => detail.path));

  const decide = async (kind: "approve" | "skip", body: Record<string, unknown>) => {
    setBusy(kind);
    setError(undefined);
    try {
      await api.post<CallReviewed>(`/v1/calls/${encodeURIComponent(call.call_id)}/review`, body);
      onDecided();
    } catch (failure) {
      setError(failure as ApiError);
    } finally {
      setBusy(undefined);
    }
  };
  const approve = (event: Event) => {
    event.preventDefault();
    const corrections = Object.fromEntries(
      Object.entries(texts)
        .filter(([name, text]) => text !== asText(values[name]))
        .map(([name, text]) => [name, fromText(text, values[name])]),
    );
    void decide("approve", Object.keys(corrections).length > 0 ? { approve: true, values: corrections } : { approve: true });
  };
  const skip = (event: Event) => {
    event.preventDefault();
    void decide("skip", { approve: false, reason });
  };

  const flagged = Object.keys(flags);
  return (
    <section class="review" aria-labelledby="review-heading">
      <h2 id="review-heading">Review</h2>
      <p>
        {story.delivered === null ? (
          "Held for review: nothing was delivered. "
        ) : (
          <>
            Held for review: event {story.delivered.event} was delivered
            {story.delivered.at ? (
              <>
                {" "}
                (<When iso={story.delivered.at} />)
              </>
            ) : null}
            ; this {story.waiting !== null && story.waiting > 1 ? "re-extraction" : "extraction"} waits, and goes out as event {story.waiting ?? "?"} once approved.{" "}
          </>
        )}
        {call.reason?.startsWith("correction_conflict") ? (
          <>
            A reviewer&apos;s earlier correction no longer fits its variable: <strong>{call.reason.slice("correction_conflict: ".length)}</strong>. Send a new value for it.{" "}
          </>
        ) : null}
        {flagged.length > 0 ? (
          <>
            Check <strong>{flagged.join(", ")}</strong> against the transcript below.{" "}
          </>
        ) : null}
        Correct what is wrong and approve to deliver it now, or skip the call.
      </p>
      {error ? <ErrorBox error={error} title={error.code === "not_in_review" ? "Someone else has decided on this call." : "The review was not taken."} /> : null}
      <form onSubmit={approve} aria-label="Approve this call">
        {Object.keys(values).map((name) => (
          <div key={name} class={flags[name] ? "review-field flagged" : "review-field"}>
            <label for={`review-${name}`}>
              <code>{name}</code>
              {name in corrections ? <span class="muted small"> corrected by a reviewer</span> : <ValueJudgement flags={flags[name]} confidence={call.confidence?.[name]} />}
            </label>
            <input
              id={`review-${name}`}
              name={name}
              value={texts[name]}
              aria-invalid={invalid.has(`values.${name}`) ? "true" : undefined}
              onInput={(event) => setTexts({ ...texts, [name]: (event.currentTarget as HTMLInputElement).value })}
            />
          </div>
        ))}
        <div class="review-actions">
          <button type="submit" disabled={busy !== undefined}>
            {busy === "approve" ? "Delivering…" : "Approve and deliver"}
          </button>
        </div>
      </form>
      <form onSubmit={skip} aria-label="Skip this call">
        <div class="review-actions">
          <label class="grow">
            Why skip it?
            <textarea name="reason" required maxLength={2000} value={reason} onInput={(event) => setReason((event.currentTarget as HTMLTextAreaElement).value)} />
          </label>
          <button type="submit" class="secondary" disabled={busy !== undefined}>
            {busy === "skip" ? "Skipping…" : "Skip the call"}
          </button>
        </div>
      </form>
    </section>
  );
}
