// report.html: one self-contained page (inline CSS and SVG, no script, no external assets) for reading a run.
// Every piece of dataset and model text is escaped: transcripts and answers are untrusted.
import { integer, milliseconds, percent, points, usd } from "./format.js";
import type { FieldResult, ItemResult, Report } from "./report-schema.js";

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

function card(label: string, value: string, detail: string, tone = ""): Html {
  return html`<div class="card ${tone}"><div class="label">${label}</div><div class="value">${value}</div><div class="detail">${detail}</div></div>`;
}

function cards(report: Report): Html {
  const { overall, latency_ms: latency, usage, failed, comparison } = report;
  const judge = report.summary_judge;
  return html`<section class="cards">
    ${card("Accuracy", percent(overall.accuracy), `${overall.correct} of ${overall.fields} fields${comparison ? ` · ${points(comparison.overall.delta)} vs baseline` : ""}`, rateClass(overall.accuracy))}
    ${card("Hallucination rate", percent(overall.hallucination_rate), `${overall.hallucinations} of ${overall.null_labels} null labels`)}
    ${card("Miss rate", percent(overall.miss_rate), `${overall.misses} of ${overall.value_labels} value labels`)}
    ${card("Wrong values", String(overall.wrong), "non-null answers that differ from a non-null label")}
    ${card("Schema valid", percent(overall.schema_valid_rate), `${failed.count} failed call(s)${failed.count ? `: ${Object.entries(failed.by_code).map(([c, n]) => `${c} ×${n}`).join(", ")}` : ""}`, failed.count ? "poor" : "")}
    ${card("Latency p50", milliseconds(latency.p50), `p95 ${milliseconds(latency.p95)} · max ${milliseconds(latency.max)} per call`)}
    ${card("Cost", usd(usage.cost_usd), usage.note ?? `${integer(usage.prompt_tokens)} prompt + ${integer(usage.completion_tokens)} completion tokens`)}
    ${judge ? card("Summary judge", percent(judge.accuracy), `${judge.passed} of ${judge.judged} passed (${judge.model})${judge.errors ? ` · ${judge.errors} judge errors` : ""}`, rateClass(judge.accuracy)) : ""}
  </section>`;
}

function comparisonBanner(report: Report): Html | "" {
  const comparison = report.comparison;
  if (!comparison) return "";
  const { overall } = comparison;
  return html`<p class="banner ${comparison.regressed ? "poor" : "good"}">${comparison.regressed ? "Regression" : "No regression"}:
    overall accuracy ${percent(overall.current)} against ${percent(overall.baseline)} in <code>${comparison.baseline}</code>
    (${points(overall.delta)}; the gate allows a drop of ${(comparison.max_drop * 100).toFixed(1)} pt).</p>`;
}

/**
 * Horizontal bars, worst variable first; a tick marks the baseline's accuracy when comparing. Variables at 100%
 * that did not move are folded into one line: with hundreds of variables, the ones that need work stay in view.
 */
function variableChart(report: Report): Html {
  const baseline = report.comparison?.by_variable ?? {};
  const moved = (name: string) => (baseline[name]?.delta ?? 0) !== 0;
  const all = Object.entries(report.by_variable).sort(([an, a], [bn, b]) => (a.accuracy ?? 2) - (b.accuracy ?? 2) || an.localeCompare(bn));
  const rows = all.filter(([name, stats]) => stats.accuracy !== 1 || moved(name));
  const folded = all.length - rows.length;
  if (rows.length === 0) return html`<p class="muted">All ${folded} variables at 100%${report.comparison ? ", unchanged" : ""}.</p>`;
  const [labelWidth, barWidth, rowHeight, top] = [230, 560, 18, 22];
  const width = labelWidth + barWidth + 300;
  const height = top + (rows.length + (folded ? 1 : 0)) * rowHeight + 8;
  const grid = [0, 0.25, 0.5, 0.75, 1].map(
    (x) => html`<line x1="${labelWidth + x * barWidth}" y1="${top - 6}" x2="${labelWidth + x * barWidth}" y2="${top + rows.length * rowHeight}" class="grid"/>
      <text x="${labelWidth + x * barWidth}" y="${top - 10}" class="axis" text-anchor="middle">${x * 100}%</text>`,
  );
  const bars = rows.map(([name, stats], i) => {
    const y = top + i * rowHeight;
    const accuracy = stats.accuracy ?? 0;
    const before = baseline[name]?.baseline;
    return html`<g><title>${name} (${stats.type}): ${percent(stats.accuracy)} of ${stats.n}; wrong ${stats.wrong}, hallucinations ${stats.hallucinations}, misses ${stats.misses}, failed ${stats.failed}</title>
      <text x="${labelWidth - 8}" y="${y + 13}" text-anchor="end" class="name">${name}</text>
      <rect x="${labelWidth}" y="${y + 3}" width="${barWidth}" height="${rowHeight - 6}" class="track"/>
      <rect x="${labelWidth}" y="${y + 3}" width="${(accuracy * barWidth).toFixed(1)}" height="${rowHeight - 6}" fill="${BAR_COLOR[rateClass(stats.accuracy)]!}"/>
      ${typeof before === "number" ? html`<line x1="${labelWidth + before * barWidth}" x2="${labelWidth + before * barWidth}" y1="${y + 1}" y2="${y + rowHeight - 1}" class="baseline"/>` : ""}
      <text x="${labelWidth + barWidth + 8}" y="${y + 13}" class="value">${percent(stats.accuracy)} · n ${stats.n}${stats.wrong ? ` · ${stats.wrong} wrong` : ""}${stats.hallucinations ? ` · ${stats.hallucinations} halluc.` : ""}${stats.misses ? ` · ${stats.misses} missed` : ""}${stats.failed ? ` · ${stats.failed} failed` : ""}</text>
    </g>`;
  });
  const foldedLine = folded
    ? html`<text x="${labelWidth}" y="${top + rows.length * rowHeight + 13}" class="axis">+ ${folded} variable(s) at 100%${report.comparison ? ", unchanged" : ""} (listed under By variable)</text>`
    : "";
  return html`<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Accuracy by variable" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">${grid}${bars}${foldedLine}</svg>`;
}

function table(header: readonly string[], rows: readonly Html[], className = ""): Html {
  return html`<table class="${className}"><thead><tr>${header.map((h) => html`<th>${h}</th>`)}</tr></thead><tbody>${rows}</tbody></table>`;
}

function scenarioTable(report: Report): Html {
  const baseline = report.comparison?.by_scenario;
  const rows = Object.entries(report.by_scenario).map(
    ([name, s]) => html`<tr><td>${name}</td><td>${s.items}</td><td>${s.fields}</td><td class="${rateClass(s.accuracy)}">${percent(s.accuracy)}</td>
      ${baseline ? html`<td>${points(baseline[name]?.delta)}</td>` : ""}<td>${percent(s.hallucination_rate)}</td><td>${percent(s.miss_rate)}</td><td>${s.failed_items}</td></tr>`,
  );
  return table(["scenario", "calls", "fields", "accuracy", ...(baseline ? ["vs baseline"] : []), "halluc. rate", "miss rate", "failed calls"], rows, "num");
}

function variableTable(report: Report): Html {
  const baseline = report.comparison?.by_variable;
  const rows = Object.entries(report.by_variable).map(
    ([name, v]) => html`<tr><td>${name}</td><td>${v.type}</td><td>${v.n}</td><td class="${rateClass(v.accuracy)}">${percent(v.accuracy)}</td>
      ${baseline ? html`<td>${points(baseline[name]?.delta)}</td>` : ""}<td>${v.wrong}</td><td>${v.hallucinations}</td><td>${v.misses}</td><td>${v.failed}</td>
      <td>${v.mean_f1 === undefined ? "" : v.mean_f1.toFixed(2)}</td></tr>`,
  );
  return table(["variable", "type", "n", "accuracy", ...(baseline ? ["vs baseline"] : []), "wrong", "halluc.", "missed", "failed", "mean F1"], rows, "num");
}

function failuresTable(report: Report): Html | "" {
  const failed = report.items.map((item, index) => ({ item, index })).filter(({ item }) => item.status === "failed");
  if (failed.length === 0) return "";
  const rows = failed.map(
    ({ item, index }) => html`<tr><td><a href="#item-${index}">${item.id}</a></td><td>${item.scenario}</td><td><code>${item.error?.code}</code></td><td class="text">${item.error?.message}</td></tr>`,
  );
  return html`<section><h2>Failed calls</h2>${table(["call", "scenario", "code", "message"], rows)}</section>`;
}

function judgeNote(item: ItemResult): Html | "" {
  const judgement = item.summary_judge;
  if (!judgement) return "";
  if ("error" in judgement) return html` <span class="tag none">judge error: ${judgement.error.code}</span>`;
  return html` <span class="tag ${judgement.pass ? "good" : "poor"}">${judgement.pass ? "judge: pass" : "judge: fail"}</span> <span class="muted">${judgement.reason}</span>`;
}

function itemSection(item: ItemResult, index: number): Html {
  const clean = item.status === "ok" && item.fields.every((field) => field.outcome === "correct");
  const rows = item.fields.map(
    (field) => html`<tr class="o-${field.outcome}"><td>${field.name}</td><td class="muted">${field.type}</td><td>${formatValue(field.expected)}</td>
      <td>${field.outcome === "failed" ? html`<span class="null">–</span>` : formatValue(field.predicted)}</td>
      <td><span class="outcome">${OUTCOME_LABEL[field.outcome]}</span>${field.f1 !== undefined && field.outcome !== "correct" && field.f1 > 0 ? html` <span class="muted">F1 ${field.f1.toFixed(2)}</span>` : ""}</td></tr>`,
  );
  const lines = item.transcript.split("\n").length;
  return html`<article class="item ${clean ? "clean" : "dirty"}" id="item-${index}">
    <h3><span class="id">${item.id}</span> <span class="tag">${item.scenario}</span> <span class="tag ${item.status === "failed" ? "poor" : rateClass(item.accuracy)}">${item.status === "failed" ? "failed" : percent(item.accuracy)}</span>
      <span class="muted">${item.source}${item.latency_ms !== undefined ? ` · ${milliseconds(item.latency_ms)}` : ""}${item.chunks && item.chunks > 1 ? ` · ${item.chunks} chunks` : ""}${item.attempts && item.attempts > 1 ? ` · ${item.attempts} attempts` : ""}</span></h3>
    ${item.error ? html`<p class="error"><code>${item.error.code}</code> ${item.error.message}</p>` : ""}
    ${table(["variable", "type", "expected", "predicted", "outcome"], rows, "diff")}
    ${item.status === "ok" ? html`<p class="summary"><b>Summary</b> ${item.summary === null || item.summary === undefined ? html`<span class="null">null</span>` : item.summary}${judgeNote(item)}</p>` : ""}
    ${item.notes ? html`<p class="notes"><b>Label notes</b> ${item.notes}</p>` : ""}
    <details><summary>Transcript (${lines} lines)</summary><pre>${item.transcript}</pre></details>
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
.cards{display:grid;grid-template-columns:repeat(4,1fr);gap:10px}
.card{background:#fff;border:1px solid #e2e8f0;border-left:4px solid #cbd5e0;border-radius:6px;padding:10px 12px}
.card .label{font-size:12px;color:#718096;text-transform:uppercase;letter-spacing:.04em}.card .value{font-size:24px;font-weight:600}.card .detail{font-size:12px;color:#4a5568}
.card.good{border-left-color:#2f855a}.card.fair{border-left-color:#d69e2e}.card.poor{border-left-color:#c53030}
.banner{padding:10px 14px;border-radius:6px;margin:14px 0 0}.banner.good{background:#f0fff4;border:1px solid #9ae6b4}.banner.poor{background:#fff5f5;border:1px solid #feb2b2}
svg text{font:12px system-ui,sans-serif;fill:#2d3748}svg .axis{fill:#718096;font-size:11px}svg .grid{stroke:#e2e8f0}svg .track{fill:#edf2f7}svg .baseline{stroke:#1a202c;stroke-width:2}svg .value{fill:#4a5568}
.chart{background:#fff;border:1px solid #e2e8f0;border-radius:6px;padding:10px;overflow-x:auto}
table{border-collapse:collapse;background:#fff;border:1px solid #e2e8f0;width:100%}
th,td{padding:4px 8px;border-bottom:1px solid #edf2f7;text-align:left;vertical-align:top}th{background:#edf2f7;font-weight:600;font-size:12px}
table.num td:not(:first-child):not(:nth-child(2)){font-variant-numeric:tabular-nums}
td.good{color:#276749;font-weight:600}td.fair{color:#975a16;font-weight:600}td.poor{color:#c53030;font-weight:600}
.tag{font-size:12px;padding:1px 7px;border-radius:10px;background:#edf2f7;color:#4a5568;font-weight:500}
.tag.good{background:#c6f6d5;color:#22543d}.tag.fair{background:#fefcbf;color:#744210}.tag.poor{background:#fed7d7;color:#822727}
.item{background:#fff;border:1px solid #e2e8f0;border-radius:6px;padding:12px 14px;margin:0 0 12px}
.item .id{font-family:ui-monospace,Menlo,monospace}h3 .muted{font-weight:400;font-size:13px}
table.diff{table-layout:fixed}table.diff th:nth-child(1){width:22%}table.diff th:nth-child(2){width:9%}table.diff th:nth-child(5){width:16%}
table.diff td{overflow-wrap:anywhere}
tr.o-wrong td{background:#fff5f5}tr.o-wrong .outcome{color:#c53030;font-weight:600}
tr.o-hallucination td{background:#fffaf0}tr.o-hallucination .outcome{color:#c05621;font-weight:600}
tr.o-miss td{background:#faf5ff}tr.o-miss .outcome{color:#6b46c1;font-weight:600}
tr.o-failed td{background:#f7fafc;color:#718096}tr.o-correct .outcome{color:#2f855a}
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
  const { run } = report;
  const title = `Debrief eval · ${run.model} · ${run.started_at}`;
  const dirty = report.items.filter((item) => item.status === "failed" || item.fields.some((f) => f.outcome !== "correct")).length;
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title><style>${new Html(CSS)}</style></head>
<body>
<header><h1>Debrief eval</h1>
<p class="meta">model <code>${run.model}</code> · prompt <code>${run.prompt_version}</code> · ${run.structured_output} · ${run.datasets.join(", ")} · ${run.started_at}
 · number tolerance ${run.number_tolerance} · string threshold ${run.string_threshold}</p></header>
${cards(report)}
${comparisonBanner(report)}
<section><h2>Accuracy by variable</h2><div class="chart">${variableChart(report)}</div></section>
<section><h2>By scenario</h2>${scenarioTable(report)}</section>
<section><h2>By variable</h2><details><summary>Counts${report.comparison ? ", deltas" : ""} and F1 for all ${Object.keys(report.by_variable).length} variables</summary>${variableTable(report)}</details></section>
${failuresTable(report)}
<section><h2>Calls (${report.items.length}; ${dirty} with an error)</h2>
<input type="checkbox" id="only-errors"><label class="filter" for="only-errors">Show only calls with an error</label>
<div class="items">${report.items.map(itemSection)}</div></section>
<section><h2>How to read these numbers</h2>${definitions(report)}</section>
</body></html>
`.text;
}
