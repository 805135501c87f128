// How times, durations and values read on screen.

const UNITS: [number, string][] = [
  [86_400_000, "d"],
  [3_600_000, "h"],
  [60_000, "min"],
  [1_000, "s"],
];

/** "3 min ago", "in 2 h", "just now". */
export function relativeTime(iso: string, now = Date.now()): string {
  const delta = new Date(iso).getTime() - now;
  const size = Math.abs(delta);
  if (size < 1_000) return "just now";
  const [unit, label] = UNITS.find(([ms]) => size >= ms)!;
  const amount = Math.floor(size / unit);
  return delta < 0 ? `${amount} ${label} ago` : `in ${amount} ${label}`;
}

/** "2:05", "1:02:03" */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "–";
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

export function localTime(iso: string): string {
  return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

/** A value as a person reads it; null says the call never said. */
export function displayValue(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "string") return value;
  if (Array.isArray(value) && value.every((item) => typeof item === "string")) return value.join(", ");
  return JSON.stringify(value);
}

/** The declared type when known, else the JSON type of the value. */
export function valueType(value: unknown, declared?: string): string {
  if (declared) return declared;
  if (value === null || value === undefined) return "–";
  if (Array.isArray(value)) return "list";
  return typeof value;
}

export function pretty(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/** "$0.0016", "$0.07", "$12.40": two significant digits under a cent, cents above; never a float's 17 digits. */
export function usd(amount: number): string {
  if (amount === 0) return "$0.00";
  return `$${amount < 0.01 ? Number(amount.toPrecision(2)).toString() : amount.toFixed(2)}`;
}
