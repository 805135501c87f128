// The Insights page's charts. Bars are HTML links with their label and count written on them (readable without colour,
// clickable, reachable with Tab). Lines over buckets and histograms are drawn by uPlot on a canvas: a year of hours
// (8,760 buckets a series) draws at once, and moving along it repaints the cursor alone. uPlot is loaded with the
// Insights page only (app.tsx imports the page lazily).
import type { ComponentChildren } from "preact";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

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

/** A number short enough for an axis: 1200 → "1.2K", 0.25 → "0.25". */
export function shortNumber(value: number): string {
  return Math.abs(value) >= 1000 ? compact.format(value) : String(Number(value.toPrecision(3)));
}

// ---- Drawn by uPlot ----

/** The canvas has no stylesheet: the page's colours and font (styles.css) spelled out for it. */
const INK = { text: "#1a1d23", muted: "#535a66", line: "#d5d9e0", accent: "#1d4ed8", fill: "#c7d6fb" };
const FONT = `system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif`;
const AXIS = { font: `12px ${FONT}`, stroke: INK.muted, ticks: { show: false } } satisfies uPlot.Axis;
/** The room an axis label gets per character, in CSS pixels at 12px: enough for "$0.00015" or "Dec 1 13:00". */
const CHAR = 7;

/**
 * A uPlot chart in the returned element, made when `deps` change and destroyed with the component. It takes the
 * element's width and follows it; its height is fixed. Once drawn, its root says what it drew (data-points, the
 * buckets or bins; data-series, the names), for a test or a curious reader of the DOM.
 */
function usePlot(make: () => { options: Omit<uPlot.Options, "width" | "height">; data: uPlot.AlignedData }, height: number, deps: unknown[]) {
  const holder = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  useEffect(() => {
    const box = holder.current!;
    const { options, data } = make();
    const said = (chart: uPlot) => {
      chart.root.dataset.points = String(chart.data[0].length);
      chart.root.dataset.series = chart.series.slice(1).map((line) => String(line.label ?? "")).join(",");
    };
    const hooks = { ...options.hooks, draw: [...(options.hooks?.draw ?? []), said] };
    const chart = new uPlot({ ...options, hooks, width: box.clientWidth, height }, data, box);
    plot.current = chart;
    const resize = new ResizeObserver(() => {
      if (box.clientWidth !== chart.width) chart.setSize({ width: box.clientWidth, height });
    });
    resize.observe(box);
    return () => {
      resize.disconnect();
      chart.destroy();
      plot.current = undefined;
    };
  }, deps);
  return { holder, plot };
}

export interface Bin {
  from: number;
  to: number;
  count: number;
}

const HISTOGRAM_HEIGHT = 170;

/**
 * Equal-width bins as columns, each with its count written above it and the bin edges along the bottom. Bin i spans
 * i to i + 1 on the x scale, so a single bin (every value the same) draws as well as ten.
 */
export function Histogram({ title, bins }: { title: string; bins: readonly Bin[] }) {
  const described = bins.map((bin) => `${shortNumber(bin.from)} to ${shortNumber(bin.to)}: ${count.format(bin.count)}`).join("; ");
  const { holder } = usePlot(
    () => {
      const n = bins.length;
      const edges = n > 0 ? [...bins.map((bin) => bin.from), bins.at(-1)!.to] : [];
      // Every edge when they fit, every other one past six bins.
      const edgeEvery = n > 6 ? 2 : 1;
      const largest = Math.max(1, ...bins.map((bin) => bin.count));
      const writeCounts = (chart: uPlot) => {
        const ratio = devicePixelRatio;
        const { ctx } = chart;
        ctx.save();
        ctx.font = `${Math.round(12 * ratio)}px ${FONT}`;
        ctx.fillStyle = INK.text;
        ctx.textAlign = "center";
        ctx.textBaseline = "bottom";
        bins.forEach((bin, i) => ctx.fillText(count.format(bin.count), chart.valToPos(i + 0.5, "x", true), chart.valToPos(bin.count, "y", true) - 3 * ratio));
        ctx.restore();
      };
      return {
        options: {
          legend: { show: false },
          cursor: { show: false },
          padding: [18, 16, 0, 16],
          scales: { x: { time: false, range: [0, Math.max(1, n)] }, y: { range: [0, largest * 1.2] } },
          axes: [
            {
              ...AXIS,
              size: 24,
              grid: { show: false },
              splits: () => edges.map((_, i) => i),
              values: (_chart, splits) => splits.map((i) => (i % edgeEvery === 0 || i === n ? shortNumber(edges[i]!) : "")),
            },
            { show: false },
          ],
          series: [{}, { label: "values", fill: INK.fill, stroke: INK.accent, width: 1, points: { show: false }, paths: uPlot.paths.bars!({ size: [1, Infinity], gap: 2 }) }],
          hooks: { draw: [writeCounts] },
        },
        data: [bins.map((_, i) => i + 0.5), bins.map((bin) => bin.count)],
      };
    },
    HISTOGRAM_HEIGHT,
    [bins],
  );
  return <div class="histogram" ref={holder} role="img" aria-label={`${title}: ${described}`} />;
}

/** How a series is told apart: its colour, and its dash for whoever does not see the colour. */
export interface Look {
  color: string;
  /** Dash and gap lengths in pixels; a solid line without. */
  dash?: number[];
}

/** Looks for series with none of their own, in turn: no two share a dash. */
export const LOOKS: readonly Look[] = [
  { color: "#1d4ed8" },
  { color: "#b45309", dash: [7, 4] },
  { color: "#15803d", dash: [2, 3] },
  { color: "#7c3aed", dash: [10, 3, 2, 3] },
  { color: "#be123c", dash: [4, 4] },
  { color: "#1a1d23", dash: [1, 5] },
];

export interface Series {
  name: string;
  /** One value per bucket; null where there is none (the line breaks there). */
  values: readonly (number | null)[];
  look: Look;
}

/** A page-wide chart, or a small one in a card; `labels` is about how many bucket names fit along the bottom. */
const SIZES = { wide: { height: 240, labels: 8 }, small: { height: 180, labels: 3 } };
/** Axis steps of 1, 2 or 5 times a power of ten, from 1e-10 to 5e9 ($0.0005, never $0.000075). */
const NICE_STEPS = Array.from({ length: 60 }, (_, i) => Number(([1, 2, 5][i % 3]! * 10 ** (Math.floor(i / 3) - 10)).toPrecision(1)));
/** The whole ones: for counts (never "0.5 calls"), and between bucket names by default. */
const WHOLE_STEPS = NICE_STEPS.filter((step) => step >= 1);

/**
 * Lines over buckets sharing one axis from 0, bucket i at x = i. Pointing at the chart (or focusing it and using the
 * arrow keys) moves uPlot's cursor to a bucket and shows every series' value there in the readout above it.
 */
export function LineChart({
  title,
  labels,
  series,
  format = (value) => count.format(value),
  tick = (label) => label,
  describe = (label) => label,
  steps = WHOLE_STEPS,
  size = "wide",
}: {
  title: string;
  /** One per bucket, in order. */
  labels: readonly string[];
  series: readonly Series[];
  format?: (value: number) => string;
  /** The bucket's name along the axis ("Dec 1"), where names are `step` buckets apart. */
  tick?: (label: string, step: number) => string;
  /** The bucket's name in the readout ("Tue, Dec 1, 2026"). */
  describe?: (label: string) => string;
  /** How many buckets apart the names along the bottom may be, smallest first (for hours: 1, 3, 6, 12, 24 …). */
  steps?: number[];
  size?: keyof typeof SIZES;
}) {
  const frame = SIZES[size];
  const n = labels.length;
  const [active, setActive] = useState<number | undefined>(undefined);
  // A page step for the keyboard: about the gap between two names along the bottom.
  const every = Math.max(1, Math.ceil(n / frame.labels));
  const data = useMemo(() => [labels.map((_, i) => i), ...series.map((line) => line.values as (number | null)[])] satisfies uPlot.AlignedData, [labels, series]);

  const { holder, plot } = usePlot(
    () => {
      // A new chart has no cursor yet: the readout starts over with it.
      setActive(undefined);
      const whole = series.every((line) => line.values.every((value) => value === null || Number.isInteger(value)));
      const longest = CHAR * labels.reduce((most, label) => Math.max(most, tick(label, 1).length), 0);
      return {
        options: {
          legend: { show: false },
          // A vertical rule on the bucket pointed at; no zooming by dragging.
          cursor: { y: false, drag: { x: false, y: false, setScale: false }, points: { size: 7 } },
          // Room on the right for half the last name along the bottom, centred on the last bucket.
          padding: [12, Math.max(16, longest / 2), 0, 0],
          scales: {
            x: { time: false, range: (_chart, min, max) => (min === max ? [min - 0.5, max + 0.5] : [min, max]) },
            y: { range: (_chart, _min, max) => (max > 0 ? uPlot.rangeNum(0, max, 0.1, true) : [0, 1]) },
          },
          axes: [
            {
              ...AXIS,
              grid: { show: false },
              size: 30,
              space: longest + 24,
              incrs: steps,
              values: (_chart, splits, _axis, _space, step) => splits.map((i) => (labels[i] === undefined ? "" : tick(labels[i], step))),
            },
            {
              ...AXIS,
              grid: { stroke: INK.line, width: 1 },
              incrs: whole ? WHOLE_STEPS : NICE_STEPS,
              values: (_chart, splits) => splits.map(format),
              size: (_chart, values) => 16 + CHAR * Math.max(3, ...(values ?? []).map((value) => value.length)),
            },
          ],
          series: [{}, ...series.map((line) => ({ label: line.name, stroke: line.look.color, dash: line.look.dash, width: 2 }))],
          hooks: { setCursor: [(chart: uPlot) => setActive(chart.cursor.idx ?? undefined)] },
        },
        data,
      };
    },
    frame.height,
    [data, size],
  );

  const onKey = (event: KeyboardEvent) => {
    const chart = plot.current;
    const moves: Record<string, number> = { ArrowLeft: -1, ArrowRight: 1, Home: -n, End: n, PageUp: -every, PageDown: every };
    const move = moves[event.key];
    if (move === undefined || n === 0 || !chart) return;
    event.preventDefault();
    const next = Math.min(n - 1, Math.max(0, (chart.cursor.idx ?? (move > 0 ? -1 : n)) + move));
    // The cursor is placed as the pointer would place it; uPlot's setCursor hook then updates the readout.
    chart.setCursor({ left: chart.valToPos(next, "x"), top: chart.over.clientHeight / 2 });
  };

  return (
    <figure class={`line-chart ${size}`}>
      <figcaption>
        <span class="chart-title">{title}</span>
        <ul class="legend">
          {series.map((line) => (
            <li key={line.name}>
              <svg width="28" height="10" aria-hidden="true">
                <line x1="0" x2="28" y1="5" y2="5" stroke={line.look.color} stroke-width="2.5" stroke-dasharray={line.look.dash?.join(" ")} />
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
      <div class="plot" ref={holder} role="img" tabindex={0} aria-label={`${title}, ${n} buckets; use the arrow keys to read each`} onKeyDown={onKey} />
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
