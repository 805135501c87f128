// The Insights page's charts, drawn by hand: bars as links with their label and count written on them (readable
// without colour, clickable, reachable with Tab), histograms and line charts as one SVG each, one <path> per series, so
// a year of daily (or hourly) buckets costs a few string joins. A chart library would add 22-95 kB gzip for less.
import type { ComponentChildren } from "preact";
import { useMemo, useState } from "preact/hooks";

const count = new Intl.NumberFormat("en-US");
const compact = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 });
const percent = new Intl.NumberFormat("en-US", { style: "percent", maximumFractionDigits: 1 });

export interface Bar {
  /** The value as written on the bar ("repair", "true"). */
  label: string;
  count: number;
  /** Where clicking the bar goes (the calls with that value); a bar without one is not a link. */
  href?: string;
}

/**
 * Horizontal bars, longest for the most frequent value; each is a link with its label, count and share written on
 * it. The share is of the values counted here, so the bars add up to 100%.
 */
export function BarChart({ title, bars }: { title: string; bars: readonly Bar[] }) {
  const total = bars.reduce((sum, bar) => sum + bar.count, 0);
  const largest = Math.max(1, ...bars.map((bar) => bar.count));
  return (
    <ul class="bar-chart" aria-label={title}>
      {bars.map((bar) => {
        const body = (
          <>
            <span class="bar-fill" style={{ width: `${(bar.count / largest) * 100}%` }} aria-hidden="true" />
            <span class="bar-label">{bar.label}</span>
            <span class="bar-count">
              {count.format(bar.count)}
              {total > 0 ? <span class="bar-share"> ({percent.format(bar.count / total)})</span> : null}
            </span>
          </>
        );
        return (
          <li key={bar.label}>
            {bar.href && bar.count > 0 ? (
              <a class="bar" href={bar.href} title={`List the calls where ${title} is ${bar.label}`}>
                {body}
              </a>
            ) : (
              <span class="bar">{body}</span>
            )}
          </li>
        );
      })}
    </ul>
  );
}

/** Round steps for an axis from 0 to about `max`: 1, 2 or 5 times a power of ten. */
export function niceTicks(max: number, wanted = 4): number[] {
  if (!(max > 0)) return [0, 1];
  const rough = max / wanted;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * power).find((candidate) => candidate >= rough)!;
  const ticks: number[] = [];
  for (let tick = 0; tick < max + step / 2; tick += step) ticks.push(Number(tick.toPrecision(12)));
  if (ticks.at(-1)! < max) ticks.push(Number((ticks.at(-1)! + step).toPrecision(12)));
  return ticks;
}

/** A number short enough for an axis: 1200 → "1.2K", 0.25 → "0.25". */
export function shortNumber(value: number): string {
  return Math.abs(value) >= 1000 ? compact.format(value) : String(Number(value.toPrecision(3)));
}

export interface Bin {
  from: number;
  to: number;
  count: number;
}

const H_WIDTH = 340;
const H_HEIGHT = 170;
const H_MARGIN = { top: 18, right: 12, bottom: 26, left: 12 };

/** Equal-width bins as columns, each with its count above it and the bin edges along the bottom. */
export function Histogram({ title, bins }: { title: string; bins: readonly Bin[] }) {
  const largest = Math.max(1, ...bins.map((bin) => bin.count));
  const width = H_WIDTH - H_MARGIN.left - H_MARGIN.right;
  const height = H_HEIGHT - H_MARGIN.top - H_MARGIN.bottom;
  const step = width / Math.max(1, bins.length);
  // Every edge when they fit, every other one past six bins.
  const edgeEvery = bins.length > 6 ? 2 : 1;
  const edges = bins.length > 0 ? [...bins.map((bin) => bin.from), bins.at(-1)!.to] : [];
  const described = bins.map((bin) => `${shortNumber(bin.from)} to ${shortNumber(bin.to)}: ${count.format(bin.count)}`).join("; ");
  return (
    <svg class="histogram" viewBox={`0 0 ${H_WIDTH} ${H_HEIGHT}`} role="img" aria-label={`${title}: ${described}`}>
      <g transform={`translate(${H_MARGIN.left},${H_MARGIN.top})`}>
        <line class="axis" x1={0} x2={width} y1={height} y2={height} />
        {bins.map((bin, i) => {
          const barHeight = (bin.count / largest) * height;
          const x = i * step;
          return (
            <g key={i} class="bin">
              <rect x={x + 1} y={height - barHeight} width={Math.max(1, step - 2)} height={barHeight} />
              <text x={x + step / 2} y={height - barHeight - 4} text-anchor="middle">
                {count.format(bin.count)}
              </text>
            </g>
          );
        })}
        {edges.map((edge, i) =>
          i % edgeEvery === 0 || i === edges.length - 1 ? (
            <text key={`edge-${i}`} class="tick" x={i * step} y={height + 16} text-anchor={i === 0 ? "start" : i === edges.length - 1 ? "end" : "middle"}>
              {shortNumber(edge)}
            </text>
          ) : null,
        )}
      </g>
    </svg>
  );
}

export interface Series {
  name: string;
  /** One value per bucket; null where there is none (the line breaks there). */
  values: readonly (number | null)[];
  /** Told apart by its dash as well as its colour (see styles.css, .series-N). */
  className: string;
}

/** The drawing's size in SVG units: a page-wide chart, or a small one in a card (its text then stays legible). */
const SIZES = { wide: { width: 960, height: 240, labels: 8 }, small: { width: 340, height: 180, labels: 3 } };
const L_MARGIN = { top: 12, right: 16, bottom: 26 };

/**
 * "M x y L x y …", restarting after each null; one string per series. With more buckets than columns to draw them in
 * (a year of hours), each column keeps only its lowest and highest value, in their order: the same picture, spikes
 * included, in a path the browser repaints quickly.
 */
export function linePath(values: readonly (number | null)[], x: (i: number) => number, y: (v: number) => number, columns: number): string {
  const parts: string[] = [];
  let pen = "M";
  const draw = (i: number) => {
    parts.push(`${pen}${x(i).toFixed(1)} ${y(values[i]!).toFixed(1)}`);
    pen = "L";
  };
  const n = values.length;
  if (n <= columns * 2) {
    values.forEach((value, i) => (value === null ? (pen = "M") : draw(i)));
    return parts.join("");
  }
  const per = n / columns;
  for (let column = 0; column < columns; column++) {
    let low = -1;
    let high = -1;
    for (let i = Math.floor(column * per); i < Math.min(n, Math.floor((column + 1) * per)); i++) {
      const value = values[i];
      if (value === null || value === undefined) continue;
      if (low < 0 || value < values[low]!) low = i;
      if (high < 0 || value > values[high]!) high = i;
    }
    if (low < 0) pen = "M";
    else if (low === high) draw(low);
    else for (const i of low < high ? [low, high] : [high, low]) draw(i);
  }
  return parts.join("");
}

/**
 * Lines over buckets sharing one axis from 0. Pointing at the chart (or focusing it and using the arrow keys) shows
 * every series' value for that bucket in the readout above it.
 */
export function LineChart({
  title,
  labels,
  series,
  format = (value) => count.format(value),
  tick = (label) => label,
  describe = (label) => label,
  size = "wide",
}: {
  title: string;
  /** One per bucket, in order. */
  labels: readonly string[];
  series: readonly Series[];
  format?: (value: number) => string;
  /** The bucket's name along the axis ("Dec 1"). */
  tick?: (label: string) => string;
  /** The bucket's name in the readout ("Tue, Dec 1, 2026"). */
  describe?: (label: string) => string;
  size?: keyof typeof SIZES;
}) {
  const frame = SIZES[size];
  const [active, setActive] = useState<number | undefined>(undefined);
  const n = labels.length;
  const height = frame.height - L_MARGIN.top - L_MARGIN.bottom;

  const scale = useMemo(() => {
    let max = 0;
    for (const line of series) for (const value of line.values) if (value !== null && value > max) max = value;
    const ticks = niceTicks(max).map((value) => ({ value, text: format(value) }));
    // Room on the left for the longest value label ("$0.00015"), at about 7 units a character.
    const left = Math.min(140, Math.max(36, 14 + 7.5 * Math.max(...ticks.map((tick) => tick.text.length))));
    return { ticks, top: ticks.at(-1)!.value, left };
  }, [series]);
  const left = scale.left;
  const width = frame.width - left - L_MARGIN.right;
  const step = n > 1 ? width / (n - 1) : 0;
  const x = (i: number) => (n > 1 ? i * step : width / 2);
  const y = (value: number) => height - (value / scale.top) * height;
  // One string per series, made when the data changes, not on every move of the pointer.
  const paths = useMemo(() => series.map((line) => linePath(line.values, x, y, Math.round(width))), [scale, n, size]);

  // A few labels along the bottom whatever the number of buckets (eight wide, three small); made once too.
  const every = Math.max(1, Math.ceil(n / frame.labels));
  const axis = useMemo(
    () =>
      labels.flatMap((label, i) =>
        i % every === 0
          ? [
              <text key={i} class="tick" x={x(i)} y={height + 18} text-anchor={i === 0 && n > 1 ? "start" : "middle"}>
                {tick(label)}
              </text>,
            ]
          : [],
      ),
    [labels, tick, left, size],
  );
  const pick = (clientX: number, svg: SVGSVGElement) => {
    const box = svg.getBoundingClientRect();
    const inChart = ((clientX - box.left) / box.width) * frame.width - left;
    setActive(n > 1 ? Math.min(n - 1, Math.max(0, Math.round(inChart / step))) : 0);
  };
  const onKey = (event: KeyboardEvent) => {
    const moves: Record<string, number> = { ArrowLeft: -1, ArrowRight: 1, Home: -n, End: n, PageUp: -every, PageDown: every };
    const move = moves[event.key];
    if (move === undefined || n === 0) return;
    event.preventDefault();
    setActive((current) => Math.min(n - 1, Math.max(0, (current ?? (move > 0 ? -1 : n)) + move)));
  };

  return (
    <figure class={`line-chart ${size}`}>
      <figcaption>
        <span class="chart-title">{title}</span>
        <ul class="legend">
          {series.map((line) => (
            <li key={line.name} class={line.className}>
              <svg width="28" height="10" aria-hidden="true">
                <line x1="0" x2="28" y1="5" y2="5" />
              </svg>
              {line.name}
            </li>
          ))}
        </ul>
      </figcaption>
      <p class="readout" aria-live="polite">
        {active !== undefined && labels[active] !== undefined ? (
          <>
            <strong>{describe(labels[active]!)}</strong>
            {series.map((line) => ` · ${line.name} ${line.values[active] === null || line.values[active] === undefined ? "–" : format(line.values[active]!)}`).join("")}
          </>
        ) : (
          <span class="muted">Point at the chart, or focus it and use the arrow keys, to read one bucket.</span>
        )}
      </p>
      <div class="plot">
        <svg
          viewBox={`0 0 ${frame.width} ${frame.height}`}
          role="img"
          tabindex={0}
          aria-label={`${title}, ${n} buckets; use the arrow keys to read each`}
          onPointerMove={(event) => pick(event.clientX, event.currentTarget)}
          onPointerLeave={() => setActive(undefined)}
          onKeyDown={onKey}
        >
          <g transform={`translate(${left},${L_MARGIN.top})`}>
            {scale.ticks.map((tick) => (
              <g key={tick.value}>
                <line class="grid" x1={0} x2={width} y1={y(tick.value)} y2={y(tick.value)} />
                <text class="tick" x={-6} y={y(tick.value) + 4} text-anchor="end">
                  {tick.text}
                </text>
              </g>
            ))}
            {axis}
            {series.map((line, i) => (
              <path key={line.name} class={`line ${line.className}`} d={paths[i]} />
            ))}
            {/* Points only while few enough to tell apart: a single bucket would otherwise draw nothing. */}
            {n <= 62
              ? series.map((line) =>
                  line.values.map((value, i) => (value === null ? null : <circle key={`${line.name}-${i}`} class={`point ${line.className}`} cx={x(i)} cy={y(value)} r={2.5} />)),
                )
              : null}
          </g>
        </svg>
        {/* Over the chart, not in it: moving the rule then repaints the rule alone, not a year of lines under it. */}
        {active !== undefined ? (
          <div
            class="rule"
            aria-hidden="true"
            style={{
              left: `${((left + x(active)) / frame.width) * 100}%`,
              top: `${(L_MARGIN.top / frame.height) * 100}%`,
              height: `${(height / frame.height) * 100}%`,
            }}
          />
        ) : null}
      </div>
    </figure>
  );
}

/** A titled box for one chart, with what it counts underneath. */
export function ChartCard({ title, children, note }: { title: ComponentChildren; children: ComponentChildren; note?: ComponentChildren }) {
  return (
    <article class="chart-card">
      <h3>{title}</h3>
      {children}
      {note ? <p class="hint">{note}</p> : null}
    </article>
  );
}
