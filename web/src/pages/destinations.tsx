// Destinations: each one's health (deliveries over the last 24 h, consecutive failures, the last error), and "Send
// test": a signed sample payload sent now, with what the receiver answered.
import { useState } from "preact/hooks";
import { api, ApiError } from "../api";
import { Badge } from "../components/badge";
import { ErrorBox, PipelineOff } from "../components/error-box";
import { When } from "../components/when";
import type { DestinationHealth, TestRequestResult } from "../types";
import { useApi } from "../use-api";

function SendTest({ name }: { name: string }) {
  const [result, setResult] = useState<TestRequestResult | undefined>(undefined);
  const [error, setError] = useState<ApiError | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const send = async () => {
    setBusy(true);
    setError(undefined);
    try {
      setResult(await api.post<TestRequestResult>(`/v1/destinations/${encodeURIComponent(name)}/test`));
    } catch (failure) {
      setError(failure as ApiError);
      setResult(undefined);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="send-test">
      <button type="button" class="secondary" onClick={send} disabled={busy} aria-label={`Send a test payload to ${name}`}>
        {busy ? "Sending…" : "Send test"}
      </button>
      {error ? <ErrorBox error={error} /> : null}
      {result ? (
        <div class="test-result" role="status">
          <p>
            <Badge value={result.ok ? "delivered" : "failed"} /> {result.status === null ? "No response" : `HTTP ${result.status}`} in {result.latency_ms} ms
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

export function DestinationsPage() {
  const loaded = useApi<{ destinations: DestinationHealth[] }>("/v1/destinations", { refreshMs: 10_000 });
  const destinations = loaded.data?.destinations;
  return (
    <section class="destinations">
      <h1>Destinations</h1>
      {loaded.error ? <ErrorBox error={loaded.error} title="The destinations could not be listed." /> : null}
      <PipelineOff error={loaded.error} />
      {destinations === undefined && !loaded.error ? <p aria-busy="true">Loading…</p> : null}
      {destinations && destinations.length === 0 ? <p class="muted">No destination is configured (DEBRIEF_CONFIG).</p> : null}
      {destinations?.map((destination) => (
        <article key={destination.name} class="destination" aria-label={destination.name}>
          <header>
            <h2>{destination.name}</h2>
          </header>
          <pre>{JSON.stringify(destination, null, 2)}</pre>
          <When iso={undefined} />
          <SendTest name={destination.name} />
        </article>
      ))}
    </section>
  );
}
