// Destinations: each one's health (deliveries over the last 24 h, consecutive failures, the last error), and "Send
// test": a signed sample payload (built from a chosen profile's variables) sent now, with what the receiver answered.
import { useState } from "preact/hooks";
import { api, ApiError, query } from "../api.js";
import { Badge } from "../components/badge.js";
import { ErrorBox, PipelineOff } from "../components/error-box.js";
import { When } from "../components/when.js";
import type { DestinationHealth, Profile, TestRequestResult } from "../types.js";
import { useApi } from "../use-api.js";

/** `profiles`: those that deliver to this destination, first in the list (the sample is built from the one chosen). */
function SendTest({ name, profiles }: { name: string; profiles: string[] }) {
  // Until the user picks, the first of the destination's profiles (they load after the page).
  const [picked, setProfile] = useState<string | undefined>(undefined);
  const profile = picked ?? profiles[0] ?? "";
  const [result, setResult] = useState<TestRequestResult | undefined>(undefined);
  const [error, setError] = useState<ApiError | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const send = async () => {
    setBusy(true);
    setError(undefined);
    try {
      setResult(await api.post<TestRequestResult>(`/v1/destinations/${encodeURIComponent(name)}/test${query({ profile })}`));
    } catch (failure) {
      setError(failure as ApiError);
      setResult(undefined);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="send-test">
      <label class="check">
        Sample from{" "}
        <select value={profile} onChange={(event) => setProfile(event.currentTarget.value)}>
          {profiles.map((option) => (
            <option key={option} value={option}>
              profile {option}
            </option>
          ))}
          <option value="">a generic sales call</option>
        </select>
      </label>{" "}
      <button type="button" class="secondary" onClick={send} disabled={busy} aria-label={`Send a test payload to ${name}`}>
        {busy ? "Sending…" : "Send test"}
      </button>
      {error ? <ErrorBox error={error} /> : null}
      {result ? (
        <div class="test-result" role="status">
          <p>
            <Badge value={result.ok ? "ok" : "failed"} /> {result.status === null ? "No response" : `HTTP ${result.status}`} in {result.latency_ms} ms
            {result.error ? <span class="failure">: {result.error}</span> : null}
          </p>
          {result.body_snippet ? <pre>{result.body_snippet}</pre> : null}
          <p class="muted small">
            <code>webhook-id</code> {result.webhook_id}
          </p>
        </div>
      ) : null}
    </div>
  );
}

function Health({ destination, profiles }: { destination: DestinationHealth; profiles: string[] }) {
  const failing = destination.consecutive_failures > 0;
  return (
    <article class={`destination ${failing ? "destination-failing" : ""}`} aria-label={destination.name}>
      <header>
        <h2>{destination.name}</h2>
        <Badge value={failing ? "failing" : "healthy"} />
        {destination.host ? <code class="muted">{destination.host}</code> : null}
        {destination.configured ? null : <span class="muted small">no longer configured: only its deliveries are left</span>}
      </header>
      <dl class="counts">
        <div>
          <dt>Pending now</dt>
          <dd>{destination.pending}</dd>
        </div>
        <div>
          <dt>Delivered (24 h)</dt>
          <dd>{destination.delivered_24h}</dd>
        </div>
        <div>
          <dt>Failed (24 h)</dt>
          <dd class={destination.failed_24h > 0 ? "failure" : undefined}>{destination.failed_24h}</dd>
        </div>
        <div>
          <dt>Failures in a row</dt>
          <dd class={failing ? "failure" : undefined}>{destination.consecutive_failures}</dd>
        </div>
        <div>
          <dt>Last delivered</dt>
          <dd>
            <When iso={destination.last_delivered_at} />
          </dd>
        </div>
      </dl>
      {destination.last_error ? (
        <p class={failing ? "failure" : "muted"}>
          Last error <When iso={destination.last_error_at} />: {destination.last_error}
        </p>
      ) : null}
      <p class="small">
        <a href={`/console/${query({ destination: destination.name, state: ["delivery_failed"] })}`}>Calls it failed</a> ·{" "}
        <a href={`/console/${query({ destination: destination.name })}`}>All its calls</a>
      </p>
      {destination.configured ? <SendTest name={destination.name} profiles={profiles} /> : null}
    </article>
  );
}

export function DestinationsPage() {
  const loaded = useApi<{ since: string; destinations: DestinationHealth[] }>("/v1/destinations", { refreshMs: 10_000 });
  const destinations = loaded.data?.destinations;
  // Only to offer each destination's profiles as test samples: without them the generic sample still works.
  const profiles = useApi<{ profiles: Profile[] }>("/v1/profiles").data?.profiles ?? [];
  const profilesOf = (destination: string) => profiles.filter((profile) => profile.destinations.some((entry) => entry.name === destination)).map((profile) => profile.name);
  return (
    <section class="destinations">
      <h1>Destinations</h1>
      <p class="lead">
        Deliveries over the last 24 hours, and each destination's current run of failed attempts. A failing destination is never switched off:
        it keeps being retried, and this page (and the <code>debrief_destination_consecutive_failures</code> metric) is what tells you.
      </p>
      {loaded.error ? <ErrorBox error={loaded.error} title="The destinations could not be listed." /> : null}
      <PipelineOff error={loaded.error} />
      {destinations === undefined && !loaded.error ? <p aria-busy="true">Loading…</p> : null}
      {destinations && destinations.length === 0 ? <p class="muted">No destination is configured.</p> : null}
      {destinations?.map((destination) => (
        <Health key={destination.name} destination={destination} profiles={profilesOf(destination.name)} />
      ))}
    </section>
  );
}
