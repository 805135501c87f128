// One call: what the platform said, the transcript with each value's evidence (flagged values marked), every
// destination's fate with every attempt, the actions that fit (review a held call, replay the extraction, retry or send
// a delivery now) and the raw payload.
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { useRoute } from "preact-iso";
import { api, ApiError } from "../api.js";
import { Badge } from "../components/badge.js";
import { DeliveryCard } from "../components/delivery-card.js";
import { ErrorBox } from "../components/error-box.js";
import { ExtractionHistory } from "../components/extraction-history.js";
import { ExtractionView } from "../components/extraction-view.js";
import { ReviewForm } from "../components/review-form.js";
import { When } from "../components/when.js";
import { duration, pretty } from "../format.js";
import { routedEvents } from "../review-story.js";
import type { CallDetail, DestinationFate } from "../types.js";
import { useApi } from "../use-api.js";
import { may, useGrants } from "../grants.js";

/** States that change on their own: the page looks again soon. */
const MOVING = new Set(["accepted", "extracting", "delivering"]);

/** A destination's expression failed on the call: nothing was sent, and the call can be replayed once it is fixed. */
const EXPRESSION_FAILURES = new Set(["when_failed", "transform_failed"]);
const isExpressionFailure = (fate: DestinationFate) => fate.fate === "skipped" && EXPRESSION_FAILURES.has(fate.reason?.code ?? "");

function Fact({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

/** Everything that went wrong with the call, first on the page: "why didn't my CRM get it?" */
function Problems({ call }: { call: CallDetail }) {
  const items: string[] = [];
  if (call.state === "extraction_failed") items.push(`Extraction failed after ${call.attempts} attempt(s): ${call.last_error ?? call.reason ?? "no error recorded"}`);
  if (call.state === "extracting" && call.last_error) items.push(`Extraction attempt ${call.attempts} failed (${call.last_error}); it is retried.`);
  for (const fate of call.destinations) {
    if (fate.fate === "failed") items.push(`${fate.destination}: failed: ${fate.reason?.message || "no error recorded"}`);
    else if (isExpressionFailure(fate)) items.push(`${fate.destination}: not sent: ${fate.reason!.message}`);
    else if (fate.reason?.code === "retrying") items.push(`${fate.destination}: the last attempt failed (${fate.reason.message}); it is retried.`);
  }
  if (items.length === 0) return null;
  return (
    <div class="problems" role="alert">
      <h2>What went wrong</h2>
      <ul>
        {items.map((item, i) => (
          <li key={i}>{item}</li>
        ))}
      </ul>
    </div>
  );
}

/** One destination: its fate and why, then every delivery of the call to it. */
function DestinationBlock({ fate, onChanged }: { fate: DestinationFate; onChanged: () => void }) {
  const bad = fate.fate === "failed" || isExpressionFailure(fate);
  return (
    <article class={`destination-fate fate-${bad ? "bad" : fate.fate}`} aria-label={`Destination ${fate.destination}`}>
      <header>
        <h3>{fate.destination}</h3>
        <Badge value={isExpressionFailure(fate) ? "failed" : fate.fate} />
        {fate.in_profile ? null : <span class="muted small">no longer in the profile</span>}
      </header>
      {fate.reason ? (
        <p class={bad ? "failure" : "muted"}>
          <code>{fate.reason.code}</code> {fate.reason.message}
        </p>
      ) : null}
      {fate.deliveries.map((delivery, index) => (
        <DeliveryCard
          key={delivery.id}
          delivery={delivery}
          title={fate.deliveries.length > 1 ? `Delivery ${index + 1} of ${fate.deliveries.length}` : "Delivery"}
          onChanged={onChanged}
        />
      ))}
    </article>
  );
}

export function CallPage() {
  const { params } = useRoute();
  const id = params.id!;
  const [fast, setFast] = useState(true);
  const loaded = useApi<CallDetail>(`/v1/calls/${encodeURIComponent(id)}`, { refreshMs: fast ? 1_500 : 15_000 });
  const call = loaded.data;
  useEffect(() => setFast(call === undefined || MOVING.has(call.state)), [call?.state]);

  const grants = useGrants();
  const [replaying, setReplaying] = useState(false);
  const [actionError, setActionError] = useState<ApiError | undefined>(undefined);
  const changed = () => {
    setFast(true);
    void loaded.reload();
  };
  const replay = async () => {
    setReplaying(true);
    setActionError(undefined);
    try {
      await api.post(`/v1/calls/${encodeURIComponent(id)}/retry`);
      changed();
    } catch (failure) {
      setActionError(failure as ApiError);
    } finally {
      setReplaying(false);
    }
  };

  if (!call) {
    return (
      <section>
        <p class="breadcrumb">
          <a href="/console/">Calls</a> / {id}
        </p>
        {loaded.error ? <ErrorBox error={loaded.error} title="This call could not be loaded." /> : <p aria-busy="true">Loading…</p>}
      </section>
    );
  }

  const facts = call.call;
  const canReplay = may(grants, "calls:reanalyze") && (call.state === "extraction_failed" || call.destinations.some(isExpressionFailure));
  /** A reviewer's corrections stand over every extraction: the values shown are those delivered. */
  const corrected = call.reviewed && call.extracted_variables && Object.keys(call.reviewed.values).length > 0 ? call.reviewed : undefined;
  const correctedNames = new Set(corrected?.corrected ?? []);
  const modelConfidence = call.confidence ? Object.fromEntries(Object.entries(call.confidence).filter(([name]) => !correctedNames.has(name))) : call.confidence;
  return (
    <section class="call">
      <p class="breadcrumb">
        <a href="/console/">Calls</a> / {call.external_id}
      </p>
      <div class="title-row">
        <h1>
          Call <code>{call.external_id}</code>
        </h1>
        <Badge value={call.state} />
        {canReplay ? (
          <button type="button" onClick={replay} disabled={replaying}>
            {replaying ? "Replaying…" : "Replay the call"}
          </button>
        ) : null}
      </div>
      {actionError ? <ErrorBox error={actionError} /> : null}
      {loaded.error ? <ErrorBox error={loaded.error} title="The page could not refresh; what you see may be out of date." /> : null}
      <dl class="facts-grid">
        <Fact label="Debrief id">
          <code>{call.call_id}</code>
        </Fact>
        <Fact label="Profile">
          <a href={`/console/profiles/${encodeURIComponent(call.profile)}`}>{call.profile}</a>
        </Fact>
        <Fact label="Source">{call.source}</Fact>
        <Fact label="Received">
          <When iso={call.created_at} />
        </Fact>
        <Fact label="Started">
          <When iso={facts?.started_at} />
        </Fact>
        <Fact label="Duration">{duration(facts?.duration_s)}</Fact>
        <Fact label="Customer">{facts?.customer_phone ?? <span class="muted">–</span>}</Fact>
        <Fact label="Agent">{facts?.agent_phone ?? <span class="muted">–</span>}</Fact>
        {facts?.recording_url ? (
          <Fact label="Recording">
            <a href={facts.recording_url} rel="noreferrer noopener" target="_blank">
              Listen
            </a>
          </Fact>
        ) : null}
        {call.state === "skipped" ? <Fact label="Skipped because">{call.reason}</Fact> : null}
        {call.state === "waiting_for_budget" ? (
          <Fact label="Waiting for its profile's daily LLM budget">
            {call.next_attempt_at ? <When iso={call.next_attempt_at} /> : "until the profile's next day"}
            <div class="small">extracted then, or sooner if a reload raises the budget</div>
          </Fact>
        ) : null}
        {call.reviewed ? (
          <Fact label={call.reviewed.approved ? "Approved by a reviewer" : "Skipped by a reviewer"}>
            <When iso={call.reviewed.at} />
            {call.reviewed.approved ? (
              <div class="small">{call.reviewed.corrected.length > 0 ? `corrected: ${call.reviewed.corrected.join(", ")}` : "no correction"}</div>
            ) : call.reviewed.corrected.length > 0 ? (
              <div class="small">{`earlier corrections stand: ${call.reviewed.corrected.join(", ")}`}</div>
            ) : null}
          </Fact>
        ) : null}
        <Fact label="Model">{typeof call.meta?.model === "string" ? call.meta.model : <span class="muted">–</span>}</Fact>
      </dl>

      <Problems call={call} />

      {call.state === "needs_review" && may(grants, "calls:review") ? <ReviewForm key={call.updated_at} call={call} onDecided={changed} /> : null}

      <ExtractionView
        turns={call.transcript ?? []}
        values={corrected ? { ...call.extracted_variables, ...corrected.values } : call.extracted_variables}
        modelSaid={corrected ? Object.fromEntries(Object.keys(corrected.values).map((name) => [name, call.extracted_variables?.[name] ?? null])) : undefined}
        evidence={call.evidence}
        flags={call.review?.fields}
        confidence={modelConfidence}
        noValues={call.state === "skipped" ? "Skipped calls are not extracted." : "Not extracted yet."}
      />

      {call.extraction && call.extraction.history.length > 0 ? <ExtractionHistory extraction={call.extraction} routed={routedEvents(call)} /> : null}

      <section aria-labelledby="destinations-heading">
        <h2 id="destinations-heading">Destinations</h2>
        {call.destinations.length === 0 ? <p class="muted">The profile has no destination.</p> : null}
        {call.destinations.map((fate) => (
          <DestinationBlock key={fate.destination} fate={fate} onChanged={changed} />
        ))}
      </section>

      <section aria-labelledby="raw-heading">
        <h2 id="raw-heading">Raw</h2>
        <details>
          <summary>The payload the platform sent</summary>
          <pre>{pretty(call.payload)}</pre>
        </details>
        <details>
          <summary>
            This call as <code>GET /v1/calls/{call.call_id}</code> answers it
          </summary>
          <pre>{pretty({ ...call, payload: "(above)" })}</pre>
        </details>
      </section>
    </section>
  );
}
