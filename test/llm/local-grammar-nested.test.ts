import { describe, expect, it } from "vitest";
import { toGbnfSchema } from "../../src/llm/local-grammar.js";
import { buildOutputSchema, withDefaults, type VariableSpec } from "../../src/schema/index.js";

const ORDER: VariableSpec = {
  name: "order",
  type: "object",
  description: "The order",
  fields: [
    { name: "email", type: "string", format: "email", description: "E-mail" },
    { name: "items", type: "list", description: "Lines", items: { type: "object", fields: [
      { name: "product", type: "string", description: "Product" },
      { name: "quantity", type: "integer", description: "How many" },
    ] } },
  ],
};

describe("the local model's grammar for nested variables", () => {
  it("carries objects, lists of objects and formatted strings into the GBNF schema", () => {
    const { jsonSchema } = buildOutputSchema(withDefaults([ORDER]), { evidence: true });
    const gbnf = toGbnfSchema(jsonSchema, { maxStringChars: 500 }) as any;
    const order = gbnf.properties.values.properties.order.oneOf[0];
    expect(order.required).toEqual(["email", "items"]);
    const item = order.properties.items.oneOf[0].items.oneOf[0];
    expect(item).toMatchObject({ type: "object", required: ["product", "quantity"], additionalProperties: false });
    expect(order.properties.email.oneOf[0]).toEqual({ type: "string", maxLength: 500 });
  });
});
