// How numbers read in the terminal table and the HTML report (one place, so both say the same thing).

/** 0.9333 → "93.3%"; null (nothing counted) → "–". */
export function percent(rate: number | null | undefined): string {
  return rate === null || rate === undefined ? "–" : `${(rate * 100).toFixed(1)}%`;
}

/** A signed change in percentage points: 0.021 → "+2.1 pt". */
export function points(delta: number | null | undefined): string {
  if (delta === null || delta === undefined) return "–";
  const value = delta * 100;
  return `${value > 0.05 ? "+" : value < -0.05 ? "−" : "±"}${Math.abs(value).toFixed(1)} pt`;
}

export function milliseconds(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "–";
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

export function usd(cost: number | null | undefined): string {
  if (cost === null || cost === undefined) return "unknown";
  return cost < 0.01 && cost > 0 ? `$${cost.toFixed(5)}` : `$${cost.toFixed(4)}`;
}

export function integer(n: number): string {
  return n.toLocaleString("en-US");
}
