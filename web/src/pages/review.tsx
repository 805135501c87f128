// The review queue: calls held for review (GET /v1/calls?state=needs_review), newest first, a page at a time; each
// call's page has the form that approves (with corrections) or skips it. Refreshed every few seconds.
import { useLocation } from "preact-iso";
import { query } from "../api.js";
import { ErrorBox, PipelineOff } from "../components/error-box.js";
import type { CallList } from "../types.js";
import { useApi } from "../use-api.js";
import { CallTable } from "./calls.js";

const PAGE_SIZE = 50;

export function ReviewPage() {
  const location = useLocation();
  const params = new URLSearchParams(location.url.split("?")[1] ?? "");
  const profile = params.get("profile") ?? undefined;
  const cursor = params.get("cursor") ?? undefined;
  const loaded = useApi<CallList>(`/v1/calls${query({ state: "needs_review", profile, limit: PAGE_SIZE, cursor })}`, { refreshMs: 5_000 });
  const calls = loaded.data?.calls;
  return (
    <section class="calls">
      <div class="title-row">
        <h1>Review queue</h1>
        <span class="muted small">{loaded.updatedAt ? `Updated ${loaded.updatedAt.toLocaleTimeString()}; refreshes every 5 s` : ""}</span>
      </div>
      <p class="muted">
        Calls held because a value was flagged (a profile with <code>review.hold</code>): none was delivered. Open one to check its flagged values
        against the transcript, correct them (an object field by field, a list item by item: each checked against its type before it
        is sent) and deliver it, or skip it.
      </p>
      {loaded.error ? <ErrorBox error={loaded.error} title="The queue could not be listed." /> : null}
      <PipelineOff error={loaded.error} />
      {calls === undefined && !loaded.error ? <p aria-busy="true">Loading…</p> : null}
      {calls && calls.length === 0 ? <p class="muted">Nothing waits for review.</p> : null}
      {calls && calls.length > 0 ? <CallTable calls={calls} /> : null}
      <nav class="pager" aria-label="Pages">
        {cursor ? <a href={`/console/review${query({ profile })}`}>Newest</a> : null}
        {loaded.data?.next_cursor ? <a href={`/console/review${query({ profile, cursor: loaded.data.next_cursor })}`}>Older</a> : null}
      </nav>
    </section>
  );
}
