// The terminal view of a report: overall numbers, a per-variable and a per-scenario table, and the comparison.
import { integer, milliseconds, percent, points, usd } from "./format.js";
import type { Comparison, Report } from "./report-schema.js";

/** Plain aligned columns: the first left-aligned, the rest right-aligned. */
export function textTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((cell, i) => Math.max(cell.length, ...rows.map((row) => (row[i] ?? "").length)));
  const line = (row: readonly string[]) =>
    row
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), widths.map((w) => "─".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

const ofWhole = (part: number, whole: number) => `(${part}/${whole})`;

export function renderOverall(report: Report): string {
  const { overall, run, usage, latency_ms: latency } = report;
  const lines = [
    `Debrief eval · ${run.model} · ${overall.items} calls · ${overall.fields} fields · prompt ${run.prompt_version}`,
    `  accuracy            ${percent(overall.accuracy).padStart(6)}  ${ofWhole(overall.correct, overall.fields)}`,
    `  hallucination rate  ${percent(overall.hallucination_rate).padStart(6)}  ${ofWhole(overall.hallucinations, overall.null_labels)} of null labels`,
    `  miss rate           ${percent(overall.miss_rate).padStart(6)}  ${ofWhole(overall.misses, overall.value_labels)} of value labels`,
    `  wrong values        ${String(overall.wrong).padStart(6)}`,
    `  schema valid        ${percent(overall.schema_valid_rate).padStart(6)}  failed calls: ${report.failed.count}${
      report.failed.count ? ` (${Object.entries(report.failed.by_code).map(([code, n]) => `${code} ×${n}`).join(", ")})` : ""
    }`,
    `  latency             p50 ${milliseconds(latency.p50)} · p95 ${milliseconds(latency.p95)}`,
    `  tokens              ${integer(usage.prompt_tokens)} prompt · ${integer(usage.completion_tokens)} completion · ${usd(usage.cost_usd)}${usage.note ? ` (${usage.note})` : ""}`,
  ];
  const judge = report.summary_judge;
  if (judge) {
    lines.push(`  summary judge       ${percent(judge.accuracy).padStart(6)}  ${ofWhole(judge.passed, judge.judged)} by ${judge.model}${judge.errors ? `, ${judge.errors} judge error(s)` : ""}`);
  }
  return lines.join("\n");
}

export function renderVariableTable(report: Report): string {
  const rows = Object.entries(report.by_variable).map(([name, v]) => [
    name,
    v.type,
    String(v.n),
    percent(v.accuracy),
    String(v.wrong),
    String(v.hallucinations),
    String(v.misses),
    String(v.failed),
  ]);
  return textTable(["variable", "type", "n", "accuracy", "wrong", "halluc.", "missed", "failed"], rows);
}

export function renderScenarioTable(report: Report): string {
  const rows = Object.entries(report.by_scenario).map(([name, s]) => [
    name,
    String(s.items),
    String(s.fields),
    percent(s.accuracy),
    percent(s.hallucination_rate),
    percent(s.miss_rate),
    String(s.failed_items),
  ]);
  return textTable(["scenario", "calls", "fields", "accuracy", "halluc. rate", "miss rate", "failed"], rows);
}

/** Changed variables only (a long list of ±0 hides the ones that moved), then the verdict of the gate. */
export function renderComparison(comparison: Comparison): string {
  const changed = Object.entries(comparison.by_variable).filter(([, d]) => d.delta === null || Math.abs(d.delta) > 1e-9);
  const unchanged = Object.keys(comparison.by_variable).length - changed.length;
  changed.sort(([, a], [, b]) => (a.delta ?? 0) - (b.delta ?? 0));
  const rows = changed.map(([name, d]) => [name, percent(d.baseline), percent(d.current), points(d.delta)]);
  const { overall } = comparison;
  const verdict = comparison.regressed
    ? `REGRESSION: overall accuracy fell ${points(overall.delta)} (allowed drop ${(comparison.max_drop * 100).toFixed(1)} pt)`
    : `OK: overall accuracy ${points(overall.delta)} (allowed drop ${(comparison.max_drop * 100).toFixed(1)} pt)`;
  return [
    `Compared with ${comparison.baseline}`,
    textTable(["", "baseline", "current", "change"], [["overall", percent(overall.baseline), percent(overall.current), points(overall.delta)], ...rows]),
    unchanged > 0 ? `${unchanged} variable(s) unchanged` : "",
    verdict,
  ]
    .filter(Boolean)
    .join("\n");
}

export function renderTerminalReport(report: Report): string {
  return [renderOverall(report), renderScenarioTable(report), renderVariableTable(report)].join("\n\n");
}
