// report.html: one self-contained page (inline CSS and SVG, no script, no external assets) for reading a run:
// the models side by side, then every table in full, then each call with every model's answers beside the labels.
// Every piece of dataset and model text is escaped: transcripts and answers are untrusted.
import { integer, milliseconds, percent, points, usd } from "./format.js";
import type { CallInfo, FieldResult, GroupStats, ItemResult, ModelComparison, ModelResult, Report } from "./report-schema.js";

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ESCAPES[char]!);
}

/** Tagged template: interpolated values are escaped unless they are already-rendered Html. */
class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

type Part = Html | string | number | null | undefined | false | readonly Part[];

function render(part: Part): string {
  if (part === null || part === undefined || part === false) return "";
  if (part instanceof Html) return part.text;
  if (Array.isArray(part)) return part.map(render).join("");
  return escapeHtml(String(part));
}

function html(strings: TemplateStringsArray, ...parts: Part[]): Html {
  return new Html(strings.reduce((out, chunk, i) => out + chunk + (i < parts.length ? render(parts[i]!) : ""), ""));
}

function rateClass(rate: number | null | undefined): string {
  if (rate === null || rate === undefined) return "none";
  return rate >= 0.95 ? "good" : rate >= 0.8 ? "fair" : "poor";
}

const BAR_COLOR: Record<string, string> = { good: "#2f855a", fair: "#d69e2e", poor: "#c53030", none: "#a0aec0" };
/** One color per model when several share a chart (up to eight, then they repeat). */
const MODEL_COLORS = ["#2b6cb0", "#dd6b20", "#2f855a", "#805ad5", "#c53030", "#319795", "#b7791f", "#4a5568"];

function formatValue(value: unknown): Html {
  if (value === null || value === undefined) return html`<span class="null">null</span>`;
  if (Array.isArray(value)) return html`<span class="list">[${value.map((v, i) => html`${i ? ", " : ""}${typeof v === "string" ? v : JSON.stringify(v)}`)}]</span>`;
  if (typeof value === "string") return html`${value}`;
  return html`<code>${JSON.stringify(value)}</code>`;
}

const OUTCOME_LABEL: Record<FieldResult["outcome"], string> = {
  correct: "correct",
  wrong: "wrong",
  hallucination: "hallucination",
  miss: "miss",
  failed: "call failed",
};

/** A rate with the counts it comes from underneath. */
function rateCell(rate: number | null | undefined, part: number, whole: number, tone = true): Html {
  return html`<td class="${tone ? rateClass(rate) : ""}">${percent(rate)}<small>${part} / ${whole}</small></td>`;
}

function table(header: readonly (string | Html)[], rows: readonly Html[], className = ""): Html {
  return html`<table class="${className}"><thead><tr>${header.map((h) => html`<th>${h}</th>`)}</tr></thead><tbody>${rows}</tbody></table>`;
}

function comparisonFor(report: Report, model: string): ModelComparison | undefined {
  return report.comparison?.models.find((m) => m.model === model);
}

/** The side-by-side table: one row per model, every figure of the issue's matrix. */
function modelTable(report: Report): Html {
  const judged = report.models.some((model) => model.summary_judge);
  const compared = Boolean(report.comparison);
  const rows = report.models.map((model, index) => {
    const { overall, latency_ms: latency, usage, failed } = model;
    const spend = model.per_1000_calls;
    const judge = model.summary_judge;
    const change = comparisonFor(report, model.model);
    const jointCalls = model.items.filter((item) => item.all_correct !== null);
    return html`<tr><td>${report.models.length > 1 ? html`<span class="swatch" style="background:${MODEL_COLORS[index % MODEL_COLORS.length]!}"></span>` : ""}<code>${model.model}</code></td>
      ${rateCell(overall.accuracy, overall.correct, overall.fields)}
      ${rateCell(overall.hallucination_rate, overall.hallucinations, overall.null_labels, false)}
      ${rateCell(overall.miss_rate, overall.misses, overall.value_labels, false)}
      <td>${overall.wrong}</td>
      ${rateCell(overall.joint_accuracy, jointCalls.filter((item) => item.all_correct).length, jointCalls.length)}
      <td class="${failed.count ? "poor" : ""}">${percent(overall.schema_valid_rate)}<small>${failed.count ? Object.entries(failed.by_code).map(([c, n]) => `${c} ×${n}`).join(", ") : "no failed call"}</small></td>
      <td>${milliseconds(latency.p50)}<small>p95 ${milliseconds(latency.p95)}</small></td>
      <td>${spend ? integer(Math.round(spend.prompt_tokens)) : "–"}<small>+ ${spend ? integer(Math.round(spend.completion_tokens)) : "–"} completion</small></td>
      <td>${spend ? (spend.cost_usd === null ? "no price" : usd(spend.cost_usd)) : "–"}<small>run: ${usage.cost_usd === null ? "tokens only" : usd(usage.cost_usd)}</small></td>
      ${judged ? (judge ? rateCell(judge.accuracy, judge.passed, judge.judged) : html`<td>–</td>`) : ""}
      ${compared ? html`<td class="${change?.regressed ? "poor" : ""}">${change ? points(change.overall.delta) : "not in baseline"}${change && change.baseline_model !== model.model ? html`<small>vs ${change.baseline_model}</small>` : ""}</td>` : ""}
    </tr>`;
  });
  const header = [
    "model",
    "accuracy",
    "hallucination rate",
    "miss rate",
    "wrong",
    "calls with every field right",
    "schema valid",
    "latency p50",
    "prompt tokens / 1k calls",
    "cost / 1k calls",
    ...(judged ? ["summary judge"] : []),
    ...(compared ? ["vs baseline"] : []),
  ];
  const notes = report.models.filter((model) => model.usage.note).map((model) => html`<p class="muted">${model.model}: ${model.usage.note}</p>`);
  return html`${table(header, rows, "num models")}${notes}`;
}

function comparisonBanner(report: Report): Html | "" {
  const comparison = report.comparison;
  if (!comparison) return "";
  const regressed = comparison.models.filter((m) => m.regressed);
  return html`<p class="banner ${comparison.regressed ? "poor" : "good"}">${comparison.regressed ? "Regression" : "No regression"} against
    <code>${comparison.baseline}</code>: ${
      regressed.length
        ? regressed.map((m, i) => html`${i ? "; " : ""}${m.model} fell ${points(m.overall.delta)} (${percent(m.overall.baseline)} → ${percent(m.overall.current)})`)
        : comparison.models.map((m, i) => html`${i ? "; " : ""}${m.model} ${points(m.overall.delta)}`)
    }. The gate allows a drop of ${(comparison.max_drop * 100).toFixed(1)} pt.${
      comparison.unmatched.length ? html` Not in the baseline, so not gated: ${comparison.unmatched.join(", ")}.` : ""
    }</p>`;
}

/** Accuracy by confidence bucket, per model that reported confidence: is 0.9 right 90% of the time? */
function calibrationSection(report: Report): Html | "" {
  const models = report.models.filter((model) => model.calibration);
  if (models.length === 0) return "";
  const buckets = models[0]!.calibration!.buckets;
  const rows = buckets.map(
    (bucket, i) => html`<tr><td>${bucket.from.toFixed(2)} – ${bucket.to.toFixed(2)}</td>${models.map((model) => {
      const b = model.calibration!.buckets[i]!;
      const gap = b.accuracy === null || b.mean_confidence === null ? null : b.accuracy - b.mean_confidence;
      return html`<td>${b.n ? html`${percent(b.accuracy)}<small>n ${b.n} · mean ${b.mean_confidence!.toFixed(2)} · ${points(gap)}</small>` : html`<span class="null">–</span>`}</td>`;
    })}</tr>`,
  );
  const ece = html`<tr><td><b>ECE</b></td>${models.map((model) => html`<td>${model.calibration!.ece === null ? "–" : model.calibration!.ece.toFixed(3)}<small>${model.calibration!.fields} values</small></td>`)}</tr>`;
  return html`<section><h2>Accuracy by confidence</h2><p class="muted">Non-null answers grouped by the model's confidence in them; a calibrated model's 0.90–0.95 bucket is right 90–95% of the time.</p>
    ${table(["confidence", ...models.map((model) => html`<code>${model.model}</code>`)], [...rows, ece], "num")}</section>`;
}

/**
 * Horizontal bars, worst variable first, one bar per model; a tick marks the baseline's accuracy when comparing.
 * Variables at 100% on every model that did not move are folded into one line: the ones that need work stay in view.
 */
function variableChart(report: Report): Html {
  const { models } = report;
  const several = models.length > 1;
  const moved = (name: string) => models.some((model) => (comparisonFor(report, model.model)?.by_variable[name]?.delta ?? 0) !== 0);
  const lowest = (name: string) => Math.min(...models.map((model) => model.by_variable[name]?.accuracy ?? 2));
  const all = Object.keys(models[0]!.by_variable).sort((a, b) => lowest(a) - lowest(b) || a.localeCompare(b));
  const rows = all.filter((name) => lowest(name) !== 1 || moved(name));
  const folded = all.length - rows.length;
  const unchanged = report.comparison ? ", unchanged" : "";
  if (rows.length === 0) return html`<p class="muted">All ${folded} variables at 100%${unchanged}.</p>`;
  const [labelWidth, barWidth, barHeight, top] = [230, 520, 12, 22];
  const rowHeight = models.length * (barHeight + 3) + 6;
  const width = labelWidth + barWidth + 320;
  const height = top + rows.length * rowHeight + (folded ? rowHeight : 0) + 8;
  const grid = [0, 0.25, 0.5, 0.75, 1].map(
    (x) => html`<line x1="${labelWidth + x * barWidth}" y1="${top - 6}" x2="${labelWidth + x * barWidth}" y2="${top + rows.length * rowHeight}" class="grid"/>
      <text x="${labelWidth + x * barWidth}" y="${top - 10}" class="axis" text-anchor="middle">${x * 100}%</text>`,
  );
  const bars = rows.map((name, i) => {
    const y = top + i * rowHeight;
    return html`<g><text x="${labelWidth - 8}" y="${y + rowHeight / 2 + 4}" text-anchor="end" class="name">${name}</text>
      ${models.map((model, m) => {
        const stats = model.by_variable[name];
        if (!stats) return "";
        const by = y + 3 + m * (barHeight + 3);
        const before = comparisonFor(report, model.model)?.by_variable[name]?.baseline;
        const fill = several ? MODEL_COLORS[m % MODEL_COLORS.length]! : BAR_COLOR[rateClass(stats.accuracy)]!;
        return html`<g><title>${model.model} · ${name} (${stats.type}): ${percent(stats.accuracy)} of ${stats.n}; wrong ${stats.wrong}, hallucinations ${stats.hallucinations}, misses ${stats.misses}, failed ${stats.failed}</title>
        <rect x="${labelWidth}" y="${by}" width="${barWidth}" height="${barHeight}" class="track"/>
        <rect x="${labelWidth}" y="${by}" width="${((stats.accuracy ?? 0) * barWidth).toFixed(1)}" height="${barHeight}" fill="${fill}"/>
        ${typeof before === "number" ? html`<line x1="${labelWidth + before * barWidth}" x2="${labelWidth + before * barWidth}" y1="${by - 1}" y2="${by + barHeight + 1}" class="baseline"/>` : ""}
        <text x="${labelWidth + barWidth + 8}" y="${by + barHeight - 2}" class="value">${percent(stats.accuracy)} · n ${stats.n}${stats.wrong ? ` · ${stats.wrong} wrong` : ""}${stats.hallucinations ? ` · ${stats.hallucinations} halluc.` : ""}${stats.misses ? ` · ${stats.misses} missed` : ""}${stats.failed ? ` · ${stats.failed} failed` : ""}</text></g>`;
      })}</g>`;
  });
  const foldedLine = folded
    ? html`<text x="${labelWidth}" y="${top + rows.length * rowHeight + 13}" class="axis">+ ${folded} variable(s) at 100% on every model${unchanged} (listed under By variable)</text>`
    : "";
  return html`<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Accuracy by variable" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">${grid}${bars}${foldedLine}</svg>`;
}

/** Scenarios or tags: calls, then accuracy, joint accuracy and the two error rates for each model side by side. */
function groupTable(report: Report, pick: (model: ModelResult) => Record<string, GroupStats>, label: string, deltas?: (m: ModelComparison) => Record<string, { delta: number | null }>): Html {
  const names = Object.keys(pick(report.models[0]!));
  const compared = deltas && report.comparison;
  const rows = names.map(
    (name) => html`<tr><td>${name}</td><td>${pick(report.models[0]!)[name]!.items}</td>${report.models.map((model) => {
      const s = pick(model)[name]!;
      const change = compared ? comparisonFor(report, model.model) : undefined;
      return html`<td class="${rateClass(s.accuracy)}">${percent(s.accuracy)}<small>${s.correct} / ${s.fields}${compared ? ` · ${points(change ? deltas(change)[name]?.delta : null)}` : ""}</small></td>
        <td>${percent(s.joint_accuracy)}</td><td>${percent(s.hallucination_rate)}</td><td>${percent(s.miss_rate)}</td><td>${s.failed_items}</td>`;
    })}</tr>`,
  );
  const perModel = ["accuracy", "every field right", "halluc. rate", "miss rate", "failed calls"];
  const header = [label, "calls", ...report.models.flatMap((model) => perModel.map((h, i) => (i === 0 && report.models.length > 1 ? html`<code>${model.model}</code><br>${h}` : h)))];
  return table(header, rows, "num");
}

function variableTable(report: Report): Html {
  const first = report.models[0]!;
  const compared = Boolean(report.comparison);
  const rows = Object.entries(first.by_variable).map(
    ([name, v]) => html`<tr><td>${name}</td><td>${v.type}</td><td>${v.n}</td>${report.models.map((model) => {
      const s = model.by_variable[name]!;
      const change = comparisonFor(report, model.model)?.by_variable[name];
      return html`<td class="${rateClass(s.accuracy)}">${percent(s.accuracy)}${compared ? html`<small>${points(change?.delta)}</small>` : ""}</td>
        <td>${s.wrong}</td><td>${s.hallucinations}</td><td>${s.misses}</td><td>${s.failed}</td><td>${s.mean_f1 === undefined ? "" : s.mean_f1.toFixed(2)}</td>`;
    })}</tr>`,
  );
  const perModel = ["accuracy", "wrong", "halluc.", "missed", "failed", "mean F1"];
  const header = ["variable", "type", "n", ...report.models.flatMap((model) => perModel.map((h, i) => (i === 0 && report.models.length > 1 ? html`<code>${model.model}</code><br>${h}` : h)))];
  return table(header, rows, "num");
}

function failuresTable(report: Report, index: Map<string, number>): Html | "" {
  const failed = report.models.flatMap((model) => model.items.filter((item) => item.status === "failed").map((item) => ({ model: model.model, item })));
  if (failed.length === 0) return "";
  const calls = new Map(report.calls.map((call) => [call.id, call]));
  const rows = failed.map(
    ({ model, item }) =>
      html`<tr><td><a href="#item-${index.get(item.id) ?? 0}">${item.id}</a></td><td><code>${model}</code></td><td>${calls.get(item.id)?.scenario}</td><td><code>${item.error?.code}</code></td><td class="text">${item.error?.message}</td></tr>`,
  );
  return html`<section><h2>Failed calls</h2>${table(["call", "model", "scenario", "code", "message"], rows)}</section>`;
}

function judgeNote(item: ItemResult): Html | "" {
  const judgement = item.summary_judge;
  if (!judgement) return "";
  if ("error" in judgement) return html` <span class="tag none">judge error: ${judgement.error.code}</span>`;
  return html` <span class="tag ${judgement.pass ? "good" : "poor"}">${judgement.pass ? "judge: pass" : "judge: fail"}</span> <span class="muted">${judgement.reason}</span>`;
}

function predictedCell(field: FieldResult | undefined): Html {
  if (!field) return html`<td></td>`;
  const detail = [
    OUTCOME_LABEL[field.outcome],
    field.f1 !== undefined && field.outcome !== "correct" && field.f1 > 0 ? `F1 ${field.f1.toFixed(2)}` : "",
    field.confidence !== undefined ? `confidence ${field.confidence.toFixed(2)}` : "",
  ].filter(Boolean);
  return html`<td class="o-${field.outcome}">${field.outcome === "failed" ? html`<span class="null">–</span>` : formatValue(field.predicted)}<small class="outcome">${detail.join(" · ")}</small></td>`;
}

/** One call: expected beside what each model answered, wrong cells highlighted, the transcript one click away. */
function callSection(report: Report, call: CallInfo, index: number): Html {
  const results = report.models.map((model) => ({ model: model.model, item: model.items[index]! }));
  const clean = results.every(({ item }) => item.status === "ok" && item.fields.every((field) => field.outcome === "correct"));
  const several = results.length > 1;
  const fields = results[0]!.item.fields;
  const rows = fields.map(
    (field, f) => html`<tr><td>${field.name}</td><td class="muted">${field.type}</td><td>${formatValue(field.expected)}</td>${results.map(({ item }) => predictedCell(item.fields[f]))}</tr>`,
  );
  const tags = results.map(
    ({ model, item }) =>
      html`<span class="tag ${item.status === "failed" ? "poor" : rateClass(item.accuracy)}">${several ? `${model} ` : ""}${item.status === "failed" ? "failed" : percent(item.accuracy)}</span>`,
  );
  const meta = results
    .filter(({ item }) => item.latency_ms !== undefined)
    .map(({ model, item }) => `${several ? `${model} ` : ""}${milliseconds(item.latency_ms)}${item.chunks && item.chunks > 1 ? `, ${item.chunks} chunks` : ""}${item.attempts && item.attempts > 1 ? `, ${item.attempts} attempts` : ""}`)
    .join(" · ");
  const lines = call.transcript.split("\n").length;
  return html`<article class="item ${clean ? "clean" : "dirty"}" id="item-${index}">
    <h3><span class="id">${call.id}</span> <span class="tag">${call.scenario}</span>${call.tags.map((tag) => html` <span class="tag label">${tag}</span>`)}${call.provisional ? html` <span class="tag fair">provisional</span>` : ""} ${tags}
      <span class="muted">${call.source}${meta ? ` · ${meta}` : ""}</span></h3>
    ${results.filter(({ item }) => item.error).map(({ model, item }) => html`<p class="error">${several ? html`<code>${model}</code> ` : ""}<code>${item.error!.code}</code> ${item.error!.message}</p>`)}
    ${table(["variable", "type", "expected", ...results.map(({ model }) => (several ? html`<code>${model}</code>` : "predicted"))], rows, `diff cols-${results.length}`)}
    ${results
      .filter(({ item }) => item.status === "ok")
      .map(({ model, item }) => html`<p class="summary"><b>Summary${several ? html` <code>${model}</code>` : ""}</b> ${item.summary === null || item.summary === undefined ? html`<span class="null">null</span>` : item.summary}${judgeNote(item)}</p>`)}
    ${call.notes ? html`<p class="notes"><b>Label notes</b> ${call.notes}</p>` : ""}
    <details><summary>Transcript (${lines} lines)</summary><pre>${call.transcript}</pre></details>
  </article>`;
}

function definitions(report: Report): Html {
  return html`<dl class="definitions">${Object.entries(report.definitions).map(([term, text]) => html`<dt>${term}</dt><dd>${text}</dd>`)}</dl>`;
}

const CSS = `
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1a202c;background:#f7fafc;margin:0;padding:24px 32px;max-width:1240px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 10px}h3{font-size:15px;margin:0 0 8px;display:flex;gap:8px;align-items:baseline;flex-wrap:wrap}
.meta,.muted{color:#718096}.meta{margin:0 0 16px}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;background:#edf2f7;padding:1px 4px;border-radius:3px}
td small{display:block;font-size:11px;color:#718096;font-weight:400}
table.models td{font-size:15px}table.models td:first-child{white-space:nowrap}
.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px;vertical-align:middle}
.legend{margin:0 0 6px}
.banner{padding:10px 14px;border-radius:6px;margin:14px 0 0}.banner.good{background:#f0fff4;border:1px solid #9ae6b4}.banner.poor{background:#fff5f5;border:1px solid #feb2b2}
svg text{font:12px system-ui,sans-serif;fill:#2d3748}svg .axis{fill:#718096;font-size:11px}svg .value{font-size:11px}svg .grid{stroke:#e2e8f0}svg .track{fill:#edf2f7}svg .baseline{stroke:#1a202c;stroke-width:2}svg .value{fill:#4a5568}
.chart{background:#fff;border:1px solid #e2e8f0;border-radius:6px;padding:10px;overflow-x:auto}
table{border-collapse:collapse;background:#fff;border:1px solid #e2e8f0;width:100%}
th,td{padding:4px 8px;border-bottom:1px solid #edf2f7;text-align:left;vertical-align:top}th{background:#edf2f7;font-weight:600;font-size:12px}
table.num td:not(:first-child):not(:nth-child(2)){font-variant-numeric:tabular-nums}
td.good{color:#276749;font-weight:600}td.fair{color:#975a16;font-weight:600}td.poor{color:#c53030;font-weight:600}
.tag{font-size:12px;padding:1px 7px;border-radius:10px;background:#edf2f7;color:#4a5568;font-weight:500}
.tag.label{background:#ebf8ff;color:#2c5282}.tag.good{background:#c6f6d5;color:#22543d}.tag.fair{background:#fefcbf;color:#744210}.tag.poor{background:#fed7d7;color:#822727}
.item{background:#fff;border:1px solid #e2e8f0;border-radius:6px;padding:12px 14px;margin:0 0 12px}
.item .id{font-family:ui-monospace,Menlo,monospace}h3 .muted{font-weight:400;font-size:13px}
table.diff{table-layout:fixed}table.diff th:nth-child(1){width:20%}table.diff th:nth-child(2){width:8%}
table.diff td{overflow-wrap:anywhere}
td.o-wrong{background:#fff5f5}td.o-wrong .outcome{color:#c53030;font-weight:600}
td.o-hallucination{background:#fffaf0}td.o-hallucination .outcome{color:#c05621;font-weight:600}
td.o-miss{background:#faf5ff}td.o-miss .outcome{color:#6b46c1;font-weight:600}
td.o-failed{background:#f7fafc;color:#718096}td.o-correct .outcome{color:#2f855a}
.null{color:#a0aec0;font-style:italic}
.summary,.notes{margin:8px 0 0}.notes{color:#4a5568;font-size:13px}
.error{background:#fff5f5;border:1px solid #feb2b2;padding:6px 10px;border-radius:4px}
details{margin-top:8px}summary{cursor:pointer;color:#2b6cb0}
pre{white-space:pre-wrap;background:#f7fafc;border:1px solid #e2e8f0;padding:10px;border-radius:4px;font:12px/1.5 ui-monospace,Menlo,monospace;max-height:480px;overflow:auto}
.filter{display:inline-flex;gap:6px;align-items:center;margin:0 0 10px}
#only-errors:checked ~ .items .item.clean{display:none}
.definitions dt{font-weight:600;margin-top:6px}.definitions dd{margin:0 0 0 16px;color:#4a5568}
`;

export function renderHtml(report: Report): string {
  const { run, dataset } = report;
  const title = `Debrief eval · ${run.models.join(", ")} · ${run.started_at}`;
  const dirty = report.calls.filter((_, i) => report.models.some((model) => model.items[i]!.status === "failed" || model.items[i]!.fields.some((f) => f.outcome !== "correct"))).length;
  const index = new Map(report.calls.map((call, i) => [call.id, i]));
  const hasTags = Object.keys(report.models[0]!.by_tag).length > 0;
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title><style>${new Html(CSS)}</style></head>
<body>
<header><h1>Debrief eval</h1>
<p class="meta">${run.models.length} model${run.models.length > 1 ? "s" : ""} · ${dataset.items} calls${dataset.provisional_items ? ` (${dataset.provisional_items} provisional)` : ""} in ${dataset.scenarios} scenarios · prompt <code>${run.prompt_version}</code> · ${run.structured_output} · ${run.datasets.join(", ")} · ${run.started_at}
 · number tolerance ${run.number_tolerance} · string threshold ${run.string_threshold}${run.judge_model ? html` · summaries judged by <code>${run.judge_model}</code>` : ""}</p></header>
<section><h2>${run.models.length > 1 ? "Models side by side" : "Overall"}</h2>${modelTable(report)}</section>
${comparisonBanner(report)}
${calibrationSection(report)}
<section><h2>Accuracy by variable</h2>${run.models.length > 1 ? html`<p class="legend">${run.models.map((model, i) => html`<span class="swatch" style="background:${MODEL_COLORS[i % MODEL_COLORS.length]!}"></span><code>${model}</code> `)}</p>` : ""}<div class="chart">${variableChart(report)}</div></section>
<section><h2>By scenario</h2>${groupTable(report, (model) => model.by_scenario, "scenario", (m) => m.by_scenario)}</section>
${hasTags ? html`<section><h2>By tag</h2>${groupTable(report, (model) => model.by_tag, "tag")}</section>` : ""}
<section><h2>By variable</h2><details><summary>Counts${report.comparison ? ", deltas" : ""} and F1 for all ${Object.keys(report.models[0]!.by_variable).length} variables</summary>${variableTable(report)}</details></section>
${failuresTable(report, index)}
<section><h2>Calls (${report.calls.length}; ${dirty} with an error)</h2>
<input type="checkbox" id="only-errors"><label class="filter" for="only-errors">Show only calls with an error</label>
<div class="items">${report.calls.map((call, i) => callSection(report, call, i))}</div></section>
<section><h2>How to read these numbers</h2>${definitions(report)}</section>
</body></html>
`.text;
}
