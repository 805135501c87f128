// The playground's table of rich variables: what its rows hold is exactly what /v1/extract and a profile's YAML get,
// and what comes back (a profile's variables, a converted definition) fills the same rows without losing a key.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadPipelineConfig } from "../../src/configuration/config-file.js";
import { variablesSchema } from "../../src/schema/index.js";
import { MAX_EXAMPLES as SERVICE_MAX_EXAMPLES, MAX_OBJECT_DEPTH as SERVICE_MAX_DEPTH, STRING_FORMATS as SERVICE_FORMATS } from "../../src/schema/variables.js";
import {
  emptyRow,
  examplesFromText,
  examplesText,
  MAX_EXAMPLES,
  MAX_OBJECT_DEPTH,
  problemsByRow,
  profileYaml,
  rowAt,
  rowsFromVariables,
  STRING_FORMATS,
  variablesFromRows,
  type VariableRow,
} from "../../web/src/playground-export.js";

const LIMITS = { maxVariables: 50, maxDescriptionChars: 500 };
const row = (fields: Partial<VariableRow> & Pick<VariableRow, "name" | "type">): VariableRow => ({ ...emptyRow(), description: `The ${fields.name}`, ...fields });

/** The order the browser test builds: a list of line items (product, quantity) and a contact e-mail. */
const ORDER_ROWS: VariableRow[] = [
  row({
    name: "line_items",
    type: "list",
    of: "object",
    items: { options: "", fields: [row({ name: "product", type: "string" }), row({ name: "quantity", type: "integer", examples: "2\n10" })] },
  }),
  row({ name: "contact_email", type: "string", format: "email", examples: "ana@example.com" }),
];

/** Every rich key, at every place it can sit, as a profile or /v1/variables/convert gives it. */
const RICH = [
  {
    name: "order",
    type: "object",
    description: "The order",
    fields: [
      { name: "customer_email", type: "string", format: "email", description: "Where the receipt goes" },
      { name: "phone", type: "string", format: "phone", default_region: "GB", description: "Callback number" },
      {
        name: "line_items",
        type: "list",
        description: "Each product ordered",
        items: {
          type: "object",
          description: "One line",
          fields: [
            { name: "sku", type: "string", pattern: "^[A-Z]{2}-\\d{3}$", description: "Code", examples: ["NT-450", "AB-123"] },
            { name: "quantity", type: "integer", description: "How many", examples: [2, 10] },
            { name: "size", type: "enum", options: ["small", "large, boxed"], description: "Size" },
          ],
        },
      },
    ],
  },
  { name: "delivery_time", type: "string", format: "time", description: "When" },
  { name: "tags", type: "list", options: ["urgent", "repeat"], description: "Tags" },
  { name: "notes", type: "list", description: "Notes" },
  { name: "urls", type: "list", items: { type: "string", format: "url" }, description: "Links" },
  { name: "sizes", type: "list", items: { type: "enum", options: ["s", "m"] }, description: "Sizes" },
  { name: "days", type: "list", items: { type: "date" }, description: "Days" },
  { name: "zip", type: "string", pattern: "^\\d{5}$", examples: ["60614", " spaced ", "two\nlines"], description: "ZIP" },
  { name: "flag", type: "boolean", examples: [true, "[not json"], description: "A flag" },
];

describe("the playground's rows of rich variables", () => {
  it("sends an order built in the table as the nested variables the service accepts", () => {
    const variables = variablesFromRows(ORDER_ROWS);
    expect(variables).toEqual([
      {
        name: "line_items",
        type: "list",
        description: "The line_items",
        items: {
          type: "object",
          fields: [
            { name: "product", type: "string", description: "The product" },
            { name: "quantity", type: "integer", description: "The quantity", examples: [2, 10] },
          ],
        },
      },
      { name: "contact_email", type: "string", description: "The contact_email", format: "email", examples: ["ana@example.com"] },
    ]);
    expect(variablesSchema(LIMITS).safeParse(variables).success).toBe(true);
  });

  it("sends only the keys a row's type takes, and leaves out fields without a name at every level", () => {
    const typed = row({
      name: "contact",
      type: "object",
      format: "email",
      pattern: "x",
      options: "a, b",
      of: "object",
      fields: [row({ name: "email", type: "string", format: "email" }), row({ name: "", type: "string" }), row({ name: "age", type: "number", format: "email", pattern: "^1" })],
    });
    expect(variablesFromRows([typed])).toEqual([
      {
        name: "contact",
        type: "object",
        description: "The contact",
        fields: [
          { name: "email", type: "string", format: "email", description: "The email" },
          { name: "age", type: "number", description: "The age" },
        ],
      },
    ]);
    // The same row changed back to a string sends what was typed for a string.
    expect(variablesFromRows([{ ...typed, type: "string" }])).toEqual([{ name: "contact", type: "string", description: "The contact", format: "email", pattern: "x" }]);
  });

  it("reads a list as the table did before items: options typed make it a list of them", () => {
    expect(variablesFromRows([row({ name: "tags", type: "list", options: "a, b" })])[0]).toMatchObject({ options: ["a", "b"] });
    expect(variablesFromRows([row({ name: "tags", type: "list", options: "a, b", of: "strings" })])[0]).not.toHaveProperty("options");
    expect(variablesFromRows([row({ name: "tags", type: "list", of: "string", items: { options: "", format: "email" } })])[0]).toMatchObject({ items: { type: "string", format: "email" } });
  });

  it("keeps every key of a profile's or a converted definition's variables, through the rows to the request and the YAML", () => {
    expect(variablesSchema(LIMITS).safeParse(RICH).success).toBe(true);
    const rows = rowsFromVariables(RICH);
    // Each key is in a control, not carried along unseen.
    expect(rows[0]!.fields![2]!.items!.fields![0]).toMatchObject({ pattern: "^[A-Z]{2}-\\d{3}$", examples: "NT-450\nAB-123" });
    expect(rows[0]!.fields![2]!.items!.fields![2]!.options).toBe('["small","large, boxed"]');
    expect(rows[2]).toMatchObject({ of: "options", options: "urgent, repeat" });
    expect(rows[4]).toMatchObject({ of: "string", items: { format: "url" } });
    const variables = variablesFromRows(rows);
    expect(variables).toEqual(RICH);
    expect(parse(profileYaml(variables))).toEqual({ variables: RICH });
  });

  it("writes YAML the service's configuration loader reads as the same variables", () => {
    const variables = variablesFromRows(rowsFromVariables(RICH));
    const indented = profileYaml(variables).split("\n").map((line) => (line ? `    ${line}` : line)).join("\n");
    const file = join(mkdtempSync(join(tmpdir(), "debrief-yaml-")), "debrief.yaml");
    writeFileSync(file, `profiles:\n  pasted:\n${indented}    destinations: [crm]\ndestinations:\n  crm:\n    url: https://crm.example.com/hook\n`);
    const loaded = loadPipelineConfig(file, {}, LIMITS).profiles.get("pasted")!.variables;
    expect(JSON.parse(JSON.stringify(loaded))).toEqual(RICH);
  });

  it("reads examples one a line, as values of the variable's type, or as a JSON array", () => {
    expect(examplesFromText("NT-450\n\n AB-123 \n", "string")).toEqual(["NT-450", "AB-123"]);
    expect(examplesFromText("2\nten", "integer")).toEqual([2, "ten"]);
    expect(examplesFromText('{"sku": "NT-450"}', "object")).toEqual([{ sku: "NT-450" }]);
    expect(examplesFromText('["a, b", "c"]', "string")).toEqual(["a, b", "c"]);
    expect(examplesFromText("  \n", "string")).toBeUndefined();
    // Lines that would not read back the same are shown as JSON.
    expect(examplesText(["2"], "integer")).toBe('["2"]');
    expect(examplesText([2, 3], "integer")).toBe("2\n3");
  });

  it("names the rows a 400's details point at, counting only the rows that were sent", () => {
    const rows: VariableRow[] = [
      row({ name: "", type: "string" }),
      row({ name: "order", type: "object", fields: [row({ name: "", type: "string" }), row({ name: "email", type: "string" }), row({ name: "code", type: "string", pattern: "(?=x)" })] }),
      row({ name: "lines", type: "list", of: "object", items: { options: "", fields: [row({ name: "sku", type: "string" })] } }),
    ];
    const problems = problemsByRow(rows, [
      { path: "variables[0].fields[1].pattern", message: "does not compile" },
      { path: "variables[1].items.fields[0].name", message: "bad name" },
      { path: "variables[1].items", message: "items wrong" },
      { path: "variables[0]", message: "the order" },
      { message: "at most 1000 options in all" },
      { path: "transcript", message: "not this" },
    ]);
    expect(problems).toEqual({
      "1.fields.2": [{ path: "variables[0].fields[1].pattern", message: "does not compile", key: "pattern" }],
      "2.items.fields.0": [{ path: "variables[1].items.fields[0].name", message: "bad name", key: "name" }],
      "2": [{ path: "variables[1].items", message: "items wrong", key: "items" }],
      "1": [{ path: "variables[0]", message: "the order" }],
    });
    expect(rowAt(rows, "1.fields.2")?.name).toBe("code");
    expect(rowAt(rows, "2.items.fields.0")?.name).toBe("sku");
    expect(rowAt(rows, "5")).toBeUndefined();
  });

  it("offers the service's formats and limits", () => {
    expect(STRING_FORMATS).toEqual(SERVICE_FORMATS);
    expect(MAX_EXAMPLES).toBe(SERVICE_MAX_EXAMPLES);
    expect(MAX_OBJECT_DEPTH).toBe(SERVICE_MAX_DEPTH);
  });
});
