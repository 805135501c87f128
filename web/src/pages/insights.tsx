// Insights: what one profile's calls said over a period (GET /v1/profiles/{name}/insights). A bar chart per enum and
// boolean (each bar lists its calls), a histogram per number, calls and cost per hour, day or week, and the variables
// the model struggles with. The profile, period and bucket are kept in the address, so a view can be shared.
import { useLocation } from "preact-iso";
import { useMemo, useState } from "preact/hooks";
import { query } from "../api.js";
import { BarChart, ChartCard, Histogram, LineChart, LOOKS, type Bar, type Look } from "../components/charts.js";
import { ErrorBox, PipelineOff } from "../components/error-box.js";
import { usd } from "../format.js";
import { navigate } from "../session.js";
import type { InsightBucketSize, InsightPath, Insights, InsightVariable, NumberSpread, Profile } from "../types.js";
import { useApi } from "../use-api.js";

const PRESETS = [7, 30, 90, 365] as const;
const DEFAULT_DAYS = 30;
const BUCKETS: readonly InsightBucketSize[] = ["hour", "day", "week"];
/** At or past this share of calls without a value, the variable's description is the first suspect. */
const RARELY_FOUND = 0.5;
/** At or past this share of low-confidence values, the model is often unsure what the variable means. */
const OFTEN_UNSURE = 0.2;

const count = new Intl.NumberFormat("en-US");
const percent = new Intl.NumberFormat("en-US", { style: "percent", maximumFractionDigits: 1 });
const decimal = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });

// ---- The period, in the profile's time zone ----

const dateFormats = new Map<string, Intl.DateTimeFormat>();
const wallFormats = new Map<string, Intl.DateTimeFormat>();
function formatIn(cache: Map<string, Intl.DateTimeFormat>, timeZone: string, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  let format = cache.get(timeZone);
  if (!format) {
    try {
      format = new Intl.DateTimeFormat("en-CA", { timeZone, ...options });
    } catch {
      // a zone this browser does not know: UTC rather than a blank page
      format = new Intl.DateTimeFormat("en-CA", { timeZone: "UTC", ...options });
    }
    cache.set(timeZone, format);
  }
  return format;
}

/** "2026-12-07": the date an instant falls on in a time zone. */
export function dateIn(timeZone: string, instant: number): string {
  return formatIn(dateFormats, timeZone, { year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date(instant));
}

/** How far a time zone's clocks are ahead of UTC at an instant, in ms. */
function offsetAt(timeZone: string, instant: number): number {
  const parts = formatIn(wallFormats, timeZone, { hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric" }).formatToParts(
    new Date(instant),
  );
  const part = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const wall = Date.UTC(part("year"), part("month") - 1, part("day"), part("hour"), part("minute"), part("second"));
  return wall - Math.floor(instant / 1000) * 1000;
}

/** The instant a date ("2026-12-07") begins in a time zone; checked twice, as the offset can differ across a DST change. */
export function startOfDate(timeZone: string, date: string): number {
  const [year, month, day] = date.split("-").map(Number) as [number, number, number];
  const wall = Date.UTC(year, month - 1, day);
  const first = wall - offsetAt(timeZone, wall);
  return wall - offsetAt(timeZone, first);
}

export function addDays(date: string, days: number): string {
  const [year, month, day] = date.split("-").map(Number) as [number, number, number];
  return new Date(Date.UTC(year, month - 1, day + days)).toISOString().slice(0, 10);
}

/** The page's period: the last N days (today included), from and to dates (both included), or two instants (a link from elsewhere). */
export type Period = { days: number } | { from: string; to: string } | { since: string; until: string };

export interface View {
  profile: string | undefined;
  period: Period;
  bucket: InsightBucketSize;
}

export function readView(params: URLSearchParams): View {
  const bucket = BUCKETS.find((name) => name === params.get("bucket")) ?? "day";
  const from = params.get("from");
  const to = params.get("to");
  const since = params.get("since");
  const until = params.get("until");
  const days = Number(params.get("days"));
  const isDate = (text: string | null): text is string => text !== null && /^\d{4}-\d{2}-\d{2}$/.test(text);
  const isInstant = (text: string | null): text is string => text !== null && !Number.isNaN(Date.parse(text));
  const period: Period =
    isDate(from) && isDate(to)
      ? { from, to }
      : isInstant(since) && isInstant(until)
        ? { since, until }
        : { days: Number.isInteger(days) && days > 0 ? days : DEFAULT_DAYS };
  return { profile: params.get("profile") ?? undefined, period, bucket };
}

export function insightsHref(view: View): string {
  return `/console/insights${query({ profile: view.profile, ...view.period, bucket: view.bucket })}`;
}

/** The API's window for a period: whole days in the profile's time zone, up to now. */
export function windowOf(period: Period, timeZone: string, now: number): { since: string; until: string | undefined } {
  if ("days" in period) return { since: new Date(startOfDate(timeZone, addDays(dateIn(timeZone, now), 1 - period.days))).toISOString(), until: undefined };
  if ("since" in period) return period;
  return { since: new Date(startOfDate(timeZone, period.from)).toISOString(), until: new Date(startOfDate(timeZone, addDays(period.to, 1))).toISOString() };
}

// ---- How buckets read ----

const monthDay = new Intl.DateTimeFormat("en-US", { timeZone: "UTC", month: "short", day: "numeric" });
const fullDay = new Intl.DateTimeFormat("en-US", { timeZone: "UTC", weekday: "short", month: "short", day: "numeric", year: "numeric" });

/** Bucket labels are wall-clock dates already ("2026-12-01", "2026-12-01T13:00"): read them as UTC so nothing shifts. */
function bucketDate(label: string): { date: Date; time: string | undefined } {
  const [day, time] = label.split("T");
  const [year, month, date] = (day ?? "").split("-").map(Number) as [number, number, number];
  return { date: new Date(Date.UTC(year, month - 1, date)), time };
}

/** "Dec 1 13:00", or "Dec 1" when the names along the axis are whole days apart. */
function bucketTick(label: string, step: number): string {
  const { date, time } = bucketDate(label);
  return time && step % 24 !== 0 ? `${monthDay.format(date)} ${time}` : monthDay.format(date);
}

/** How many buckets apart the names along a chart's bottom may be: hours of whole days, then weeks, four-week months, quarters. */
const BUCKET_STEPS: Record<InsightBucketSize, number[]> = {
  hour: [1, 2, 3, 6, 12, 24, 48, 168, 336, 672, 2184, 4368, 8736],
  day: [1, 2, 7, 14, 28, 91, 182, 365],
  week: [1, 2, 4, 13, 26, 52],
};

function bucketName(bucket: InsightBucketSize) {
  return (label: string) => {
    const { date, time } = bucketDate(label);
    if (bucket === "week") return `Week of ${fullDay.format(date)}`;
    return time ? `${fullDay.format(date)}, ${time}` : fullDay.format(date);
  };
}

// ---- Links to the calls behind a bar ----

/** The calls list filtered to calls whose `variable` (or leaf path) holds `value`, over the same window. */
function callsHref(insights: Insights, where: string): string {
  // ':' needs no escaping in a query: keep the address readable (where=service_type:repair).
  return `/console/calls${query({ profile: insights.profile, where, since: insights.since, until: insights.until })}`.replaceAll("%3A", ":");
}

function barsOf(insights: Insights, path: string, counts: Record<string, number>): Bar[] {
  return Object.entries(counts).map(([value, n]) => ({ label: value, count: n, href: callsHref(insights, `${path}:${value}`) }));
}

// ---- The charts of one variable ----

function Spread({ numbers }: { numbers: NumberSpread | null }) {
  if (numbers === null || numbers.count === 0) return <p class="muted">No value in this period.</p>;
  const figure = (value: number) => decimal.format(value);
  return (
    <>
      <Histogram title="How many values fall in each range" bins={numbers.histogram} />
      <dl class="spread">
        {(
          [
            ["values", count.format(numbers.count)],
            ["min", figure(numbers.min)],
            ["median", figure(numbers.p50)],
            ["mean", figure(numbers.mean)],
            ["p90", figure(numbers.p90)],
            ["max", figure(numbers.max)],
          ] as const
        ).map(([name, value]) => (
          <div key={name}>
            <dt>{name}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
    </>
  );
}

/** What one variable or leaf path held: bars for options, a histogram for numbers, a count for the rest. */
function Values({ insights, path, entry }: { insights: Insights; path: string; entry: InsightVariable | InsightPath }) {
  if (entry.counts) return <BarChart title={path} bars={barsOf(insights, path, entry.counts)} />;
  if (entry.numbers !== undefined) return <Spread numbers={entry.numbers} />;
  if ("values" in entry) return <p class="muted">{count.format(entry.values)} values; free text is not charted.</p>;
  return null;
}

/** Each option's calls per bucket, drawn only once asked for: a card per variable would otherwise draw a year each. */
function OptionsOverTime({ insights, name, options }: { insights: Insights; name: string; options: string[] }) {
  const [open, setOpen] = useState(false);
  const labels = useMemo(() => insights.series.map((bucket) => bucket.bucket), [insights]);
  const series = useMemo(
    () => options.map((option, i) => ({ name: option, look: LOOKS[i % LOOKS.length]!, values: insights.series.map((bucket) => bucket.variables[name]?.[option] ?? 0) })),
    [insights, name],
  );
  return (
    <details class="options-over-time" onToggle={(event) => setOpen((event.currentTarget as HTMLDetailsElement).open)}>
      <summary>Per {insights.bucket}</summary>
      {open ? <LineChart title={`${name}, calls per ${insights.bucket}`} labels={labels} series={series} tick={bucketTick} describe={bucketName(insights.bucket)} steps={BUCKET_STEPS[insights.bucket]} size="small" /> : null}
    </details>
  );
}

function VariableCard({ insights, name, variable }: { insights: Insights; name: string; variable: InsightVariable }) {
  const missing = insights.extracted > 0 && variable.null_rate > 0 ? (
    <>
      Not found in {percent.format(variable.null_rate)} of the extracted calls: <a href={callsHref(insights, `${name}:null`)}>list them</a>.
    </>
  ) : undefined;
  const paths = Object.entries(variable.paths ?? {});
  return (
    <ChartCard
      title={
        <>
          <code>{name}</code> <span class="muted small">{variable.type}</span>
        </>
      }
      note={missing}
    >
      {variable.counts || variable.numbers !== undefined ? <Values insights={insights} path={name} entry={variable} /> : null}
      {variable.counts && insights.series.some((bucket) => bucket.variables[name]) ? (
        <OptionsOverTime insights={insights} name={name} options={Object.keys(variable.counts)} />
      ) : null}
      {paths.map(([path, entry]) => (
        <section key={path} class="leaf" aria-label={path}>
          <h4>
            <code>{path}</code> <span class="muted small">{entry.type}</span>
          </h4>
          <Values insights={insights} path={path} entry={entry} />
        </section>
      ))}
      {!variable.counts && variable.numbers === undefined && paths.length === 0 ? (
        <p class="muted">Free text: not charted. Found in {percent.format(1 - variable.null_rate)} of the extracted calls.</p>
      ) : null}
    </ChartCard>
  );
}

const charted = (variable: InsightVariable) => variable.counts !== undefined || variable.numbers !== undefined || variable.paths !== undefined;

// ---- The variables the model struggles with ----

type Rate = "null_rate" | "low_confidence_rate";

function hint(name: string, variable: InsightVariable) {
  if (variable.null_rate >= RARELY_FOUND) {
    return (
      <>
        the model rarely finds <code>{name}</code>: check its description
      </>
    );
  }
  if (variable.low_confidence_rate >= OFTEN_UNSURE) {
    return (
      <>
        the model is often unsure of <code>{name}</code>: make its description (or options) less ambiguous
      </>
    );
  }
  return null;
}

/** `profileSets`: whether the threshold is the profile's own review.min_confidence, or the service's default. */
function Struggles({ insights, profileSets }: { insights: Insights; profileSets: boolean }) {
  const [by, setBy] = useState<Rate>("null_rate");
  const rows = Object.entries(insights.variables).sort(([a, left], [b, right]) => right[by] - left[by] || a.localeCompare(b));
  const sortButton = (rate: Rate, label: string) => (
    <button type="button" class="secondary" aria-pressed={by === rate} onClick={() => setBy(rate)}>
      {label}
    </button>
  );
  return (
    <section aria-labelledby="struggles">
      <h2 id="struggles">Variables the model struggles with</h2>
      <p class="hint">
        Rates are of the {count.format(insights.extracted)} extracted calls.{" "}
        A value is low confidence under {insights.low_confidence_below}{" "}
        {profileSets ? (
          <>
            (the profile's <code>review.min_confidence</code>).
          </>
        ) : (
          <>
            (the default: the profile sets no <code>review.min_confidence</code>).
          </>
        )}
      </p>
      <div class="sort-by" role="group" aria-label="Sort the variables by">
        <span class="muted small">Sort by</span>
        {sortButton("null_rate", "Not found")}
        {sortButton("low_confidence_rate", "Low confidence")}
      </div>
      <table class="list struggles">
        <thead>
          <tr>
            <th scope="col">Variable</th>
            <th scope="col">Type</th>
            <th scope="col" aria-sort={by === "null_rate" ? "descending" : undefined}>
              Not found
            </th>
            <th scope="col" aria-sort={by === "low_confidence_rate" ? "descending" : undefined}>
              Low confidence
            </th>
            <th scope="col">What to check</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(([name, variable]) => (
            <tr key={name}>
              <th scope="row">
                <code>{name}</code>
              </th>
              <td>{variable.type}</td>
              <td class="number">{percent.format(variable.null_rate)}</td>
              <td class="number">{percent.format(variable.low_confidence_rate)}</td>
              <td>{hint(name, variable) ?? <span class="muted">–</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

// ---- Over time ----

/** The lines of the calls chart, each with its own dash; cost has a chart to itself. */
const OVER_TIME: Record<"calls" | "delivered" | "held" | "cost", Look> = {
  calls: { color: "#1a1d23" },
  delivered: { color: "#15803d", dash: [7, 4] },
  held: { color: "#b45309", dash: [2, 3] },
  cost: { color: "#1d4ed8" },
};

function OverTime({ insights }: { insights: Insights }) {
  const per = insights.bucket;
  const labels = useMemo(() => insights.series.map((bucket) => bucket.bucket), [insights]);
  const calls = useMemo(
    () => [
      { name: "calls", look: OVER_TIME.calls, values: insights.series.map((bucket) => bucket.calls) },
      { name: "delivered", look: OVER_TIME.delivered, values: insights.series.map((bucket) => bucket.delivered) },
      { name: "held", look: OVER_TIME.held, values: insights.series.map((bucket) => bucket.needs_review) },
    ],
    [insights],
  );
  const costs = useMemo(() => [{ name: "cost", look: OVER_TIME.cost, values: insights.series.map((bucket) => bucket.cost_usd) }], [insights]);
  const costKnown = costs[0]!.values.some((value) => value !== null);
  const describe = bucketName(insights.bucket);
  const steps = BUCKET_STEPS[per];
  return (
    <section aria-labelledby="over-time">
      <h2 id="over-time">Over time</h2>
      <LineChart title={`Calls per ${per}: received, delivered, held for review`} labels={labels} series={calls} tick={bucketTick} describe={describe} steps={steps} />
      {costKnown ? (
        <LineChart title={`Extraction cost per ${per}`} labels={labels} series={costs} format={usd} tick={bucketTick} describe={describe} steps={steps} />
      ) : (
        <p class="hint">The cost per {per} shows here once the service records what each extraction costs.</p>
      )}
    </section>
  );
}

// ---- The page ----

function Controls({ view, profiles, timeZone, span }: { view: View; profiles: Profile[]; timeZone: string; span: { since: string; until: string | undefined } }) {
  const go = (change: Partial<View>) => navigate(insightsHref({ ...view, ...change }));
  const custom = !("days" in view.period);
  const today = dateIn(timeZone, Date.now());
  // The dates shown are those of the period on screen, whichever way it was chosen: a custom one starts from them.
  // The button is filled while a custom period is on screen, as the presets' current one is.
  const shownFrom = dateIn(timeZone, Date.parse(span.since));
  const shownTo = span.until === undefined ? today : dateIn(timeZone, Date.parse(span.until) - 1);
  const submit = (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const from = String(form.get("from") ?? "");
    const to = String(form.get("to") ?? "");
    if (from && to) go({ period: from <= to ? { from, to } : { from: to, to: from } });
  };
  return (
    <div class="insights-controls">
      <label>
        Profile
        <select value={view.profile} onChange={(event) => go({ profile: (event.currentTarget as HTMLSelectElement).value })}>
          {profiles.map((profile) => (
            <option key={profile.name} value={profile.name}>
              {profile.name}
            </option>
          ))}
        </select>
      </label>
      <nav class="segmented" aria-label="Period">
        {PRESETS.map((days) => (
          <a key={days} href={insightsHref({ ...view, period: { days } })} aria-current={"days" in view.period && view.period.days === days ? "true" : undefined}>
            {days} days
          </a>
        ))}
      </nav>
      {/* Keyed by the period: a new period shows its own dates, not what was typed before. */}
      <form class="custom-period" key={`${timeZone} ${JSON.stringify(view.period)}`} onSubmit={submit} aria-label="Custom period">
        <label>
          From
          <input type="date" name="from" required max={today} defaultValue={shownFrom} />
        </label>
        <label>
          To
          <input type="date" name="to" required max={today} defaultValue={shownTo} />
        </label>
        <button type="submit" class={custom ? undefined : "secondary"}>
          Show
        </button>
      </form>
      <nav class="segmented" aria-label="Bucket">
        {BUCKETS.map((bucket) => (
          <a key={bucket} href={insightsHref({ ...view, bucket })} aria-current={view.bucket === bucket ? "true" : undefined}>
            per {bucket}
          </a>
        ))}
      </nav>
    </div>
  );
}

function periodText(insights: Insights): string {
  const day = (instant: string) => dateIn(insights.timezone, new Date(instant).getTime());
  // `until` is exclusive: the period's last day is the one before it, unless it is now, mid-day.
  const until = new Date(insights.until).getTime();
  const last = until === startOfDate(insights.timezone, day(insights.until)) ? dateIn(insights.timezone, until - 1) : day(insights.until);
  return `${day(insights.since)} to ${last} (${insights.timezone})`;
}

export function InsightsPage() {
  const location = useLocation();
  const params = new URLSearchParams(location.url.split("?")[1] ?? "");
  const view = readView(params);
  const profiles = useApi<{ profiles: Profile[] }>("/v1/profiles");
  const list = profiles.data?.profiles;
  const profile = list?.find((entry) => entry.name === view.profile) ?? (view.profile === undefined ? list?.[0] : undefined);
  const timeZone = profile?.timezone ?? "UTC";
  // "The last 30 days" is pinned when the address changes, so refreshes of the page keep asking for the same window.
  const now = useMemo(() => Date.now(), [location.url]);
  const span = windowOf(view.period, timeZone, now);
  const path = profile ? `/v1/profiles/${encodeURIComponent(profile.name)}/insights${query({ ...span, bucket: view.bucket })}` : undefined;
  const loaded = useApi<Insights>(path);
  const insights = loaded.data;
  const shown = { ...view, profile: profile?.name ?? view.profile };

  return (
    <section class="insights">
      <h1>Insights</h1>
      <p class="lead">What the calls of one profile said over a period. Click a bar to list the calls with that value.</p>
      {profiles.error ? <ErrorBox error={profiles.error} title="The profiles could not be listed." /> : null}
      <PipelineOff error={profiles.error ?? loaded.error} />
      {list && list.length === 0 ? <p class="muted">No profile is configured.</p> : null}
      {list && view.profile !== undefined && !profile ? (
        <p class="error-box" role="alert">
          There is no profile <code>{view.profile}</code> (or this key may not read it).
        </p>
      ) : null}
      {list && list.length > 0 ? <Controls view={shown} profiles={list} timeZone={timeZone} span={span} /> : null}
      {loaded.error ? <ErrorBox error={loaded.error} title="The insights could not be computed." /> : null}
      {path && !insights && !loaded.error ? <p aria-busy="true">Loading…</p> : null}
      {insights ? (
        <>
          <p class="insights-summary">
            <strong>{count.format(insights.calls)}</strong> calls received from {periodText(insights)}; <strong>{count.format(insights.extracted)}</strong>{" "}
            extracted.
            {loaded.loading ? <span class="muted small"> Updating…</span> : null}
          </p>
          {insights.calls === 0 ? <p class="muted">No call was received in this period.</p> : null}
          <section aria-labelledby="values">
            <h2 id="values">What the calls said</h2>
            <div class="chart-grid">
              {/* Charted variables first; free text (nothing to draw) after them. */}
              {Object.entries(insights.variables)
                .sort(([, a], [, b]) => Number(charted(b)) - Number(charted(a)))
                .map(([name, variable]) => (
                <VariableCard key={name} insights={insights} name={name} variable={variable} />
              ))}
            </div>
          </section>
          <OverTime insights={insights} />
          <Struggles insights={insights} profileSets={profile?.review.min_confidence != null} />
        </>
      ) : null}
    </section>
  );
}
