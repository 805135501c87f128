// Renders sections and the profile as plain-text tables for the terminal.
import type { Figure, SectionResult } from "./context.js";
import type { ProfileSummary } from "./profile.js";

function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return value.toLocaleString("en-US");
  const digits = Math.abs(value) >= 100 ? 1 : Math.abs(value) >= 10 ? 2 : 3;
  return value.toLocaleString("en-US", { maximumFractionDigits: digits });
}

function table(header: string[], rows: string[][], indent = "  "): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)));
  const line = (cells: string[]) => indent + cells.map((cell, column) => cell.padEnd(widths[column]!)).join("  ").trimEnd();
  return [line(header), line(widths.map((width) => "-".repeat(width))), ...rows.map(line)].join("\n");
}

function row(figure: Figure): string[] {
  return [
    figure.label,
    `${formatNumber(figure.value)} ${figure.unit}`,
    figure.baseline ? `${figure.baseline.label}: ${formatNumber(figure.baseline.value)} ${figure.baseline.unit}` : "",
    figure.ratio !== undefined ? `${formatNumber(figure.ratio)}×` : "",
    figure.note ?? "",
  ];
}

export function renderSection(section: SectionResult): string {
  const parts = [section.title];
  if (section.figures.length > 0) parts.push(table(["figure", "Debrief", "baseline (same run)", "ratio", "note"], section.figures.map(row)));
  for (const note of section.notes) parts.push(`  · ${note}`);
  return parts.join("\n");
}

export function renderProfile(number: string, summary: ProfileSummary, what: string): string {
  const functions = summary.topFunctions.map((item, index) => [String(index + 1), item.name, item.where, `${formatNumber(item.selfMs)} ms`, `${formatNumber(item.percent)}%`]);
  const areas = summary.topAreas.map((item, index) => [String(index + 1), item.name, `${formatNumber(item.selfMs)} ms`, `${formatNumber(item.percent)}%`]);
  return [
    `${number}. Where Debrief's time goes: --cpu-prof self time under load (${what})`,
    `  busy ${formatNumber(summary.busyMs)} ms of ${formatNumber(summary.totalMs)} ms sampled; % of busy time`,
    table(["#", "function", "where", "self", "share"], functions),
    "",
    table(["#", "area (file, package, or V8)", "self", "share"], areas),
  ].join("\n");
}
