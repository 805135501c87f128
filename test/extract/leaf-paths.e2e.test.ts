// Nested values carry evidence, confidence and flags per leaf path, end to end: real HTTP into the service, the real
// openai SDK out to the loopback LLM, which answers with token log-probabilities.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { answerFor, startFakeLlm, userMessage, type FakeLlm, type RecordedRequest, type Reply } from "../support/fake-llm.js";
import { startTestService, type TestService } from "../support/service.js";
import { longCall } from "../fixtures/calls.js";
import { CONTACT, ORDER } from "./nested-variables.js";

const ORDER_CALL = [
  "AI: Thanks for calling Brightline Supply, this is Sam.",
  "Customer: Hi, this is Ana Ortiz. I'd like two NT-450 filters.",
  "AI: Two filters. Anything else?",
  "Customer: Yes, one smart thermostat, please.",
  "AI: Where should I send the confirmation?",
  "Customer: ana.ortiz@example.com. Keep it under three hundred dollars.",
].join("\n");

const VARIABLES = [
  { name: "budget", type: "number", description: "The most the customer will spend, in USD" },
  CONTACT,
  ORDER,
];

const VALUES = {
  status: true,
  summary: "Order of filters and a thermostat",
  budget: 300,
  contact: { name: "Ana Ortiz", email: "ana.ortiz@example.com" },
  items: [{ product: "NT-450 filter", quantity: 2 }, { product: "smart thermostat", quantity: 1 }],
};

const EVIDENCE = {
  budget: { quote: "Keep it under three hundred dollars.", turn: 5 },
  contact: [
    { path: "contact.name", quote: "this is Ana Ortiz", turn: 1 },
    { path: "contact.email", quote: "ana.ortiz@example.com", turn: 5 },
  ],
  items: [
    { path: "items[0].product", quote: "two NT-450 filters", turn: 1 },
    { path: "items[0].quantity", quote: "two NT-450 filters", turn: 1 },
    { path: "items[1].product", quote: "one smart thermostat", turn: 3 },
    { path: "items[1].quantity", quote: "one smart thermostat", turn: 3 },
  ],
};

const LEAVES = ["contact.name", "contact.email", "items[0].product", "items[0].quantity", "items[1].product", "items[1].quantity"];

let llm: FakeLlm;
let service: TestService;
const services: TestService[] = [];

async function serviceWith(env: Record<string, string> = {}): Promise<TestService> {
  const started = await startTestService({ OPENAI_BASE_URL: llm.url, OPENAI_API_KEY: "test-key", DEBRIEF_CACHE: "false", DEBRIEF_LLM_MAX_RETRIES: "0", ...env });
  services.push(started);
  return started;
}

const extract = (target: TestService, body: Record<string, unknown> = {}) =>
  target.post("/v1/extract", { transcript: ORDER_CALL, variables: VARIABLES, options: { evidence: true }, ...body });

beforeAll(async () => {
  llm = await startFakeLlm();
  service = await serviceWith();
});
afterEach(() => {
  llm.requests.length = 0;
  llm.logprobs = "omit";
});
afterAll(async () => {
  await Promise.all(services.map((s) => s.close()));
  await llm.close();
});

const schemaOf = (request: RecordedRequest) => request.body.response_format!.json_schema!.schema as Record<string, any>;

describe("evidence, confidence and flags per leaf path", () => {
  it("asks the model for a nested variable's evidence as a list of paths and quotes, and a flat one's as before", async () => {
    llm.script = (request) => ({ json: answerFor(request, VALUES, EVIDENCE) });
    const res = await extract(service);
    expect(res.status).toBe(200);
    const evidence = schemaOf(llm.requests[0]!).properties.evidence.properties;
    expect(JSON.stringify(evidence.budget)).toContain('"quote"');
    expect(JSON.stringify(evidence.budget)).not.toContain('"path"');
    expect(Object.keys(evidence.items.anyOf[0].items.properties)).toEqual(["path", "quote", "turn"]);
    expect(Object.keys(evidence.contact.anyOf[0].items.properties)).toEqual(["path", "quote", "turn"]);
    expect(llm.requests[0]!.body.messages[0]!.content).toContain("its path (contact.email, items[0].quantity)");
  });

  it("keeps a flat variable set's prompt and evidence exactly as they were", async () => {
    llm.script = (request) => ({ json: answerFor(request, { budget: 300 }, { budget: EVIDENCE.budget }) });
    const res = await extract(service, { variables: [VARIABLES[0]] });
    expect(llm.requests[0]!.body.messages[0]!.content).not.toContain("items[0].quantity");
    expect(res.body.evidence).toEqual({ budget: { quote: "Keep it under three hundred dollars.", turn: 5 } });
  });

  it("grounds, rates and flags each leaf by its path: the uncertain e-mail, the quantity written as text, the misquoted name", async () => {
    llm.logprobs = "give";
    const written = { ...VALUES, items: [{ product: "NT-450 filter", quantity: "2" }, VALUES.items[1]] };
    const misquoted = { ...EVIDENCE, contact: [{ path: "contact.name", quote: "my name is Ana", turn: 1 }, EVIDENCE.contact[1]] };
    llm.script = (request) => ({ json: answerFor(request, written, misquoted), tokens: { uncertain: { email: -1.5 } } });
    const res = await extract(service);
    expect(res.status).toBe(200);
    expect(res.body.extracted_variables.items[0].quantity).toBe(2);

    expect(Object.keys(res.body.confidence).sort()).toEqual(["budget", "status", "summary", ...LEAVES].sort());
    expect(res.body.confidence["contact.email"]).toBeCloseTo(Math.exp(-1.5), 4);
    for (const leaf of LEAVES.filter((path) => path !== "contact.email")) expect(res.body.confidence[leaf]).toBeGreaterThan(0.99);

    expect(res.body.evidence).toEqual({
      budget: EVIDENCE.budget,
      "contact.email": { quote: "ana.ortiz@example.com", turn: 5 },
      "items[0].product": { quote: "two NT-450 filters", turn: 1 },
      "items[0].quantity": { quote: "two NT-450 filters", turn: 1 },
      "items[1].product": { quote: "one smart thermostat", turn: 3 },
      "items[1].quantity": { quote: "one smart thermostat", turn: 3 },
    });
    expect(res.body.meta.ungrounded).toBe(1);
    expect(res.body.review).toEqual({
      needed: true,
      fields: { "contact.email": ["low_confidence"], "contact.name": ["ungrounded"], "items[0].quantity": ["coerced"] },
    });
  });

  it("flags as repaired only the leaf an earlier answer got wrong", async () => {
    const wrong = { ...VALUES, items: [VALUES.items[0], { product: "smart thermostat", quantity: "a few" }] };
    llm.script = (request, index) => ({ json: answerFor(request, index === 0 ? wrong : VALUES, EVIDENCE) });
    const res = await extract(service);
    expect(res.status).toBe(200);
    expect(res.body.meta.attempts).toBe(2);
    expect(res.body.review.fields).toEqual({ "items[1].quantity": ["repaired"] });
  });

  it("numbers a later chunk's item as merged, with that chunk's confidence and quote", async () => {
    const chunked = await serviceWith({ DEBRIEF_MAX_INPUT_TOKENS: "2500", DEBRIEF_CHUNK_OVERLAP_TURNS: "2" });
    llm.logprobs = "give";
    const transcript = longCall(
      ["AI: Thanks for calling Brightline Supply.", "Customer: I'd like two NT-450 filters."],
      ["Customer: Oh, and add one smart thermostat.", "AI: Done. Goodbye!"],
    );
    const isFinalPass = (request: RecordedRequest) => request.body.response_format?.json_schema?.name === "call_outcome";
    llm.script = (request): Reply => {
      if (isFinalPass(request)) return { json: { values: { status: true, summary: "Order placed" } } };
      const text = userMessage(request);
      const turnOf = (quote: string) => Number(/\[(\d+)\][^\n]*$/.exec(text.slice(0, text.indexOf(quote) + quote.length))?.[1]);
      if (text.includes("add one smart thermostat")) {
        const quote = { path: "items[0].quantity", quote: "add one smart thermostat", turn: turnOf("add one smart thermostat") };
        return {
          json: answerFor(request, { status: true, summary: "part", items: [{ product: "smart thermostat", quantity: 1 }] }, { items: [quote] }),
          tokens: { uncertain: { quantity: -0.8 } },
        };
      }
      if (text.includes("two NT-450 filters")) {
        const quote = { path: "items[0].quantity", quote: "two NT-450 filters", turn: turnOf("two NT-450 filters") };
        return { json: answerFor(request, { status: false, summary: "part", items: [{ product: "NT-450 filter", quantity: 2 }] }, { items: [quote] }) };
      }
      return { json: answerFor(request, { status: false, summary: "part" }) };
    };
    const res = await extract(chunked, { transcript });
    expect(res.status).toBe(200);
    expect(res.body.meta.chunks).toBeGreaterThanOrEqual(3);
    expect(res.body.extracted_variables.items).toEqual([{ product: "NT-450 filter", quantity: 2 }, { product: "smart thermostat", quantity: 1 }]);
    expect(res.body.confidence["items[1].quantity"]).toBeCloseTo(Math.exp(-0.8), 4);
    expect(res.body.confidence["items[0].quantity"]).toBeGreaterThan(0.99);
    expect(res.body.evidence["items[1].quantity"].quote).toBe("add one smart thermostat");
    expect(res.body.evidence["items[0].quantity"].quote).toBe("two NT-450 filters");
    expect(res.body.review.fields).toEqual({ "items[1].quantity": ["low_confidence"] });
  });
});
