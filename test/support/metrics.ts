// Reading the service's Prometheus text in tests.
import type { TestService } from "./service.js";

/** `name{a="1",b="2"}` → its name and label pairs. */
function seriesParts(series: string): { name: string; labels: string[] } {
  const open = series.indexOf("{");
  if (open < 0) return { name: series, labels: [] };
  const inner = series.slice(open + 1, series.lastIndexOf("}"));
  return { name: series.slice(0, open), labels: inner.match(/[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"/g) ?? [] };
}

/**
 * A map from each series (as written) to its value. Reading a selector that is not a series itself, such as
 * `name{type="prompt"}` when the series carry more labels, answers the sum of every series it selects, as PromQL's
 * `sum(name{type="prompt"})` would; undefined when it selects none.
 */
class Exposition extends Map<string, number> {
  override get(selector: string): number | undefined {
    const exact = super.get(selector);
    if (exact !== undefined) return exact;
    const wanted = seriesParts(selector);
    let sum: number | undefined;
    for (const [series, value] of this) {
      const parts = seriesParts(series);
      if (parts.name !== wanted.name || !wanted.labels.every((label) => parts.labels.includes(label))) continue;
      sum = (sum ?? 0) + value;
    }
    return sum;
  }
}

/** `name{label="value",…} 12` lines → a map from the series (as written) to its value. */
export function parseExposition(text: string): Map<string, number> {
  const series = new Exposition();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    series.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return series;
}

/** One series' value now (0 when the series does not exist yet). */
export async function metricValue(service: TestService, series: string): Promise<number> {
  const res = await service.get("/metrics");
  return parseExposition(String(res.body)).get(series) ?? 0;
}
