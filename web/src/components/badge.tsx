// A state or fate as a word with a colour; the word carries the meaning, the colour only helps.
const TONES: Record<string, "ok" | "bad" | "busy" | "quiet"> = {
  delivered: "ok",
  ok: "ok",
  healthy: "ok",
  failed: "bad",
  delivery_failed: "bad",
  extraction_failed: "bad",
  failing: "bad",
  retry: "busy",
  pending: "busy",
  delivering: "busy",
  extracting: "busy",
  accepted: "busy",
  needs_review: "busy",
  waiting_for_budget: "busy",
  interrupted: "busy",
  skipped: "quiet",
  extracted: "quiet",
};

export function Badge({ value }: { value: string }) {
  return <span class={`badge badge-${TONES[value] ?? "quiet"}`}>{value.replaceAll("_", " ")}</span>;
}
