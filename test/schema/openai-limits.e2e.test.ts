// A variable set past one of OpenAI's structured-output limits is refused by POST /v1/extract with a 400 naming the
// limit, before any LLM call: the provider is never sent a schema it would refuse after the request was paid for.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { answerFor, startFakeLlm, type FakeLlm } from "../support/fake-llm.js";
import { startTestService, type TestService } from "../support/service.js";
import { HVAC_CALL_TEXT } from "../fixtures/calls.js";
import { LIMIT_CASES } from "./openai-limit-cases.js";

let llm: FakeLlm;
let service: TestService;

beforeAll(async () => {
  llm = await startFakeLlm((request) => ({ json: answerFor(request, {}) }));
  service = await startTestService({ OPENAI_BASE_URL: llm.url, OPENAI_API_KEY: "test-key", DEBRIEF_CACHE: "false" });
});
afterEach(() => {
  llm.requests.length = 0;
});
afterAll(async () => {
  await service.close();
  await llm.close();
});

describe("POST /v1/extract past OpenAI's structured-output limits", () => {
  it.each(LIMIT_CASES)("refuses variables past $limit with a 400 naming it, and calls no LLM", async ({ over, message }) => {
    const res = await service.post("/v1/extract", { transcript: HVAC_CALL_TEXT, variables: over });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("invalid_request");
    expect(res.body.error.details).toContainEqual({ path: "variables", message: expect.stringContaining(message) });
    expect(llm.requests).toHaveLength(0);
  });

  it("extracts a set just inside the large-enum limit (a 251-value enum of 14,809 characters), calling the LLM once", async () => {
    const inside = LIMIT_CASES.find((entry) => entry.limit.startsWith("15,000"))!.inside;
    const res = await service.post("/v1/extract", { transcript: HVAC_CALL_TEXT, variables: inside });
    expect(res.status).toBe(200);
    expect(llm.requests).toHaveLength(1);
  });

  it("names the variable whose pattern RE2 cannot compile, at the pattern's path, before any LLM call", async () => {
    const res = await service.post("/v1/extract", {
      transcript: HVAC_CALL_TEXT,
      variables: [{ name: "order_ref", type: "string", pattern: "(?<=#)\\d+", description: "The order reference" }],
    });
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual([
      { path: "variables[0].pattern", message: expect.stringMatching(/^variable "order_ref": the pattern does not compile as an RE2 regular expression: /) },
    ]);
    expect(llm.requests).toHaveLength(0);
  });
});
