// The decision on a call held for review: each value editable (flagged ones marked, with their flags and confidence),
// approve to deliver it with the corrections, or skip it with a reason. An object shows its fields and a list of
// objects its items (added and removed); every leaf is checked against its variable's type before anything is sent,
// and the API's 400, which names each path (`values.items[1].quantity`), is marked at the field too.
import { useState } from "preact/hooks";
import { isWithin } from "../../../src/extract/paths.js";
import { api, ApiError } from "../api.js";
import { asText, editsPerPart, readDraft, readLeaf, shapeOfValue, toDraft, withDefaultShapes, type Draft, type DraftProblem, type FieldShape, type ValueShape } from "../review-draft.js";
import type { CallDetail, CallReviewed, Profile } from "../types.js";
import { useApi } from "../use-api.js";
import { ErrorBox } from "./error-box.js";
import { ValueJudgement } from "./extraction-view.js";
import { LeafInput, NestedEditor, type LeafNotes } from "./nested-editor.js";
import { When } from "./when.js";
import { reviewStory } from "../review-story.js";

/** The flags on a value or anywhere inside it (`items[1].quantity` is inside `items`). */
function flagsWithin(name: string, flags: Record<string, string[]>): string[] | undefined {
  const inside = Object.entries(flags).filter(([path]) => isWithin(path, name));
  return inside.length > 0 ? [...new Set(inside.flatMap(([, found]) => found))] : undefined;
}

/** The form, once the profile's variables are known (or known to be unreadable: each value then shows its own shape). */
export function ReviewForm({ call, onDecided }: { call: CallDetail; onDecided: () => void }) {
  const profile = useApi<Profile>(`/v1/profiles/${encodeURIComponent(call.profile)}`);
  if (profile.loading && !profile.data) return null;
  const specs = profile.data ? withDefaultShapes(profile.data.variables as unknown as FieldShape[]) : [];
  return <ReviewDecision call={call} onDecided={onDecided} specs={specs} />;
}

function ReviewDecision({ call, onDecided, specs }: { call: CallDetail; onDecided: () => void; specs: readonly FieldShape[] }) {
  // A standing correction is shown as the value: left as it is, it stays; changed, it is replaced.
  const corrections = call.reviewed?.values ?? {};
  const values = { ...(call.extracted_variables ?? {}), ...corrections };
  const flags = call.review?.fields ?? {};
  const story = reviewStory(call);
  const shapes: Record<string, ValueShape> = Object.fromEntries(Object.entries(values).map(([name, value]) => [name, specs.find((spec) => spec.name === name) ?? shapeOfValue(value)]));
  const [initial] = useState<Record<string, Draft>>(() => Object.fromEntries(Object.entries(values).map(([name, value]) => [name, toDraft(shapes[name]!, value)])));
  const [drafts, setDrafts] = useState<Record<string, Draft>>(initial);
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState<"approve" | "skip" | undefined>(undefined);
  const [error, setError] = useState<ApiError | undefined>(undefined);
  const problems: Record<string, string> = {};
  for (const detail of error?.details ?? []) if (detail.path && !(detail.path in problems)) problems[detail.path] = detail.message;
  const notes: LeafNotes = { problems, flags, confidence: call.confidence ?? undefined };

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
    // Only what the reviewer changed is sent: a nested value whole, as the API takes it.
    const found: DraftProblem[] = [];
    const corrections: Record<string, unknown> = {};
    for (const [name, draft] of Object.entries(drafts)) {
      if (JSON.stringify(draft) === JSON.stringify(initial[name])) continue;
      const shape = shapes[name]!;
      if (editsPerPart(shape)) {
        const read = readDraft(shape, draft, [name]);
        found.push(...read.problems);
        corrections[name] = read.value;
      } else {
        const leaf = readLeaf(shape, typeof draft === "string" ? draft : "");
        if (leaf.ok) corrections[name] = leaf.value;
        else found.push({ path: `values.${name}`, message: leaf.message });
      }
    }
    if (found.length > 0) {
      setError(new ApiError(0, "invalid_value", "Some values are not values of their type: nothing was sent.", found));
      return;
    }
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
        {Object.keys(values).map((name) => {
          const shape = shapes[name]!;
          const within = flagsWithin(name, flags);
          const judgement = name in corrections ? <span class="muted small"> corrected by a reviewer</span> : <ValueJudgement flags={flags[name]} confidence={call.confidence?.[name]} />;
          const change = (next: Draft) => setDrafts({ ...drafts, [name]: next });
          if (editsPerPart(shape)) {
            return (
              <div key={name} class={within ? "review-field review-nested flagged" : "review-field review-nested"} style={{ display: "block" }}>
                {name in corrections ? judgement : null}
                <NestedEditor shape={shape} path={[name]} draft={drafts[name] ?? ""} onChange={change} notes={notes} />
              </div>
            );
          }
          return (
            <div key={name} class={within ? "review-field flagged" : "review-field"}>
              <label for={`review-${name}`}>
                <code>{name}</code>
                {judgement}
              </label>
              <LeafInput shape={{ ...shape, type: "string", format: undefined, pattern: undefined }} path={name} text={typeof drafts[name] === "string" ? (drafts[name] as string) : asText(values[name])} onInput={change} notes={notes} />
            </div>
          );
        })}
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
