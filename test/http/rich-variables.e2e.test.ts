// Nested variables and formats end to end: real HTTP in, the real openai SDK out to the scripted loopback LLM.
import { readFileSync } from "node:fs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { answerFor, startFakeLlm, type FakeLlm } from "../support/fake-llm.js";
import { startTestService, type TestService } from "../support/service.js";
import { HVAC_CALL_TEXT } from "../fixtures/calls.js";

const ORDER_VARIABLES = [
  {
    name: "order",
    type: "object",
    description: "The order the customer placed",
    fields: [
      { name: "email", type: "string", format: "email", description: "Where the receipt goes" },
      { name: "phone", type: "string", format: "phone", description: "The customer's callback number" },
      {
        name: "items",
        type: "list",
        description: "Each product ordered",
        items: { type: "object", fields: [
          { name: "product", type: "string", description: "Product name" },
          { name: "quantity", type: "integer", description: "How many" },
        ] },
      },
    ],
  },
];

let llm: FakeLlm;
let service: TestService;

beforeAll(async () => {
  llm = await startFakeLlm();
  service = await startTestService({ OPENAI_BASE_URL: llm.url, OPENAI_API_KEY: "test-key", DEBRIEF_CACHE: "false" });
});
afterEach(() => {
  llm.requests.length = 0;
});
afterAll(async () => {
  await service.close();
  await llm.close();
});

describe("POST /v1/extract with nested variables", () => {
  it("returns the order with its line items, the phone in E.164 read in options.default_region", async () => {
    llm.script = (request) => ({
      json: answerFor(request, {
        status: true,
        summary: "Order placed",
        order: { email: "ana@Example.com", phone: "(312) 555-0197", items: [{ product: "NT-450 filter", quantity: 2 }, { product: "Thermostat", quantity: 1 }] },
      }),
    });
    const res = await service.post("/v1/extract", { transcript: HVAC_CALL_TEXT, variables: ORDER_VARIABLES, options: { default_region: "US" } });
    expect(res.status).toBe(200);
    expect(res.body.extracted_variables.order).toEqual({
      email: "ana@example.com",
      phone: "+13125550197",
      items: [{ product: "NT-450 filter", quantity: 2 }, { product: "Thermostat", quantity: 1 }],
    });
    expect(llm.requests[0]!.body.response_format?.json_schema?.strict).toBe(true);
  });

  it("asks once more for a value breaking its format, then makes it null with invalid_format at its path", async () => {
    llm.script = (request) => ({
      json: answerFor(request, { status: true, summary: "Order placed", order: { email: "at home", phone: null, items: [{ product: "Filter", quantity: 1 }] } }),
    });
    const res = await service.post("/v1/extract", { transcript: HVAC_CALL_TEXT, variables: ORDER_VARIABLES });
    expect(res.status).toBe(200);
    expect(llm.requests.length).toBe(2);
    expect(res.body.extracted_variables.order).toEqual({ email: null, phone: null, items: [{ product: "Filter", quantity: 1 }] });
    expect(res.body.review.needed).toBe(true);
    expect(res.body.review.fields["order.email"]).toEqual(["invalid_format"]);
  });

  it("keeps a wrong type after the repair round a failed extraction", async () => {
    llm.script = (request) => ({
      json: answerFor(request, { order: { email: null, phone: null, items: [{ product: "Filter", quantity: "a couple" }] } }),
    });
    const res = await service.post("/v1/extract", { transcript: HVAC_CALL_TEXT, variables: ORDER_VARIABLES });
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe("extraction_failed");
  });

  it("refuses a pattern RE2 cannot compile before any LLM call", async () => {
    const res = await service.post("/v1/extract", {
      transcript: HVAC_CALL_TEXT,
      variables: [{ name: "code", type: "string", pattern: "(?<=x)y", description: "A code" }],
    });
    expect(res.status).toBe(400);
    expect(res.body.error.details.map((detail: { path: string }) => detail.path)).toContain("variables[0].pattern");
    expect(llm.requests.length).toBe(0);
  });
});

describe("POST /v1/variables/convert", () => {
  it("answers a Retell definition as variables and notes, without calling the LLM", async () => {
    const res = await service.post("/v1/variables/convert", {
      from: "retell",
      definition: [{ type: "enum", name: "intent", description: "Why they called", choices: ["book", "cancel"] }, { type: "list", name: "tags", description: "Tags" }],
    });
    expect(res.status).toBe(200);
    expect(res.body.variables).toEqual([{ name: "intent", type: "enum", options: ["book", "cancel"], description: "Why they called" }]);
    expect(res.body.notes).toEqual(['post_call_analysis_data[1]: type "list" has no Debrief equivalent and was left out']);
    expect(llm.requests.length).toBe(0);
  });

  it("refuses an unknown source with a 400 naming `from`", async () => {
    const res = await service.post("/v1/variables/convert", { from: "bland", definition: {} });
    expect(res.status).toBe(400);
    expect(res.body.error.details[0].path).toBe("from");
  });
});

describe("the README's worked example", () => {
  it("answers the order with line items as the README shows it", async () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const section = readme.slice(readme.indexOf("A worked example, an order with line items."));
    const [request, answer] = [...section.matchAll(/```json\n([\s\S]*?)```/g)].slice(0, 2).map((match) => JSON.parse(match[1]!));
    llm.script = (req) => ({
      json: answerFor(req, {
        status: true,
        summary: answer.extracted_variables.summary,
        order: {
          customer_email: "ana@Example.com",
          phone: "(312) 555-0197",
          line_items: [
            { sku: "NT-450", product: "NT-450 filter", quantity: 2 },
            { sku: null, product: "thermostat", quantity: 1 },
          ],
        },
        delivery_time: "09:00",
      }),
    });
    const res = await service.post("/v1/extract", request);
    expect(res.status).toBe(200);
    expect(res.body.extracted_variables).toEqual(answer.extracted_variables);
    expect(res.body.review).toEqual(answer.review);
  });
});
