// A realistic Autocalls-shaped enriched payload for "Make test request": fake numbers, plausible variables (a profile's
// own, when the test names one, so a destination's `when` and `transform` see the fields they read).
import { withDefaults, type ValueShape, type VariableSpec } from "../schema/index.js";

/** A well-formed value of each string format, as Debrief would deliver it (an E.164 phone, a lower-case domain). */
const SAMPLE_FORMATTED: Record<NonNullable<ValueShape["format"]>, string> = {
  email: "dana@example.com",
  phone: "+15555550123",
  url: "https://example.com/booking/123",
  time: "15:30",
};

/** A plausible value of each type: what a receiver's parser must accept, never null (a test should exercise the field). */
function sampleValue(spec: ValueShape & { name: string }): unknown {
  if (spec.type === "object") return Object.fromEntries((spec.fields ?? []).map((field) => [field.name, sampleValue(field)]));
  if (spec.type === "list" && spec.items) return [sampleValue({ ...spec.items, name: `${spec.name} item` })];
  if (spec.type === "string" && spec.format) return SAMPLE_FORMATTED[spec.format];
  switch (spec.type) {
    case "boolean":
      return true;
    case "number":
      return 4999.5;
    case "integer":
      return 3;
    case "enum":
      return spec.options?.[0] ?? "option";
    case "date":
      return "2025-01-22";
    case "datetime":
      return "2025-01-22T15:00:00Z";
    case "list":
      return ["first item", "second item"];
    default:
      return spec.name === "summary" ? "Customer interested in a product demo next week" : `Sample ${spec.name.replaceAll("_", " ")}`;
  }
}

/** The generic sample's values, or, given a profile's variables, one value per variable (the defaults included). */
export function samplePayload(variables?: readonly VariableSpec[]): Record<string, unknown> {
  const payload = genericSample();
  if (variables !== undefined) payload.extracted_variables = Object.fromEntries(withDefaults(variables).map((spec) => [spec.name, sampleValue(spec)]));
  return payload;
}

function genericSample(): Record<string, unknown> {
  return {
    id: 12345,
    customer_phone: "+15555550123",
    assistant_phone: "+15555550100",
    duration: 125,
    status: "completed",
    extracted_variables: {
      status: true,
      summary: "Customer interested in a product demo next week",
      qualified: true,
      budget: 5000,
      decision_maker: true,
      timeline: "next quarter",
      appointment_date: "2025-01-22",
    },
    input_variables: { customer_name: "John Doe", product_interest: "Pro Plan" },
    transcript: [
      { text: "Hello! This is Sarah from Acme. Is this John?", type: "transcript", sender: "bot", timestamp: 1736937000.315 },
      { text: "Yes, speaking. I was hoping to see a demo of the Pro plan.", type: "transcript", sender: "human", timestamp: 1736937004.104 },
      { text: "Great. What budget do you have in mind?", type: "transcript", sender: "bot", timestamp: 1736937008.52 },
      { text: "Around five thousand dollars, and I sign off on it myself.", type: "transcript", sender: "human", timestamp: 1736937012.87 },
    ],
    formatted_transcript:
      "AI: Hello! This is Sarah from Acme. Is this John?\nCustomer: Yes, speaking. I was hoping to see a demo of the Pro plan.\n" +
      "AI: Great. What budget do you have in mind?\nCustomer: Around five thousand dollars, and I sign off on it myself.",
    recording_url: null,
    created_at: "2025-01-15T10:30:00.000000Z",
    finished_at: "2025-01-15T10:32:05.000000Z",
  };
}
