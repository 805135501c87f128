import { describe, expect, it } from "vitest";
import { buildOutputSchema, withDefaults, type VariableSpec } from "../../src/schema/index.js";

const specs: VariableSpec[] = withDefaults([
  { name: "budget", type: "number", description: "Monthly budget in USD" },
  { name: "units", type: "integer", description: "How many units" },
  { name: "decision_maker", type: "boolean", description: "Is the caller the decision maker" },
  { name: "service_type", type: "enum", options: ["cleaning", "repair"], description: "Service" },
  { name: "appointment_date", type: "date", description: "Date booked" },
  { name: "callback_at", type: "datetime", description: "When to call back" },
  { name: "products", type: "list", options: ["solar", "battery", "ev_charger"], description: "Products of interest" },
  { name: "notes", type: "list", description: "Free notes" },
]);

type Json = Record<string, any>;

/** Walks a JSON Schema and checks OpenAI strict-mode rules on every object. */
function assertStrict(schema: Json, path = "#"): void {
  expect(schema.$ref, `${path} has no $ref`).toBeUndefined();
  if (schema.type === "object") {
    expect(schema.additionalProperties, `${path} forbids additional properties`).toBe(false);
    expect([...(schema.required ?? [])].sort(), `${path} requires every property`).toEqual(Object.keys(schema.properties ?? {}).sort());
    for (const [key, child] of Object.entries(schema.properties ?? {})) assertStrict(child as Json, `${path}/${key}`);
  }
  for (const branch of schema.anyOf ?? []) assertStrict(branch, `${path}/anyOf`);
  if (schema.items) assertStrict(schema.items, `${path}/items`);
}

describe("buildOutputSchema", () => {
  it("produces a JSON Schema that follows every strict-mode rule, with an object root", () => {
    for (const evidence of [false, true]) {
      const { jsonSchema } = buildOutputSchema(specs, { evidence });
      expect(jsonSchema.type).toBe("object");
      expect(jsonSchema.anyOf).toBeUndefined();
      expect(jsonSchema.$schema).toBeUndefined();
      assertStrict(jsonSchema);
      expect(JSON.stringify(jsonSchema)).not.toContain("$ref");
    }
  });

  it("makes every value nullable and carries the descriptions to the model", () => {
    const values = (buildOutputSchema(specs, { evidence: false }).jsonSchema as Json).properties.values;
    expect(values.properties.budget).toEqual({ type: ["number", "null"], description: "Monthly budget in USD" });
    expect(values.properties.units).toEqual({ type: ["integer", "null"], description: "How many units" });
    expect(values.properties.service_type.anyOf[0].enum).toEqual(["cleaning", "repair"]);
    expect(values.properties.appointment_date.anyOf[0].format).toBe("date");
    expect(values.properties.products.anyOf[0].items.enum).toEqual(["solar", "battery", "ev_charger"]);
  });

  const all = (overrides: Record<string, unknown>) => ({
    values: {
      status: null, summary: null, budget: null, units: null, decision_maker: null, service_type: null,
      appointment_date: null, callback_at: null, products: null, notes: null, ...overrides,
    },
  });
  const { zod } = buildOutputSchema(specs, { evidence: false });

  it.each([
    ["a numeric string with separators", { budget: "4,000" }, { budget: 4000 }],
    ["a yes/no word for a boolean", { decision_maker: "No" }, { decision_maker: false }],
    ["an enum option in another case", { service_type: "Repair" }, { service_type: "repair" }],
    ["a date-time where a date is wanted", { appointment_date: "2026-06-17T00:00:00Z" }, { appointment_date: "2026-06-17" }],
    ["a datetime written with a space", { callback_at: "2026-06-17 15:00:00-04:00" }, { callback_at: "2026-06-17T15:00:00-04:00" }],
    ["list options in another case, repeated", { products: ["Solar", "solar", "battery"] }, { products: ["solar", "battery"] }],
    ["the word null", { budget: "null" }, { budget: null }],
    ["real zero and false answers", { budget: 0, decision_maker: false }, { budget: 0, decision_maker: false }],
    ["a blank string, which is never what a call said", { summary: "  ", appointment_date: "" }, { summary: null, appointment_date: null }],
    ["blank list items", { notes: ["call back", " ", ""] }, { notes: ["call back"] }],
    ["an empty list, which says the call named none", { products: [] }, { products: [] }],
  ])("normalises %s", (_name, given, expected) => {
    const parsed = zod.safeParse(all(given));
    expect(parsed.success).toBe(true);
    if (parsed.success) expect(parsed.data.values).toMatchObject(expected);
  });

  it.each([
    ["a number as prose", { budget: "about four grand" }, "values.budget"],
    ["a fractional integer", { units: 2.5 }, "values.units"],
    ["an enum value outside the options", { service_type: "installation" }, "values.service_type"],
    ["an impossible date", { appointment_date: "2026-02-30" }, "values.appointment_date"],
    ["a date in another format", { appointment_date: "06/17/2026" }, "values.appointment_date"],
    ["a datetime without an offset", { callback_at: "2026-06-17T15:00:00" }, "values.callback_at"],
    ["a list item outside the options", { products: ["solar", "wind"] }, "values.products.1"],
    ["a boolean as a number", { decision_maker: 1 }, "values.decision_maker"],
  ])("rejects %s", (_name, given, path) => {
    const parsed = zod.safeParse(all(given));
    expect(parsed.success).toBe(false);
    if (!parsed.success) expect(parsed.error.issues.map((issue) => issue.path.join("."))).toContain(path);
  });

  it("rejects an answer that leaves a variable out: absence is never silently null", () => {
    const { values } = all({});
    const { budget: _dropped, ...rest } = values;
    expect(zod.safeParse({ values: rest }).success).toBe(false);
  });
});

describe("options that differ only in case", () => {
  it("keeps an exact answer as it is", () => {
    const { zod } = buildOutputSchema([{ name: "kind", type: "enum", options: ["Repair", "repair"], description: "k" }], { evidence: false });
    expect(zod.parse({ values: { kind: "repair" } }).values.kind).toBe("repair");
    expect(zod.parse({ values: { kind: "Repair" } }).values.kind).toBe("Repair");
    expect(zod.parse({ values: { kind: " REPAIR " } }).values.kind).toBe("Repair");
  });
});

describe("withDefaults", () => {
  it("adds status and summary unless the request defines them", () => {
    expect(withDefaults([{ name: "budget", type: "number", description: "b" }]).map((s) => s.name)).toEqual(["status", "summary", "budget"]);
    const own = withDefaults([{ name: "summary", type: "string", description: "A two-sentence recap" }]);
    expect(own.filter((s) => s.name === "summary")).toEqual([{ name: "summary", type: "string", description: "A two-sentence recap" }]);
  });
});
