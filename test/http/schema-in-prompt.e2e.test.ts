// DEBRIEF_SCHEMA_IN_PROMPT end to end: what the prompt holds in each mode, and that the modes never share cache entries.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { answerFor, startFakeLlm, userMessage, type FakeLlm } from "../support/fake-llm.js";
import { startTestService, type TestService } from "../support/service.js";
import { HVAC_CALL_TEXT } from "../fixtures/calls.js";

const VARIABLES = [
  { name: "budget", type: "number", description: "Monthly budget the customer states, in USD" },
  { name: "service_type", type: "enum", options: ["cleaning", "repair"], description: "What the customer needs" },
];

let llm: FakeLlm;
const services: TestService[] = [];

async function serviceWith(env: Record<string, string>): Promise<TestService> {
  const started = await startTestService({ OPENAI_BASE_URL: llm.url, OPENAI_API_KEY: "test-key", DEBRIEF_CACHE: "false", ...env });
  services.push(started);
  return started;
}

beforeAll(async () => {
  llm = await startFakeLlm((request) => ({ json: answerFor(request, { budget: 4000, service_type: "repair" }) }));
});
afterEach(() => {
  llm.requests.length = 0;
});
afterAll(async () => {
  await Promise.all(services.map((s) => s.close()));
  await llm.close();
});

const schemaOf = (index = 0) => JSON.stringify(llm.requests[index]!.body.response_format?.json_schema?.schema);

describe("DEBRIEF_SCHEMA_IN_PROMPT", () => {
  it("never: the prompt names each variable and its type, and the descriptions and options reach the model once, in the schema", async () => {
    const lean = await serviceWith({ DEBRIEF_SCHEMA_IN_PROMPT: "never" });
    const res = await lean.post("/v1/extract", { transcript: HVAC_CALL_TEXT, variables: VARIABLES });
    expect(res.status).toBe(200);
    const prompt = userMessage(llm.requests[0]!);
    expect(prompt).toContain("budget (number)");
    expect(prompt).toContain("service_type (enum)");
    expect(prompt).not.toContain("Monthly budget the customer states");
    expect(prompt).not.toContain('"cleaning"');
    expect(schemaOf()).toContain("Monthly budget the customer states, in USD");
    expect(schemaOf()).toContain('"cleaning","repair"');
    expect(res.body.meta.prompt_version).toMatch(/^extract-\d+\+[0-9a-f]{8}\+lean$/);
  });

  it("always: the prompt describes each variable as well, with its options", async () => {
    const full = await serviceWith({ DEBRIEF_SCHEMA_IN_PROMPT: "always" });
    const res = await full.post("/v1/extract", { transcript: HVAC_CALL_TEXT, variables: VARIABLES });
    const prompt = userMessage(llm.requests[0]!);
    expect(prompt).toContain("- budget (number, or null): Monthly budget the customer states, in USD");
    expect(prompt).toContain('- service_type (enum of ["cleaning","repair"], or null): What the customer needs');
    expect(schemaOf()).toContain("Monthly budget the customer states, in USD");
    expect(res.body.meta.prompt_version).toMatch(/^extract-\d+\+[0-9a-f]{8}$/);
  });

  it("auto on a server other than OpenAI's describes the variables in the prompt", async () => {
    const auto = await serviceWith({});
    await auto.post("/v1/extract", { transcript: HVAC_CALL_TEXT, variables: VARIABLES });
    expect(userMessage(llm.requests[0]!)).toContain("Monthly budget the customer states");
  });

  it("never in json_object mode: the descriptions come once, in the schema the prompt carries", async () => {
    const jsonLean = await serviceWith({ DEBRIEF_SCHEMA_IN_PROMPT: "never", DEBRIEF_STRUCTURED_OUTPUT: "json_object" });
    await jsonLean.post("/v1/extract", { transcript: HVAC_CALL_TEXT, variables: VARIABLES });
    const prompt = userMessage(llm.requests[0]!);
    expect(prompt.split("Monthly budget the customer states").length - 1).toBe(1);
    expect(prompt).toContain('"additionalProperties":false');
  });

  it("keeps each mode's answers apart in the cache: the other mode misses, the same mode hits", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "debrief-schema-mode-"));
    const body = { transcript: HVAC_CALL_TEXT, variables: VARIABLES };
    const lean = await startTestService({ OPENAI_BASE_URL: llm.url, OPENAI_API_KEY: "test-key", DEBRIEF_DATA_DIR: dataDir, DEBRIEF_SCHEMA_IN_PROMPT: "never" });
    expect((await lean.post("/v1/extract", body)).body.meta.cached).toBe(false);
    expect((await lean.post("/v1/extract", body)).body.meta.cached).toBe(true);
    await lean.close();
    const full = await startTestService({ OPENAI_BASE_URL: llm.url, OPENAI_API_KEY: "test-key", DEBRIEF_DATA_DIR: dataDir, DEBRIEF_SCHEMA_IN_PROMPT: "always" });
    services.push(full);
    expect((await full.post("/v1/extract", body)).body.meta.cached).toBe(false);
    expect((await full.post("/v1/extract", body)).body.meta.cached).toBe(true);
    expect(llm.requests).toHaveLength(2);
  });
});
