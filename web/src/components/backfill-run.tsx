// Runs the backfill a dry run estimated: a confirmation stating its calls and cost, then its progress, with cancel.
import { useEffect, useState } from "preact/hooks";
import { api, ApiError } from "../api.js";
import { usd } from "../format.js";
import type { Backfill, BackfillDryRun, BackfillStarted } from "../types.js";
import { Badge } from "./badge.js";
import { ErrorBox } from "./error-box.js";

const number = new Intl.NumberFormat("en-US");
/** How often a running backfill is read again: its calls take an LLM round each, so a second is fine-grained enough. */
const FOLLOW_MS = 1_000;

/** Follows a backfill until it is no longer running. */
function useBackfill(id: string | undefined): { backfill: Backfill | undefined; error: ApiError | undefined; set: (backfill: Backfill) => void } {
  const [backfill, setBackfill] = useState<Backfill | undefined>(undefined);
  const [error, setError] = useState<ApiError | undefined>(undefined);
  const running = backfill === undefined || backfill.state === "running";
  useEffect(() => {
    if (id === undefined || !running) return;
    let stopped = false;
    const read = async () => {
      try {
        const now = await api.get<Backfill>(`/v1/backfills/${encodeURIComponent(id)}`);
        if (stopped) return;
        setBackfill(now);
        setError(undefined);
      } catch (failure) {
        if (!stopped) setError(failure as ApiError);
      }
    };
    void read();
    const timer = setInterval(() => void read(), FOLLOW_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [id, running]);
  return { backfill, error, set: setBackfill };
}

/** Why a running backfill takes up no call now, in words. */
function pausedText(paused: NonNullable<Backfill["paused"]>): string {
  const until = new Date(paused.until).toLocaleString();
  return paused.reason === "llm_budget"
    ? `Waiting for LLM budget: live calls take the account's requests per minute first; it goes on as it refills (about ${until}).`
    : `Paused: the profile's daily LLM budget is spent. It goes on at ${until}, or sooner if a reload raises the budget.`;
}

function Progress({ id }: { id: string }) {
  const { backfill, error, set } = useBackfill(id);
  const [cancelling, setCancelling] = useState(false);
  const [cancelError, setCancelError] = useState<ApiError | undefined>(undefined);
  const cancel = async () => {
    setCancelling(true);
    setCancelError(undefined);
    try {
      set(await api.post<Backfill>(`/v1/backfills/${encodeURIComponent(id)}/cancel`));
    } catch (failure) {
      setCancelError(failure as ApiError);
    } finally {
      setCancelling(false);
    }
  };
  return (
    <section class="panel backfill-progress" aria-label="Backfill progress">
      <h2>
        Backfill <code>{id}</code> {backfill ? <Badge value={backfill.state} /> : null}
      </h2>
      {error ? <ErrorBox error={error} title="The backfill could not be read." /> : null}
      {backfill ? (
        <>
          <progress max={Math.max(backfill.total, 1)} value={backfill.total === 0 ? 1 : backfill.done} aria-label="Calls re-extracted" />
          <p role="status">
            {number.format(backfill.done)} of {number.format(backfill.total)} calls re-extracted; {number.format(backfill.changed)} changed
            {backfill.failed > 0 ? <span class="failure">, {number.format(backfill.failed)} failed</span> : null}.{" "}
            <span class="muted small">
              Tokens so far: {number.format(backfill.tokens.prompt_tokens)} prompt, {number.format(backfill.tokens.completion_tokens)} completion
              {backfill.cost_usd === null ? "" : `, ${usd(backfill.cost_usd)}`}.
            </span>
          </p>
          {backfill.paused ? <p class="small">{pausedText(backfill.paused)}</p> : null}
          {backfill.state === "cancelled" ? <p>Cancelled: calls not started never will be; a call in flight finishes.</p> : null}
          {backfill.state === "running" ? (
            <button type="button" class="secondary" onClick={cancel} disabled={cancelling}>
              {cancelling ? "Cancelling…" : "Cancel the backfill"}
            </button>
          ) : null}
        </>
      ) : (
        <p aria-busy="true">Starting…</p>
      )}
      {cancelError ? <ErrorBox error={cancelError} title="The backfill could not be cancelled." /> : null}
    </section>
  );
}

/**
 * `body` is the dry run's request without `dry_run`: the real run covers the calls the estimate counted. Keyed by the
 * caller on the dry run, so a new estimate starts over.
 */
export function BackfillRun({ profile, estimate, body }: { profile: string; estimate: BackfillDryRun; body: Record<string, unknown> }) {
  const [confirming, setConfirming] = useState(false);
  const [redeliver, setRedeliver] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | undefined>(undefined);
  const [started, setStarted] = useState<BackfillStarted | undefined>(undefined);

  if (started) return <Progress id={started.backfill_id} />;
  if (estimate.matching === 0) return <p class="muted">No call matches: there is nothing to re-extract.</p>;

  const start = async () => {
    setBusy(true);
    setError(undefined);
    try {
      setStarted(await api.post<BackfillStarted>(`/v1/profiles/${encodeURIComponent(profile)}/backfill`, { ...body, redeliver }));
      setConfirming(false);
    } catch (failure) {
      setError(failure as ApiError);
    } finally {
      setBusy(false);
    }
  };
  const cost = estimate.estimate.cost_usd === null ? "an unknown cost (no price for this model)" : `about ${usd(estimate.estimate.cost_usd)}`;
  const calls = `${number.format(estimate.matching)} call${estimate.matching === 1 ? "" : "s"}`;
  return (
    <div class="backfill-run">
      {confirming ? (
        <div class="panel confirm" role="alertdialog" aria-labelledby="backfill-confirm-title" aria-describedby="backfill-confirm-text">
          <h2 id="backfill-confirm-title">Run this backfill?</h2>
          <p id="backfill-confirm-text">
            This re-extracts {calls} of <code>{profile}</code> under version <code>{estimate.profile_version}</code>, for {cost} with{" "}
            {estimate.estimate.model}. It runs in the background behind live calls, and can be cancelled.
          </p>
          <label class="check">
            <input type="checkbox" checked={redeliver} onChange={(event) => setRedeliver(event.currentTarget.checked)} /> Deliver each re-extracted call
            again (as a <code>call.reextracted</code> event)
          </label>
          <div class="filter-actions">
            <button type="button" onClick={start} disabled={busy}>
              {busy ? "Starting…" : `Re-extract ${calls}`}
            </button>
            <button type="button" class="secondary" onClick={() => setConfirming(false)} disabled={busy}>
              Not now
            </button>
          </div>
        </div>
      ) : (
        <button type="button" onClick={() => setConfirming(true)}>
          Run this backfill…
        </button>
      )}
      {error ? <ErrorBox error={error} title="The backfill did not start." /> : null}
    </div>
  );
}
