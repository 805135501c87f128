import { describe, expect, it } from "vitest";
import { InvalidRequestError } from "../../src/errors.js";
import { buildOutputSchema, parseExtractRequest, settleInvalidFormats, withDefaults, type VariableSpec } from "../../src/schema/index.js";
import { LIMIT_CASES } from "./openai-limit-cases.js";

const limits = { maxVariables: 50, maxDescriptionChars: 2000 };
type Json = Record<string, any>;

function refusal(variables: unknown[]): { path?: string; message: string }[] {
  try {
    parseExtractRequest({ transcript: "Agent: Hello\nCustomer: Hi", variables }, limits);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidRequestError);
    return (error as InvalidRequestError).details ?? [];
  }
  throw new Error("the request was accepted");
}

const ORDER: VariableSpec = {
  name: "order",
  type: "object",
  description: "The order the customer placed",
  fields: [
    { name: "email", type: "string", format: "email", description: "Where the receipt goes" },
    {
      name: "items",
      type: "list",
      description: "Each product ordered",
      items: { type: "object", fields: [
        { name: "product", type: "string", description: "Product name", examples: ["NT-450 filter"] },
        { name: "quantity", type: "integer", description: "How many" },
      ] },
    },
  ],
};

function assertStrict(schema: Json, path = "#"): void {
  expect(schema.$ref, `${path} has no $ref`).toBeUndefined();
  if (schema.type === "object" || (Array.isArray(schema.type) && schema.type.includes("object"))) {
    expect(schema.additionalProperties, `${path} forbids additional properties`).toBe(false);
    expect([...(schema.required ?? [])].sort(), `${path} requires every property`).toEqual(Object.keys(schema.properties ?? {}).sort());
    for (const [key, child] of Object.entries(schema.properties ?? {})) assertStrict(child as Json, `${path}/${key}`);
  }
  for (const branch of schema.anyOf ?? []) assertStrict(branch, `${path}/anyOf`);
  if (schema.items) assertStrict(schema.items, `${path}/items`);
}

describe("rich variables in a request", () => {
  it("accepts an object with a list of objects, formats, patterns and examples", () => {
    const job = parseExtractRequest(
      { transcript: "Agent: Hello\nCustomer: Hi", variables: [ORDER, { name: "zip", type: "string", pattern: "^\\d{5}$", description: "ZIP code" }] },
      limits,
    );
    expect(job.variables.map((spec) => spec.name)).toEqual(["status", "summary", "order", "zip"]);
  });

  it.each([
    ["an object without fields", [{ name: "contact", type: "object", description: "Who" }], "variables[0].fields"],
    ["fields on a string", [{ name: "contact", type: "string", description: "Who", fields: [{ name: "aa", type: "string", description: "x" }] }], "variables[0].fields"],
    ["a field without a description", [{ name: "contact", type: "object", description: "Who", fields: [{ name: "email", type: "string" }] }], "variables[0].fields[0].description"],
    ["a field with a bad name", [{ name: "contact", type: "object", description: "Who", fields: [{ name: "E-mail", type: "string", description: "x" }] }], "variables[0].fields[0].name"],
    ["a format on a number", [{ name: "contact", type: "object", description: "Who", fields: [{ name: "age", type: "integer", format: "email", description: "x" }] }], "variables[0].fields[0].format"],
    ["an unknown format", [{ name: "site", type: "string", format: "uuid", description: "x" }], "variables[0].format"],
    ["a pattern RE2 cannot compile", [{ name: "code", type: "string", pattern: "(?<=a)b", description: "x" }], "variables[0].pattern"],
    ["a pattern on a list item that is not a string", [{ name: "codes", type: "list", items: { type: "integer", pattern: "^1" }, description: "x" }], "variables[0].items.pattern"],
    ["six examples", [{ name: "code", type: "string", examples: [1, 2, 3, 4, 5, 6], description: "x" }], "variables[0].examples"],
    ["a misspelt key", [{ name: "contact", type: "object", description: "Who", feilds: [] }], "variables[0].feilds"],
    ["items and options together", [{ name: "tags", type: "list", options: ["a"], items: { type: "string" }, description: "x" }], "variables[0].items"],
  ])("refuses %s with a 400 naming its path", (_label, variables, path) => {
    expect(refusal(variables).map((detail) => detail.path)).toContain(path);
  });

  it("refuses objects nested 4 levels deep, naming the 4th", () => {
    const level = (name: string, fields: unknown[]) => ({ name, type: "object", description: "x", fields });
    const deep = level("one", [level("two", [level("three", [level("four", [{ name: "leaf", type: "string", description: "x" }])])])]);
    const details = refusal([deep]);
    expect(details).toContainEqual({ path: "variables[0].fields[0].fields[0].fields[0]", message: "nests objects 4 levels deep: at most 3" });
    const three = level("one", [level("two", [level("three", [{ name: "leaf", type: "string", description: "x" }])])]);
    expect(() => parseExtractRequest({ transcript: "Agent: Hi", variables: [three] }, limits)).not.toThrow();
  });

  it("counts a list of objects as a level", () => {
    const list = (name: string, fields: unknown[]) => ({ name, type: "list", description: "x", items: { type: "object", fields } });
    const deep = list("one", [list("two", [list("three", [list("four", [{ name: "leaf", type: "string", description: "x" }])])])]);
    expect(refusal([deep]).map((detail) => detail.message)).toContain("nests objects 4 levels deep: at most 3");
  });

  it.each(LIMIT_CASES)("refuses a variable set past OpenAI's $limit, naming the limit", ({ over, message }) => {
    const details = refusal(over);
    expect(details.filter((detail) => detail.message.startsWith(message))).toEqual([{ path: "variables", message: expect.any(String) }]);
  });

  it.each(LIMIT_CASES)("accepts a variable set just inside OpenAI's $limit", ({ inside }) => {
    expect(() => parseExtractRequest({ transcript: "Agent: Hi", variables: inside }, limits)).not.toThrow();
  });

  it("refuses one list of more than 1,000 options at its own path, saying it is OpenAI's limit", () => {
    const options = Array.from({ length: 1_001 }, (_, index) => `o${index}`);
    expect(refusal([{ name: "product", type: "enum", description: "x", options }])).toContainEqual({
      path: "variables[0].options",
      message: "must list at most 1,000 options: OpenAI structured outputs allow at most 1,000 enum values in all",
    });
  });

  it.each([
    [{ name: "order_ref", type: "string", pattern: "(?<=x)y", description: "x" }, "variables[0].pattern", 'variable "order_ref": the pattern does not compile as an RE2 regular expression: '],
    [{ name: "codes", type: "list", items: { type: "string", pattern: "a(" }, description: "x" }, "variables[0].items.pattern", 'the items of variable "codes": the pattern does not compile'],
    [
      { name: "order", type: "list", description: "x", items: { type: "object", fields: [{ name: "sku", type: "string", pattern: "[z-a]", description: "x" }] } },
      "variables[0].items.fields[0].pattern",
      'field "sku": the pattern does not compile',
    ],
  ])("names whose pattern RE2 cannot compile (%j), at its path", (variable, path, message) => {
    const details = refusal([variable]);
    expect(details).toHaveLength(1);
    expect(details[0]!.path).toBe(path);
    expect(details[0]!.message).toContain(message);
  });

  it("refuses a bad options.default_region", () => {
    expect(() => parseExtractRequest({ transcript: "Agent: Hi", options: { default_region: "us" } }, limits)).toThrow(InvalidRequestError);
  });
});

describe("the strict JSON Schema of nested variables", () => {
  const specs = withDefaults([ORDER, { name: "callback", type: "string", format: "time", description: "When to call back" }]);

  it("keeps every object closed, every property required and every value nullable", () => {
    for (const evidence of [false, true]) assertStrict(buildOutputSchema(specs, { evidence }).jsonSchema as Json);
    const values = (buildOutputSchema(specs, { evidence: false }).jsonSchema as Json).properties.values;
    const order = values.properties.order;
    expect(order.anyOf.map((branch: Json) => branch.type)).toEqual(["object", "null"]);
    const item = order.anyOf[0].properties.items.anyOf[0].items;
    expect(item.anyOf[0].required).toEqual(["product", "quantity"]);
    expect(item.anyOf[0].properties.product.description).toBe('Product name Examples: "NT-450 filter".');
  });

  it("passes only the email format to the model, and describes HH:MM in words", () => {
    const text = JSON.stringify(buildOutputSchema(specs, { evidence: false }).jsonSchema);
    const values = (buildOutputSchema(specs, { evidence: false }).jsonSchema as Json).properties.values;
    expect(values.properties.order.anyOf[0].properties.email.anyOf?.[0]?.format ?? values.properties.order.anyOf[0].properties.email.format).toBe("email");
    expect(text).not.toContain('"format":"time"');
    expect(values.properties.callback.description).toBe("When to call back (a 24-hour time HH:MM)");
  });
});

describe("formats and patterns on the model's answer", () => {
  const specs: VariableSpec[] = [
    { name: "email", type: "string", format: "email", description: "x" },
    { name: "phone", type: "string", format: "phone", default_region: "US", description: "x" },
    { name: "site", type: "string", format: "url", description: "x" },
    { name: "callback", type: "string", format: "time", description: "x" },
    { name: "zip", type: "string", pattern: "^\\d{5}$", description: "x" },
  ];
  const schema = buildOutputSchema(specs, { evidence: false });
  const parse = (values: Record<string, unknown>) => schema.zod.safeParse({ values: { email: null, phone: null, site: null, callback: null, zip: null, ...values } });

  it.each([
    ["email", "  Ana.Ruiz@Example.COM ", "Ana.Ruiz@example.com"],
    ["phone", "(312) 555-0197", "+13125550197"],
    ["phone", "+44 20 7946 0958", "+442079460958"],
    ["site", "https://example.com/a", "https://example.com/a"],
    ["callback", "9:05", "09:05"],
    ["callback", "14:30", "14:30"],
    ["zip", "60614", "60614"],
  ])("normalises a good %s (%s → %s)", (name, written, expected) => {
    const parsed = parse({ [name]: written });
    expect(parsed.success && parsed.data.values[name]).toBe(expected);
  });

  it.each([
    ["email", "call me at home"],
    ["phone", "extension twelve"],
    ["site", "ftp://example.com/file"],
    ["site", "javascript:alert(1)"],
    ["callback", "25:00"],
    ["callback", "3pm"],
    ["zip", "6061"],
  ])("refuses a %s of %j (an issue for the repair round)", (name, written) => {
    const parsed = parse({ [name]: written });
    expect(parsed.success).toBe(false);
  });

  it("after the last round, makes a value breaking its format null and names its path", () => {
    const settled = settleInvalidFormats(schema, { values: { email: "nobody", phone: "+13125550197", site: null, callback: "25:00", zip: "60614" } });
    expect(settled?.answer.values).toEqual({ email: null, phone: "+13125550197", site: null, callback: null, zip: "60614" });
    expect(settled?.invalidFormat).toEqual(["email", "callback"]);
  });

  it("names nested paths, and leaves an answer of the wrong type to fail", () => {
    const nested = buildOutputSchema([ORDER], { evidence: false });
    const settled = settleInvalidFormats(nested, { values: { order: { email: "not-an-email", items: [{ product: "Filter", quantity: 2 }] } } });
    expect(settled?.invalidFormat).toEqual(["order.email"]);
    expect(settled?.answer.values.order).toEqual({ email: null, items: [{ product: "Filter", quantity: 2 }] });
    expect(settleInvalidFormats(nested, { values: { order: { email: null, items: [{ product: "Filter", quantity: "two" }] } } })).toBeUndefined();
  });

  it("reads a national phone number in the default region, and refuses it without one", () => {
    const noRegion = buildOutputSchema([{ name: "phone", type: "string", format: "phone", description: "x" }], { evidence: false });
    expect(noRegion.zod.safeParse({ values: { phone: "(312) 555-0197" } }).success).toBe(false);
    expect(noRegion.zod.safeParse({ values: { phone: "+1 312 555 0197" } }).success).toBe(true);
  });

  it("runs a catastrophic-backtracking pattern in linear time (RE2), answering null rather than hanging", () => {
    const evil = buildOutputSchema([{ name: "code", type: "string", pattern: "^(a+)+$", description: "x" }], { evidence: false });
    const settled = settleInvalidFormats(evil, { values: { code: `${"a".repeat(30_000)}b` } });
    expect(settled?.invalidFormat).toEqual(["code"]);
  });
});
