// A profile: its variables, versions and destinations; dry-run a backfill of its past calls (what would change, on a
// sample, and what the whole run would cost), then run it.
import { useState } from "preact/hooks";
import { useRoute } from "preact-iso";
import { api, ApiError } from "../api.js";
import { BackfillRun } from "../components/backfill-run.js";
import { ErrorBox } from "../components/error-box.js";
import { ProfileDetails } from "../components/profile-details.js";
import { localTime, usd } from "../format.js";
import type { BackfillDryRun, Profile } from "../types.js";
import { useApi } from "../use-api.js";
import { may, useGrants } from "../grants.js";

const number = new Intl.NumberFormat("en-US");
const percent = (rate: number) => `${Math.round(rate * 1000) / 10}%`;
const shown = (value: unknown) => (value === null || value === undefined ? "null" : JSON.stringify(value));

/** "$0.0016", or what the table lacks. */
function cost(estimate: BackfillDryRun["estimate"]): string {
  return estimate.cost_usd === null ? "unknown (no price for this model)" : usd(estimate.cost_usd);
}

function Estimate({ result }: { result: BackfillDryRun }) {
  const { estimate } = result;
  return (
    <section class="backfill-estimate" aria-label="Estimate" role="status">
      <h2>Estimate</h2>
      <dl class="counts">
        <div>
          <dt>Calls to re-extract</dt>
          <dd>{number.format(result.matching)}</dd>
        </div>
        <div>
          <dt>Prompt tokens</dt>
          <dd>{number.format(estimate.prompt_tokens)}</dd>
        </div>
        <div>
          <dt>Completion tokens</dt>
          <dd>{number.format(estimate.completion_tokens)}</dd>
        </div>
        <div>
          <dt>Cost ({estimate.model})</dt>
          <dd>{cost(estimate)}</dd>
        </div>
      </dl>
      {estimate.note ? <p class="muted small">{estimate.note}</p> : null}
      <p class="muted small">
        {result.sample_cached > 0 && result.sample_cached === result.sampled - result.sample_errors.length
          ? "The sample was answered from the result cache: no completion was measured, so the cost counts the prompts only."
          : "An upper bound: calls whose answer is in the result cache cost nothing."}{" "}
        Profile version <code>{result.profile_version}</code>.
      </p>
      <h2>
        On a sample of {result.sampled} call{result.sampled === 1 ? "" : "s"}: {result.changed_calls} would change
      </h2>
      {result.sampled > 0 ? (
        <table class="list change-rates">
          <thead>
            <tr>
              <th scope="col">Variable</th>
              <th scope="col">Changed</th>
            </tr>
          </thead>
          <tbody>
            {Object.entries(result.change_rates).map(([name, rate]) => (
              <tr key={name}>
                <td>
                  <code>{name}</code>
                </td>
                <td>{percent(rate)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {result.examples.map((example) => (
        <article key={example.call_id} class="panel" aria-label={`Changes in ${example.call_id}`}>
          <p>
            <a href={`/console/calls/${example.call_id}`}>{example.call_id}</a>
          </p>
          <ul>
            {Object.entries(example.changes).map(([name, change]) => (
              <li key={name}>
                <code>{name}</code>: <del>{shown(change.before)}</del> → <ins>{shown(change.after)}</ins>
              </li>
            ))}
          </ul>
        </article>
      ))}
      {result.sample_errors.length > 0 ? (
        <ul class="failure">
          {result.sample_errors.map((failure) => (
            <li key={failure.call_id}>
              {failure.call_id}: <code>{failure.code}</code> {failure.message}
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}

/** Today's LLM spend against the profile's daily budget, and what happens once it is reached. */
function DailyBudget({ profile }: { profile: Profile }) {
  const { budget } = profile;
  if (!budget) return null;
  const { today } = budget;
  const share = Math.min(1, today.spent_usd / budget.daily_usd);
  const until = localTime(today.until);
  return (
    <section aria-label="Daily budget">
      <h2>Daily LLM budget</h2>
      <div class="bar" role="meter" aria-label="Spent today" aria-valuemin={0} aria-valuemax={budget.daily_usd} aria-valuenow={today.spent_usd}>
        <span class="bar-fill" style={{ width: `${share * 100}%` }} aria-hidden="true" />
        <span class="bar-label">
          {usd(today.spent_usd)} of {usd(budget.daily_usd)} today ({profile.timezone ?? "UTC"})
        </span>
        <span class={`bar-count${today.exceeded ? " warn" : ""}`}>{today.exceeded ? "reached" : `${Math.round(share * 100)}%`}</span>
      </div>
      <p class={today.exceeded ? "warn small" : "muted small"} role="status">
        {today.exceeded
          ? budget.on_exceeded === "wait"
            ? `Reached: new calls wait (waiting for budget) and backfills pause until ${until}, or until a reload raises the budget.`
            : `Reached: calls are still extracted (on_exceeded: continue); backfills pause until ${until}, or until a reload raises the budget.`
          : budget.on_exceeded === "wait"
            ? "Once reached, new calls wait for the next day and backfills pause."
            : "Once reached, calls are still extracted (and a warning logged); backfills pause."}
      </p>
    </section>
  );
}

export function ProfilePage() {
  const { params } = useRoute();
  const name = params.name ?? "";
  const profile = useApi<Profile>(`/v1/profiles/${encodeURIComponent(name)}`);
  const [result, setResult] = useState<BackfillDryRun | undefined>(undefined);
  /** The dry run's body without `dry_run`: what the real run is asked, so it covers the calls estimated. */
  const [runBody, setRunBody] = useState<Record<string, unknown>>({});
  /** Each dry run starts its run over: a backfill started from an older estimate is not this one's. */
  const [estimates, setEstimates] = useState(0);
  const [error, setError] = useState<ApiError | undefined>(undefined);
  const grants = useGrants();
  const [busy, setBusy] = useState(false);

  const estimate = async (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const instant = (field: string) => {
      const value = String(form.get(field) ?? "");
      return value ? new Date(`${value}T00:00:00Z`).toISOString() : undefined;
    };
    const body = {
      only_outdated: form.get("only_outdated") === "on",
      ...(instant("since") ? { since: instant("since") } : {}),
      ...(instant("until") ? { until: instant("until") } : {}),
    };
    setBusy(true);
    setError(undefined);
    try {
      setResult(await api.post<BackfillDryRun>(`/v1/profiles/${encodeURIComponent(name)}/backfill`, { dry_run: true, ...body }));
      setRunBody(body);
      setEstimates((count) => count + 1);
    } catch (failure) {
      setError(failure as ApiError);
      setResult(undefined);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="profile">
      <h1>
        Profile <code>{name}</code>
      </h1>
      {profile.error ? <ErrorBox error={profile.error} title="The profile could not be read." /> : null}
      {profile.data ? <DailyBudget profile={profile.data} /> : null}
      {profile.data ? <ProfileDetails profile={profile.data} /> : profile.error ? null : <p aria-busy="true">Loading…</p>}
      {/* A key without calls:reanalyze can neither estimate nor run a backfill: the section is not offered. */}
      {may(grants, "calls:reanalyze") ? (
        <>
      <h2>Backfill</h2>
      <p class="lead">
        Changed this profile's variables or prompt? Re-extract its past calls. A dry run re-extracts a sample of them (stores and sends nothing), shows
        what would change, and estimates the tokens and cost of all of them.
      </p>
      <form class="filters" onSubmit={estimate} aria-label="Backfill">
        <div class="filter-fields">
          <label>
            Calls since <input type="date" name="since" />
          </label>
          <label>
            until <input type="date" name="until" />
          </label>
          <label class="check">
            <input type="checkbox" name="only_outdated" defaultChecked /> Only calls extracted under an older version
          </label>
        </div>
        <div class="filter-actions">
          <button type="submit" disabled={busy}>
            {busy ? "Estimating…" : "Estimate a backfill"}
          </button>
        </div>
      </form>
      {error ? <ErrorBox error={error} title="The dry run failed." /> : null}
      {result ? <Estimate result={result} /> : null}
      {result ? <BackfillRun key={estimates} profile={name} estimate={result} body={runBody} /> : null}
        </>
      ) : null}
    </section>
  );
}
