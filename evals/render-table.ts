// The terminal view of a report, kept short: the models side by side, accuracy per scenario, the ten worst
// variables, and the comparison's verdict. Every table in full is in report.html.
import { integer, milliseconds, percent, points, usd } from "./format.js";
import type { Comparison, ModelResult, Report } from "./report-schema.js";

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

const WORST_VARIABLES = 10;
const MOVED_VARIABLES = 10;

function tokensPerThousand(model: ModelResult): string {
  const spend = model.per_1000_calls;
  return spend ? `${integer(Math.round(spend.prompt_tokens))} + ${integer(Math.round(spend.completion_tokens))}` : "–";
}

function costPerThousand(model: ModelResult): string {
  const spend = model.per_1000_calls;
  if (!spend) return "–";
  return spend.cost_usd === null ? "no price" : usd(spend.cost_usd);
}

export function renderHeader(report: Report): string {
  const { run, dataset } = report;
  const fields = report.models[0]!.overall.fields;
  const provisional = dataset.provisional_items ? ` (${dataset.provisional_items} provisional)` : "";
  return `Debrief eval · ${dataset.items} calls${provisional} · ${fields} fields · ${dataset.scenarios} scenarios · prompt ${run.prompt_version}`;
}

/** One row per model: the side-by-side table of the issue (accuracy, errors, joint accuracy, latency, spend). */
export function renderModelTable(report: Report): string {
  const judged = report.models.some((model) => model.summary_judge);
  const rows = report.models.map((model) => [
    model.model,
    percent(model.overall.accuracy),
    percent(model.overall.hallucination_rate),
    percent(model.overall.miss_rate),
    percent(model.overall.joint_accuracy),
    percent(model.overall.schema_valid_rate),
    milliseconds(model.latency_ms.p50),
    tokensPerThousand(model),
    costPerThousand(model),
    ...(judged ? [percent(model.summary_judge?.accuracy)] : []),
  ]);
  const header = ["model", "accuracy", "halluc.", "missed", "all right", "valid", "p50", "tokens / 1k calls", "cost / 1k calls", ...(judged ? ["summary judge"] : [])];
  const notes = report.models.flatMap((model) => {
    const lines: string[] = [];
    if (model.failed.count) {
      lines.push(`${model.model}: ${model.failed.count} failed call(s): ${Object.entries(model.failed.by_code).map(([code, n]) => `${code} ×${n}`).join(", ")}`);
    }
    if (model.usage.note) lines.push(`${model.model}: ${model.usage.note}`);
    return lines;
  });
  return [textTable(header, rows), ...notes].join("\n");
}

export function renderScenarioTable(report: Report): string {
  const names = Object.keys(report.models[0]!.by_scenario);
  const rows = names.map((name) => [
    name,
    String(report.models[0]!.by_scenario[name]!.items),
    ...report.models.map((model) => {
      const stats = model.by_scenario[name];
      return `${percent(stats?.accuracy)} (${percent(stats?.joint_accuracy)})`;
    }),
  ]);
  return `Accuracy by scenario (all fields right)\n${textTable(["scenario", "calls", ...report.models.map((model) => model.model)], rows)}`;
}

/** The variables with the lowest accuracy on any model, worst first; none when every variable is at 100%. */
export function worstVariables(report: Report, count = WORST_VARIABLES): string[] {
  const lowest = (name: string) => Math.min(...report.models.map((model) => model.by_variable[name]?.accuracy ?? 1));
  return Object.keys(report.models[0]!.by_variable)
    .filter((name) => lowest(name) < 1)
    .sort((a, b) => lowest(a) - lowest(b) || a.localeCompare(b))
    .slice(0, count);
}

export function renderWorstVariables(report: Report): string {
  const names = worstVariables(report);
  if (names.length === 0) return "Every variable at 100%.";
  const first = report.models[0]!;
  const rows = names.map((name) => [
    name,
    first.by_variable[name]!.type,
    String(first.by_variable[name]!.n),
    ...report.models.map((model) => percent(model.by_variable[name]?.accuracy)),
  ]);
  const total = Object.keys(first.by_variable).length;
  return `The ${names.length} worst of ${total} variables\n${textTable(["variable", "type", "n", ...report.models.map((model) => model.model)], rows)}`;
}

/** Per model: its change against the baseline, the variables that fell most, then one verdict for the gate. */
export function renderComparison(comparison: Comparison): string {
  const allowed = `allowed drop ${(comparison.max_drop * 100).toFixed(1)} pt`;
  const rows = comparison.models.map((m) => [
    m.model === m.baseline_model ? m.model : `${m.model} (vs ${m.baseline_model})`,
    percent(m.overall.baseline),
    percent(m.overall.current),
    points(m.overall.delta),
    m.regressed ? "REGRESSED" : "ok",
  ]);
  const moved = comparison.models.flatMap((m) => {
    const changed = Object.entries(m.by_variable).filter(([, d]) => d.delta === null || Math.abs(d.delta) > 1e-9);
    if (changed.length === 0) return [];
    changed.sort(([, a], [, b]) => (a.delta ?? 0) - (b.delta ?? 0));
    const shown = changed.slice(0, MOVED_VARIABLES);
    const more = changed.length - shown.length;
    return [
      `Variables that moved, ${m.model}${more > 0 ? ` (the ${shown.length} that fell most; ${more} more in report.html)` : ""}`,
      textTable(["variable", "baseline", "current", "change"], shown.map(([name, d]) => [name, percent(d.baseline), percent(d.current), points(d.delta)])),
    ];
  });
  const regressed = comparison.models.filter((m) => m.regressed);
  const verdict =
    regressed.length > 0
      ? `REGRESSION: overall accuracy fell ${regressed.map((m) => `${points(m.overall.delta)} on ${m.model}`).join(", ")} (${allowed})`
      : `OK: overall accuracy ${comparison.models.map((m) => `${points(m.overall.delta)}${comparison.models.length > 1 ? ` on ${m.model}` : ""}`).join(", ")} (${allowed})`;
  return [
    `Compared with ${comparison.baseline}`,
    textTable(["model", "baseline", "current", "change", "gate"], rows),
    ...moved,
    comparison.unmatched.length > 0 ? `Not in the baseline, so not gated: ${comparison.unmatched.join(", ")}` : "",
    verdict,
  ]
    .filter(Boolean)
    .join("\n");
}

export function renderTerminalReport(report: Report): string {
  return [renderHeader(report), renderModelTable(report), renderScenarioTable(report), renderWorstVariables(report)].join("\n\n");
}
