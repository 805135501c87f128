// Calls, the landing page: the newest calls first with the platform's own id, state, profile, source, duration and
// age; filters kept in the address (so a filtered view can be shared), including what a value was (`where=variable:value`,
// repeatable, each shown as a removable chip); older pages by cursor; refreshed every few seconds.
import { useLocation } from "preact-iso";
import { query } from "../api.js";
import { Badge } from "../components/badge.js";
import { ErrorBox, PipelineOff } from "../components/error-box.js";
import { When } from "../components/when.js";
import { duration } from "../format.js";
import { navigate } from "../session.js";
import type { CallList, CallListItem } from "../types.js";
import { useApi } from "../use-api.js";
import { CALL_STATES, SOURCE_NAMES } from "../vocabulary.js";

const PAGE_SIZE = 50;
/** Filters kept in the address; `limit` (the page size) too, though no form field sets it. */
const FILTERS = ["profile", "source", "destination", "external_id", "since", "until", "limit"] as const;

/** A datetime-local value ("2026-06-12T14:05") as the instant it means here, and back. */
const toIso = (local: string) => (local ? new Date(local).toISOString() : "");
function toLocal(iso: string | undefined): string {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  return new Date(date.getTime() - date.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}

/** "service_type:repair" → its variable (or leaf path, `items[].size`) and the value; `budget:null` is a value never said. */
function readWhere(where: string): { variable: string; value: string } {
  const colon = where.indexOf(":");
  return colon < 0 ? { variable: where, value: "" } : { variable: where.slice(0, colon), value: where.slice(colon + 1) };
}

/** The value filters as chips; removing one keeps every other filter and starts again from the newest calls. */
function WhereChips({ wheres, params, path }: { wheres: string[]; params: URLSearchParams; path: string }) {
  if (wheres.length === 0) return null;
  const without = (index: number) => {
    const next = new URLSearchParams(params);
    next.delete("where");
    next.delete("cursor");
    wheres.forEach((where, i) => i !== index && next.append("where", where));
    const text = next.toString().replaceAll("%3A", ":");
    return text ? `${path}?${text}` : path;
  };
  return (
    <ul class="chips" aria-label="Calls whose values match">
      {wheres.map((where, i) => {
        const { variable, value } = readWhere(where);
        return (
          <li key={where} class="chip">
            <code>{variable}</code> {value === "null" ? <span>never said (null)</span> : <>= <strong>{value}</strong></>}
            <a href={without(i)} class="chip-remove" aria-label={`Remove the filter ${variable} = ${value}`} title="Remove this filter">
              ×
            </a>
          </li>
        );
      })}
    </ul>
  );
}

/** Uncontrolled (default values only): the list's refreshes re-render the page, and must not undo what is being typed. */
function Filters({ current, states, wheres }: { current: Record<string, string>; states: string[]; wheres: string[] }) {
  const submit = (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const text = (name: string) => String(form.get(name) ?? "").trim();
    navigate(
      `/console/${query({
        state: form.getAll("state").map(String),
        profile: text("profile"),
        source: text("source"),
        destination: text("destination"),
        external_id: text("external_id"),
        since: toIso(text("since")),
        until: toIso(text("until")),
        where: wheres,
      })}`.replaceAll("%3A", ":"),
    );
  };
  return (
    <form class="filters" onSubmit={submit} aria-label="Filter calls">
      <fieldset class="states">
        <legend>State</legend>
        {CALL_STATES.map((state) => (
          <label key={state} class="check">
            <input type="checkbox" name="state" value={state} defaultChecked={states.includes(state)} />
            {state.replaceAll("_", " ")}
          </label>
        ))}
      </fieldset>
      <div class="filter-fields">
        <label>
          Profile
          <input name="profile" defaultValue={current.profile ?? ""} />
        </label>
        <label>
          Source
          <select name="source">
            <option value="">any</option>
            {SOURCE_NAMES.map((source) => (
              <option key={source} value={source} selected={current.source === source}>
                {source}
              </option>
            ))}
          </select>
        </label>
        <label>
          Destination
          <input name="destination" defaultValue={current.destination ?? ""} />
        </label>
        <label>
          Platform's call id
          <input name="external_id" defaultValue={current.external_id ?? ""} />
        </label>
        <label>
          Received since
          <input type="datetime-local" name="since" defaultValue={toLocal(current.since)} />
        </label>
        <label>
          Received until
          <input type="datetime-local" name="until" defaultValue={toLocal(current.until)} />
        </label>
      </div>
      <div class="filter-actions">
        <button type="submit">Apply filters</button>
        <a href="/console/" class="button secondary">
          Clear
        </a>
      </div>
    </form>
  );
}

/** Short words for why a destination did not get the call; the full reason is the cell's title. */
const WHY: Record<string, string> = {
  when_false: "its when was false",
  when_failed: "its when failed",
  transform_failed: "its transform failed",
  dead_lettered: "gave up",
  retrying: "retrying",
};

/** Why the call did not reach every destination, in a few words per destination; nothing when it did. */
export function whyNotDelivered(call: Pick<CallListItem, "state" | "reason" | "destinations">): { text: string; title: string }[] {
  if (call.state === "delivered" && call.destinations.every((d) => d.fate === "delivered")) return [];
  return call.destinations
    .filter((d) => d.fate !== "delivered" && d.reason !== null)
    .map((d) => ({ text: `${d.destination}: ${WHY[d.reason!.code] ?? d.reason!.code.replaceAll("_", " ")}`, title: d.reason!.message }));
}

function Row({ call }: { call: CallListItem }) {
  const why = whyNotDelivered(call);
  return (
    <tr>
      <td>
        <a href={`/console/calls/${encodeURIComponent(call.call_id)}`}>
          <code>{call.external_id}</code>
        </a>
        {call.external_id !== call.call_id ? <div class="muted small">{call.call_id}</div> : null}
      </td>
      <td>
        <Badge value={call.state} />
        {call.reason && call.state !== "delivered" ? <div class="muted small">{call.reason}</div> : null}
        {why.map((item) => (
          <div key={item.text} class="muted small why" title={item.title}>
            {item.text}
          </div>
        ))}
      </td>
      <td>{call.profile}</td>
      <td>{call.source}</td>
      <td class="number">{duration(call.call?.duration_s)}</td>
      <td>
        <When iso={call.created_at} />
      </td>
    </tr>
  );
}

/** Calls, newest first, each linking to its page. */
export function CallTable({ calls }: { calls: readonly CallListItem[] }) {
  return (
    <table class="list">
      <caption class="visually-hidden">Calls, newest first</caption>
      <thead>
        <tr>
          <th scope="col">Call (platform's id)</th>
          <th scope="col">State</th>
          <th scope="col">Profile</th>
          <th scope="col">Source</th>
          <th scope="col">Duration</th>
          <th scope="col">Received</th>
        </tr>
      </thead>
      <tbody>
        {calls.map((call) => (
          <Row key={call.call_id} call={call} />
        ))}
      </tbody>
    </table>
  );
}

export function CallsPage() {
  const location = useLocation();
  const params = new URLSearchParams(location.url.split("?")[1] ?? "");
  const states = params.getAll("state");
  const current = Object.fromEntries(FILTERS.map((name) => [name, params.get(name) ?? undefined]).filter(([, value]) => value)) as Record<string, string>;
  const wheres = params.getAll("where");
  const cursor = params.get("cursor") ?? undefined;
  const apiQuery = query({ limit: PAGE_SIZE, ...current, state: states, where: wheres, cursor });
  const loaded = useApi<CallList>(`/v1/calls${apiQuery}`, { refreshMs: 5_000 });
  const filtered = states.length > 0 || wheres.length > 0 || Object.keys(current).some((name) => name !== "limit");
  const calls = loaded.data?.calls;

  return (
    <section class="calls">
      <div class="title-row">
        <h1>Calls</h1>
        <span class="muted small">
          {loaded.updatedAt ? `Updated ${loaded.updatedAt.toLocaleTimeString()}; refreshes every 5 s` : ""}
        </span>
      </div>
      <Filters key={location.url} current={current} states={states} wheres={wheres} />
      <WhereChips wheres={wheres} params={params} path={location.path} />
      {loaded.error ? <ErrorBox error={loaded.error} title="The calls could not be listed." /> : null}
      <PipelineOff error={loaded.error} />
      {calls === undefined && !loaded.error ? <p aria-busy="true">Loading…</p> : null}
      {calls && calls.length === 0 ? <p class="muted">{filtered ? "No call matches these filters." : "No call yet. Point a voice platform's post-call webhook at POST /v1/calls?profile=…"}</p> : null}
      {calls && calls.length > 0 ? <CallTable calls={calls} /> : null}
      <nav class="pager" aria-label="Pages">
        {cursor ? <a href={`${location.path}${query({ ...current, state: states, where: wheres })}`}>Newest</a> : null}
        {loaded.data?.next_cursor ? <a href={`${location.path}${query({ ...current, state: states, where: wheres, cursor: loaded.data.next_cursor })}`}>Older</a> : null}
      </nav>
    </section>
  );
}
