import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { convertDefinition } from "../../../src/schema/convert/index.js";
import { runConvertCli } from "../../../src/schema/convert/cli.js";
import { variablesSchema } from "../../../src/schema/index.js";

const peer = (name: string) => JSON.parse(readFileSync(new URL(`../../fixtures/peers/${name}`, import.meta.url), "utf8"));
const accepted = (variables: unknown) => variablesSchema({ maxVariables: 50, maxDescriptionChars: 2000 }).safeParse(variables).success;

describe("converting the peers' definitions", () => {
  it("reads a Retell agent's post_call_analysis_data, examples and choices included", () => {
    const { variables, notes } = convertDefinition("retell", peer("retell-agent.json"));
    expect(variables).toEqual([
      { name: "customer_name", type: "string", description: "The caller's full name", examples: ["Ana Ruiz", "John Smith"] },
      { name: "service_type", type: "enum", options: ["cleaning", "repair", "installation"], description: "What the customer needs" },
      { name: "is_new_customer", type: "boolean", description: "Whether the caller has never used the company before" },
      { name: "budget", type: "number", description: "Monthly budget in USD" },
      { name: "callback_time", type: "string", description: "When to call back" },
    ]);
    expect(notes.join("\n")).toContain('"Callback Time" renamed to callback_time');
    expect(notes.join("\n")).toContain('"required" does not carry over');
    expect(accepted(variables)).toBe(true);
  });

  it("reads a Vapi structured output into an object list with formats and patterns, noting what has no Debrief check", () => {
    const { variables, notes } = convertDefinition("vapi", peer("vapi-structured-output.json"));
    expect(variables).toEqual([
      { name: "customer_email", type: "string", format: "email", description: "Where the receipt goes" },
      {
        name: "line_items",
        type: "list",
        description: "Each product ordered",
        items: { type: "object", fields: [
          { name: "sku", type: "string", pattern: "^[A-Z]{2}-\\d{3}$", description: "Product code" },
          { name: "quantity", type: "integer", description: "How many" },
        ] },
      },
      { name: "delivery_window", type: "string", description: "Earliest delivery time" },
      { name: "order_id", type: "string", description: "The order's id" },
      { name: "priority", type: "enum", options: ["standard", "express"], description: "Shipping speed" },
    ]);
    const text = notes.join("\n");
    expect(text).toContain('deliveryWindow: format "time" has no Debrief check');
    expect(text).toContain('orderId: format "uuid" has no Debrief check');
    expect(accepted(variables)).toBe(true);
  });

  it("reads an ElevenLabs agent's data_collection, enum items as enums", () => {
    const { variables, notes } = convertDefinition("elevenlabs", peer("elevenlabs-agent.json"));
    expect(variables.map((spec) => [spec.name, spec.type])).toEqual([
      ["caller_intent", "enum"],
      ["party_size", "integer"],
      ["wants_sms", "boolean"],
      ["agent_id_copy", "string"],
    ]);
    expect(notes.join("\n")).toContain("data_collection.agent_id_copy: dynamic_variable / constant_value do not carry over");
    expect(accepted(variables)).toBe(true);
  });

  it("reads a JSON Schema with nullable anyOf values and nested objects, leaving a 4th level out with a note", () => {
    const deep = (depth: number): object =>
      depth === 0 ? { type: "string", description: "leaf" } : { type: "object", description: `level ${depth}`, properties: { inner: deep(depth - 1) } };
    const { variables, notes } = convertDefinition("json_schema", {
      type: "object",
      properties: {
        address: { anyOf: [{ type: "object", properties: { street: { type: "string", description: "Street" }, zip: { type: "string", description: "ZIP" } } }, { type: "null" }], description: "Where" },
        tags: { type: "array", items: { type: "string", enum: ["vip", "late"] }, description: "Tags" },
        nest: deep(4),
      },
    });
    expect(variables[0]).toEqual({ name: "address", type: "object", description: "Where", fields: [
      { name: "street", type: "string", description: "Street" },
      { name: "zip", type: "string", description: "ZIP" },
    ] });
    expect(variables[1]).toEqual({ name: "tags", type: "list", options: ["vip", "late"], description: "Tags" });
    expect(notes.join("\n")).toContain("nested deeper than 3 levels");
    expect(accepted(variables)).toBe(true);
  });

  it("prints a profile's variables as YAML from the command line, notes on stderr", () => {
    let out = "";
    let err = "";
    const code = runConvertCli(["--from", "retell", new URL("../../fixtures/peers/retell-agent.json", import.meta.url).pathname], (text) => (out += text), (text) => (err += text));
    expect(code).toBe(0);
    expect(out).toContain("variables:\n  - name: customer_name\n    type: string");
    expect(err).toContain("note: ");
    expect(runConvertCli(["--from", "bland", "x.json"], () => {}, (text) => (err += text))).toBe(2);
  });
});
