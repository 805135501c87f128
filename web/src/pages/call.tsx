// One call: what the platform said, the transcript with each value's evidence, every destination's fate with every
// attempt, the actions that fit (replay the extraction, retry or send a delivery now) and the raw payload.
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { useRoute } from "preact-iso";
import { api, ApiError } from "../api";
import { Badge } from "../components/badge";
import { DeliveryCard, failureText } from "../components/delivery-card";
import { ErrorBox } from "../components/error-box";
import { ExtractionView } from "../components/extraction-view";
import { When } from "../components/when";
import { duration, pretty } from "../format";
import type { CallDetail, EvidenceItem, Turn } from "../types";
import { useApi } from "../use-api";

/** States that change on their own: the page looks again soon. */
const MOVING = new Set(["accepted", "extracting", "delivering"]);

/** Fields the API may add to a call (the transcript, evidence, payload), read only when present. */
type CallView = CallDetail & { transcript?: Turn[]; evidence?: Record<string, EvidenceItem> | null; payload?: unknown };

function Fact({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

function Problems({ call }: { call: CallView }) {
  const items: string[] = [];
  if (call.state === "extraction_failed") items.push(`Extraction failed after ${call.attempts} attempt(s): ${call.last_error ?? call.reason ?? "no error recorded"}`);
  if (call.state === "extracting" && call.last_error) items.push(`Extraction attempt ${call.attempts} failed (${call.last_error}); it is retried.`);
  for (const failure of call.delivery_errors) items.push(`${failure.destination}: ${failure.path} failed: ${failure.message}`);
  for (const delivery of call.deliveries.filter((d) => d.status === "failed")) {
    items.push(`${delivery.destination}: not delivered: ${failureText(delivery)}`);
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

export function CallPage() {
  const { params } = useRoute();
  const id = params.id!;
  const [fast, setFast] = useState(true);
  const loaded = useApi<CallView>(`/v1/calls/${encodeURIComponent(id)}`, { refreshMs: fast ? 1_500 : 15_000 });
  const call = loaded.data;
  useEffect(() => setFast(call === undefined || MOVING.has(call.state)), [call?.state]);

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
  const canReplay = call.state === "extraction_failed" || call.delivery_errors.length > 0;
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
        <Fact label="Profile">{call.profile}</Fact>
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
      </dl>

      <Problems call={call} />

      {call.extracted_variables ? (
        <ExtractionView turns={call.transcript ?? []} values={call.extracted_variables} evidence={call.evidence} />
      ) : (
        <p class="muted">{call.state === "skipped" ? "Skipped calls are not extracted." : "Not extracted yet."}</p>
      )}

      <section aria-labelledby="destinations-heading">
        <h2 id="destinations-heading">Destinations</h2>
        {call.deliveries.length === 0 && call.delivery_errors.length === 0 ? <p class="muted">Nothing was sent for this call.</p> : null}
        {call.deliveries.map((delivery) => (
          <DeliveryCard key={delivery.id} delivery={delivery} onChanged={changed} />
        ))}
      </section>

      <section aria-labelledby="raw-heading">
        <h2 id="raw-heading">Raw</h2>
        {"payload" in call ? (
          <details>
            <summary>The payload the platform sent</summary>
            <pre>{pretty(call.payload)}</pre>
          </details>
        ) : null}
        <details>
          <summary>
            This call as <code>GET /v1/calls/{call.call_id}</code> answers it
          </summary>
          <pre>{pretty(call)}</pre>
        </details>
      </section>
    </section>
  );
}
