// The peers' definitions converted into Debrief variables. Each fixture in test/fixtures/peers/ is shaped like the peer's
// public API types; test/fixtures/peers/README.md cites them (retell-sdk AgentResponse.*AnalysisData, @vapi-ai/server-sdk
// StructuredOutput and JsonSchema, the assistant's analysisPlan, elevenlabs-js LiteralJsonSchemaProperty).
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
    expect(notes).toEqual([
      "post_call_analysis_data[2]: conditional_prompt does not carry over: say in the description when the value applies (it is null otherwise)",
      'post_call_analysis_data[3]: "required" does not carry over: every Debrief value may be null when the call never said it',
      'post_call_analysis_data[4]: "Callback Time" renamed to callback_time (names are lower snake case)',
      "post_call_analysis_data[5]: the system preset call_summary is Debrief's default variable summary, extracted on every call; left out",
    ]);
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
    expect(text).toContain('the output "order" became one variable per property (its description: "The customer\'s order")');
    expect(text).toContain('deliveryWindow: format "time" has no Debrief check');
    expect(text).toContain('orderId: format "uuid" has no Debrief check');
    expect(accepted(variables)).toBe(true);
  });

  it("reads a Vapi assistant's analysisPlan.structuredDataSchema, noting its structuredDataPrompt and not its model", () => {
    const { variables, notes } = convertDefinition("vapi", peer("vapi-assistant.json"));
    expect(variables).toEqual([
      { name: "customer_name", type: "string", description: "Full name of the customer" },
      { name: "customer_email", type: "string", format: "email", description: "Customer's email address if provided" },
      {
        name: "caller_intent",
        type: "enum",
        options: ["Oil Change", "Tire Service", "Brake Service", "Inspection", "Price Quote"],
        description: "Primary reason for the call",
      },
      {
        name: "vehicle",
        type: "object",
        description: "The customer's vehicle",
        fields: [
          { name: "make", type: "string", description: "Vehicle make" },
          { name: "model", type: "string", description: "Vehicle model" },
          { name: "kilometers", type: "number", description: "Odometer reading in kilometers" },
        ],
      },
      { name: "appointment_requested", type: "boolean", description: "Whether the caller asked for an appointment" },
    ]);
    // The assistant's `model` is its conversation model and its `name` the assistant's: neither is an output's.
    expect(notes).toEqual(["analysisPlan.structuredDataPrompt: Debrief has no per-output prompt; put it in the profile's system_prompt"]);
    expect(accepted(variables)).toBe(true);
    // The plan alone reads the same.
    expect(convertDefinition("vapi", peer("vapi-assistant.json").analysisPlan).variables).toEqual(variables);
  });

  it("reads today's analysisPlan.structuredDataPlan.schema, noting its messages", () => {
    const { analysisPlan } = peer("vapi-assistant.json");
    const assistant = {
      name: "Tire shop front desk",
      analysisPlan: {
        structuredDataPlan: {
          enabled: true,
          schema: analysisPlan.structuredDataSchema,
          messages: [{ role: "system", content: "Extract the caller's details. {{schema}}" }, { role: "user", content: "{{transcript}}" }],
          timeoutSeconds: 10,
        },
      },
    };
    const { variables, notes } = convertDefinition("vapi", assistant);
    expect(variables).toEqual(convertDefinition("vapi", peer("vapi-assistant.json")).variables);
    expect(notes).toEqual(["analysisPlan.structuredDataPlan.messages: Debrief writes its own prompt; put what they add in the profile's system_prompt"]);
  });

  it("reads an ElevenLabs agent's data_collection, enum items as enums", () => {
    const { variables, notes } = convertDefinition("elevenlabs", peer("elevenlabs-agent.json"));
    expect(variables).toEqual([
      { name: "caller_intent", type: "enum", options: ["book", "reschedule", "cancel"], description: "Why the caller phoned" },
      { name: "party_size", type: "integer", description: "How many people the booking is for" },
      { name: "wants_sms", type: "boolean", description: "Whether the caller agreed to SMS reminders" },
      { name: "deposit_usd", type: "number", description: "The deposit the caller agreed to, in US dollars" },
    ]);
    // A property filled from a dynamic variable (never by the LLM) has nothing to extract.
    expect(notes).toEqual([
      "data_collection.agent_id_copy: dynamic_variable is not read from the conversation, and Debrief extracts from the transcript only; left out",
    ]);
    expect(accepted(variables)).toBe(true);
  });

  it("reads a real-world JSON Schema: nested objects, a list of objects, enums, formats, patterns and anyOf with null", () => {
    const { variables, notes } = convertDefinition("json_schema", peer("json-schema-service-call.json"));
    expect(variables).toEqual([
      {
        name: "customer",
        type: "object",
        description: "Who called",
        fields: [
          { name: "full_name", type: "string", description: "The caller's first and last name" },
          { name: "email", type: "string", format: "email", description: "E-mail address for the confirmation" },
          { name: "phone", type: "string", pattern: "^\\+?[1-9]\\d{7,14}$", description: "Callback number, digits only" },
          {
            name: "address",
            type: "object",
            description: "Where the job is",
            fields: [
              { name: "street", type: "string", description: "Street and number" },
              { name: "city", type: "string", description: "City" },
              { name: "postal_code", type: "string", pattern: "^\\d{5}(-\\d{4})?$", description: "US ZIP code" },
            ],
          },
        ],
      },
      { name: "service_type", type: "enum", options: ["repair", "maintenance", "installation", "estimate"], description: "The kind of visit booked" },
      {
        name: "line_items",
        type: "list",
        description: "Parts and services quoted on the call",
        items: {
          type: "object",
          fields: [
            { name: "sku", type: "string", pattern: "^[A-Z]{2,4}-\\d{3,6}$", description: "Catalog number" },
            { name: "description", type: "string", description: "What the part or service is" },
            { name: "quantity", type: "integer", description: "How many" },
            { name: "unit_price", type: "number", description: "Price per unit in USD" },
          ],
        },
      },
      {
        name: "appointment",
        type: "object",
        description: "The visit, when one was booked",
        fields: [
          { name: "date", type: "date", description: "Day of the visit" },
          { name: "window", type: "enum", options: ["8-12", "12-4", "4-8"], description: "Arrival window" },
        ],
      },
      { name: "callback_requested", type: "boolean", description: "Whether the caller asked to be called back" },
      { name: "website", type: "string", format: "url", description: "The caller's business website, if given" },
      { name: "notes", type: "string", description: "Anything the technician should know" },
    ]);
    expect(notes).toEqual([
      "customer.fullName: renamed to full_name (names are lower snake case)",
      "customer.address.postalCode: renamed to postal_code (names are lower snake case)",
    ]);
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
