// The nested variables the extract tests share: who called (an object) and what they ordered (a list of objects).
import type { VariableSpec } from "../../src/schema/index.js";

export const CONTACT: VariableSpec = {
  name: "contact",
  type: "object",
  description: "Who called",
  fields: [
    { name: "name", type: "string", description: "Full name" },
    { name: "email", type: "string", format: "email", description: "E-mail address" },
  ],
};

export const ORDER: VariableSpec = {
  name: "items",
  type: "list",
  description: "Each product ordered",
  items: { type: "object", fields: [
    { name: "product", type: "string", description: "Product name" },
    { name: "quantity", type: "integer", description: "How many" },
  ] },
};
