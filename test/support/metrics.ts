// Reading the service's Prometheus text in tests.
import type { TestService } from "./service.js";

/** `name{label="value",…} 12` lines → a map from the series (as written) to its value. */
export function parseExposition(text: string): Map<string, number> {
  const series = new Map<string, number>();
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
