// Nested values are corrected and compared per path: a review names the leaves it changed (`items[1].quantity`) and
// refuses a bad one by its path; a re-extraction's diff names the leaves that moved. Flat variables read as they did.
import { describe, expect, it } from "vitest";
import { correctedPaths, correctionConflicts } from "../../src/calls/corrections.js";
import { reviewDecision } from "../../src/calls/review.js";
import { changedPaths, changedVariables, variableOfPath } from "../../src/calls/value-diff.js";
import type { VariableSpec } from "../../src/schema/index.js";
import { ORDER_VARIABLES } from "../fixtures/orders.js";

const variables: VariableSpec[] = [
  { name: "budget", type: "number", description: "Budget in USD" },
  { name: "tags", type: "list", options: ["urgent", "vip", "repeat"], description: "Labels" },
  ...ORDER_VARIABLES,
];
const model = {
  status: true,
  summary: "Order placed",
  budget: 4000,
  tags: ["urgent"],
  contact: { name: "Dana", email: "dana@example.com" },
  items: [
    { product: "filter", quantity: 2 },
    { product: "duct", quantity: 1 },
  ],
};
const extraction = { extracted_variables: model, meta: {} };
const at = new Date("2026-12-02T10:00:00Z");
const decide = (values: Record<string, unknown>) => reviewDecision({ approve: true, values }, { extraction, variables, at });

describe("a review of nested values", () => {
  it("names the leaves it changed and keeps each corrected variable whole", () => {
    const items = [
      { product: "filter", quantity: 2 },
      { product: "duct", quantity: 3 },
      { product: "thermostat", quantity: 1 },
    ];
    const decision = decide({ items, contact: { name: "Dana", email: " dana@EXAMPLE.com" }, budget: "4,000" });
    // The e-mail is normalised as extraction normalises it (the same address), and "4,000" is the model's 4000.
    expect(decision).toEqual({
      approved: true,
      at: at.toISOString(),
      corrected: ["items[1].quantity", "items[2].product", "items[2].quantity"],
      values: { items },
      reason: null,
    });
  });

  it("names each leaf a removed item had, and a changed field of an object", () => {
    const decision = decide({ items: [{ product: "filter", quantity: 2 }], contact: { name: "Dana Reyes", email: "dana@example.com" } });
    expect(decision.corrected).toEqual(["contact.name", "items[1].product", "items[1].quantity"]);
    expect(decision.values).toEqual({ contact: { name: "Dana Reyes", email: "dana@example.com" }, items: [{ product: "filter", quantity: 2 }] });
  });

  it("names a flat variable and a list of options by their names, as before", () => {
    expect(decide({ budget: 5000, tags: ["urgent", "vip"] }).corrected).toEqual(["budget", "tags"]);
  });

  it("names a cleared object or list by the leaves it had", () => {
    expect(decide({ contact: null }).corrected).toEqual(["contact.name", "contact.email"]);
    expect(decide({ items: [] }).corrected).toEqual(["items[0].product", "items[0].quantity", "items[1].product", "items[1].quantity"]);
  });

  it("refuses a field or an item of the wrong type, naming its path", () => {
    const refused = (values: Record<string, unknown>) => {
      try {
        decide(values);
      } catch (error) {
        return (error as { status: number; details: { path: string; message: string }[] }).details;
      }
      throw new Error("the review was taken");
    };
    expect(refused({ items: [{ product: "filter", quantity: 2 }, { product: "duct", quantity: "lots" }] })).toEqual([
      { path: "values.items[1].quantity", message: "Expected number, received string" },
    ]);
    expect(refused({ items: [{ product: "hose", quantity: 1 }] })).toEqual([{ path: "values.items[0].product", message: expect.stringContaining("filter") }]);
    expect(refused({ contact: { name: "Dana", email: "call me at home" } })).toEqual([{ path: "values.contact.email", message: expect.any(String) }]);
    expect(refused({ contact: { name: "Dana", emial: "dana@example.com" } })).toEqual(
      expect.arrayContaining([
        { path: "values.contact.email", message: expect.stringContaining("is required") },
        { path: "values.contact.emial", message: expect.stringContaining("unknown key") },
      ]),
    );
  });
});

describe("a correction per path", () => {
  it("is listed in the profile's order, leaf by leaf", () => {
    const order = ["status", "summary", "budget", "contact", "items"];
    expect(correctedPaths(model, { items: [{ product: "filter", quantity: 5 }], budget: 1 }, order)).toEqual(["budget", "items[0].quantity", "items[1].product", "items[1].quantity"]);
    // A standing correction equal to what the model now answers is still a correction, named by its variable.
    expect(correctedPaths(model, { budget: 4000 }, order)).toEqual(["budget"]);
  });

  it("conflicts name the path inside a nested correction the current definition refuses", () => {
    const narrowed = variables.map((spec) =>
      spec.name === "items" ? { ...spec, items: { type: "object" as const, fields: [{ name: "product", type: "enum" as const, options: ["filter"], description: "Which" }, { name: "quantity", type: "integer" as const, description: "How many" }] } } : spec,
    );
    const conflicts = correctionConflicts({ items: [{ product: "filter", quantity: 1 }, { product: "duct", quantity: 1 }] }, narrowed);
    expect(conflicts.map((conflict) => conflict.path)).toEqual(["items[1].product"]);
    // The correction in conflict is the whole variable's: a re-extraction keeps none of it.
    expect(variableOfPath(conflicts[0]!.path)).toBe("items");
    expect(variableOfPath("contact.email")).toBe("contact");
    expect(variableOfPath("budget")).toBe("budget");
  });
});

describe("a diff between two sets of values", () => {
  it("names the leaves that differ inside objects and lists of objects", () => {
    const after = { ...model, contact: { name: "Dana", email: "d@example.com" }, items: [{ product: "filter", quantity: 3 }, ...model.items.slice(1)] };
    expect(changedPaths(model, after)).toEqual(["contact.email", "items[0].quantity"]);
    expect(changedVariables(model, after)).toEqual(["contact", "items"]);
  });

  it("names an item added to an empty list by its fields, and a value from null to an empty list by its name", () => {
    expect(changedPaths({ items: [] }, { items: [{ product: "filter", quantity: 1 }] })).toEqual(["items[0].product", "items[0].quantity"]);
    expect(changedPaths({ items: null }, { items: [] })).toEqual(["items"]);
    expect(changedPaths({ contact: null }, { contact: { name: null, email: null } })).toEqual(["contact"]);
  });

  it("reads flat values exactly as the per-variable diff does", () => {
    const before = { status: true, budget: 4000, tags: ["urgent"], gone: 1, date: null };
    const after = { status: true, budget: 4500, tags: ["urgent", "vip"], date: null, added: null };
    expect(changedPaths(before, after)).toEqual(changedVariables(before, after));
    expect(changedPaths(before, after)).toEqual(["budget", "tags", "added", "gone"]);
    expect(changedPaths(null, { budget: 1 })).toEqual(["budget"]);
  });

  it("does not count key order or a field that appears as null", () => {
    expect(changedPaths({ contact: { name: "Dana", email: null } }, { contact: { email: null, name: "Dana" } })).toEqual([]);
  });
});
