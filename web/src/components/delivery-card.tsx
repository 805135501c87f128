// One delivery to one destination, every attempt shown (status, latency, outcome, error, what the receiver said), and
// the button that fits its state: retry a failed one, send a pending one now.
import { useState } from "preact/hooks";
import { api, ApiError } from "../api.js";
import type { Delivery } from "../types.js";
import { Badge } from "./badge.js";
import { ErrorBox } from "./error-box.js";
import { When } from "./when.js";
import { may, useGrants } from "../grants.js";

export function DeliveryCard({ delivery, title, onChanged }: { delivery: Delivery; title: string; onChanged: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | undefined>(undefined);
  const grants = useGrants();
  const action = !may(grants, "calls:reanalyze") ? undefined : delivery.status === "failed" ? "Retry now" : delivery.status === "pending" ? "Send now" : undefined;

  const send = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await api.post(`/v1/deliveries/${encodeURIComponent(delivery.id)}/retry`);
      onChanged();
    } catch (failure) {
      setError(failure as ApiError);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class={`delivery delivery-${delivery.status}`} aria-label={`${title} to ${delivery.destination}`}>
      <header>
        <h4>{title}</h4>
        <Badge value={delivery.status} />
        <span class="muted">
          {delivery.attempt_history.length} attempt{delivery.attempt_history.length === 1 ? "" : "s"}
          {delivery.status === "pending" && delivery.next_attempt_at ? (
            <>
              {" "}
              · next <When iso={delivery.next_attempt_at} />
            </>
          ) : null}
          {delivery.delivered_at ? (
            <>
              {" "}
              · delivered <When iso={delivery.delivered_at} />
            </>
          ) : null}
        </span>
        {action ? (
          <button type="button" onClick={send} disabled={busy}>
            {busy ? "Sending…" : action}
          </button>
        ) : null}
      </header>
      {error ? <ErrorBox error={error} /> : null}
      {delivery.attempt_history.length > 0 ? (
        <table class="attempts">
          <caption class="visually-hidden">Attempts to deliver to {delivery.destination}</caption>
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">When</th>
              <th scope="col">Status</th>
              <th scope="col">Latency</th>
              <th scope="col">Outcome</th>
              <th scope="col">Error or response</th>
            </tr>
          </thead>
          <tbody>
            {[...delivery.attempt_history].reverse().map((attempt) => (
              <tr key={attempt.attempt}>
                <td>{attempt.attempt}</td>
                <td>
                  <When iso={attempt.started_at} />
                </td>
                <td>{attempt.status ?? <span class="muted">none</span>}</td>
                <td>{attempt.latency_ms === null ? <span class="muted">–</span> : `${attempt.latency_ms} ms`}</td>
                <td>{attempt.outcome ? <Badge value={attempt.outcome} /> : <span class="muted">in flight</span>}</td>
                <td class="snippet">
                  {attempt.error ? <span class="failure">{attempt.error}</span> : null}
                  {attempt.response_snippet ? <code>{attempt.response_snippet}</code> : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p class="muted">No attempt yet.</p>
      )}
      {delivery.last_response ? (
        <details>
          <summary>Last response body</summary>
          <pre>{delivery.last_response}</pre>
        </details>
      ) : null}
      <p class="muted small">
        <code>webhook-id</code> {delivery.webhook_id} · <code>{delivery.id}</code>
      </p>
    </section>
  );
}
