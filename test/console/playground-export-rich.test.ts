import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { profileYaml, rowsFromVariables, variablesFromRows } from "../../web/src/playground-export.js";
import { variablesSchema } from "../../src/schema/index.js";

describe("the playground's rows of rich variables", () => {
  it("sends an object's fields typed as JSON, and keeps a loaded profile's other keys", () => {
    const variables = variablesFromRows([
      { name: "contact", type: "object", description: "Who called", options: '[{"name": "email", "type": "string", "format": "email", "description": "E-mail"}]' },
      { name: "lines", type: "list", description: "Lines", options: "", extra: { items: { type: "object", fields: [{ name: "sku", type: "string", description: "Code" }] } } },
    ]);
    expect(variables[0]).toEqual({ name: "contact", type: "object", description: "Who called", fields: [{ name: "email", type: "string", format: "email", description: "E-mail" }] });
    expect(variablesSchema({ maxVariables: 50, maxDescriptionChars: 500 }).safeParse(variables).success).toBe(true);
  });
});

describe("the profile YAML of rich variables", () => {
  it("keeps fields, items, formats, patterns and examples exactly, and round-trips converted variables through the table", () => {
    const converted = [
      { name: "contact", type: "object", description: "Who", fields: [{ name: "email", type: "string", format: "email", description: "E-mail" }] },
      { name: "lines", type: "list", description: "Lines", items: { type: "object", fields: [{ name: "sku", type: "string", pattern: "^[A-Z]{2}-\\d{3}$", description: "Code" }] } },
      { name: "zip", type: "string", pattern: "^\\d{5}$", examples: ["60614"], description: "ZIP" },
    ];
    const variables = variablesFromRows(rowsFromVariables(converted));
    expect(variables).toEqual(converted);
    expect(parse(profileYaml(variables))).toEqual({ variables: converted });
  });
});
