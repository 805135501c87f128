import { describe, expect, it } from "vitest";
import { loadSettings } from "../../src/settings.js";
import { Extractor } from "../../src/extract/index.js";
import { unconfiguredLlm } from "../../src/llm/index.js";
import { parseExtractRequest } from "../../src/schema/index.js";

const settings = loadSettings({ OPENAI_API_KEY: "k" });
const extractor = new Extractor({ llm: unconfiguredLlm, settings: settings.llm });
const contact = (fields: unknown[]) => ({ name: "contact", type: "object", description: "Who called", fields });
const body = (variables: unknown[], options: Record<string, unknown> = {}) => ({ transcript: "AI: Hi.\nCustomer: Hello.", variables, options });
const key = (value: unknown) => extractor.cacheKey(parseExtractRequest(value, settings.limits));

describe("the cache key of rich variables", () => {
  const base = body([contact([{ name: "email", type: "string", format: "email", description: "E-mail" }])]);

  it.each([
    ["another field", body([contact([{ name: "phone", type: "string", format: "phone", description: "E-mail" }])])],
    ["another format", body([contact([{ name: "email", type: "string", format: "url", description: "E-mail" }])])],
    ["a pattern", body([contact([{ name: "email", type: "string", format: "email", pattern: "@acme\\.com$", description: "E-mail" }])])],
    ["examples", body([contact([{ name: "email", type: "string", format: "email", examples: ["a@b.co"], description: "E-mail" }])])],
  ])("changes with %s", (_label, changed) => {
    expect(key(changed)).not.toBe(key(base));
  });

  it("changes with the default region a phone number is read in", () => {
    const phone = [{ name: "phone", type: "string", format: "phone", description: "Number" }];
    expect(key(body(phone, { default_region: "US" }))).not.toBe(key(body(phone, { default_region: "GB" })));
  });
});
