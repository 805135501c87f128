import { describe, expect, it } from "vitest";
import { mergeChunkAnswers, reviewOf } from "../../src/extract/index.js";
import { CONTACT, ORDER } from "./nested-variables.js";

describe("merging chunk answers of nested variables", () => {
  it("treats items that agree on every field both give as one item, merged field by field", () => {
    const merged = mergeChunkAnswers([ORDER], [
      { values: { items: [{ product: "NT-450 Filter", quantity: null }, { product: "Thermostat", quantity: 1 }] } },
      { values: { items: [{ product: "nt-450  filter", quantity: 2 }, { product: "Duct tape", quantity: 3 }] } },
    ]);
    expect(merged.values.items).toEqual([
      { product: "nt-450  filter", quantity: 2 },
      { product: "Thermostat", quantity: 1 },
      { product: "Duct tape", quantity: 3 },
    ]);
    expect(merged.disagreements).toEqual([]);
    expect(merged.sources.items).toEqual([0, 1]);
  });

  it("keeps items that differ on a field both give apart", () => {
    const merged = mergeChunkAnswers([ORDER], [
      { values: { items: [{ product: "Filter", quantity: 2 }] } },
      { values: { items: [{ product: "Filter", quantity: 3 }] } },
    ]);
    expect(merged.values.items).toEqual([{ product: "Filter", quantity: 2 }, { product: "Filter", quantity: 3 }]);
  });

  it("merges an object field by field: a null never overwrites, a later different value wins and is named by its path", () => {
    const merged = mergeChunkAnswers([CONTACT], [
      { values: { contact: { name: "Ana", email: "ana@old.com" } } },
      { values: { contact: { name: null, email: "ana@new.com" } } },
    ]);
    expect(merged.values.contact).toEqual({ name: "Ana", email: "ana@new.com" });
    expect(merged.disagreements).toEqual(["contact.email"]);
  });
});

describe("review flags on nested paths", () => {
  it("flags a field the chunks disagreed on by its path, and an invalid_format null by its path", () => {
    const review = reviewOf({
      values: { contact: { name: "Ana", email: null }, items: [{ product: "Filter", quantity: 3 }] },
      flags: { "contact.email": ["invalid_format"], "items[0].quantity": ["chunks_disagree"] },
      minConfidence: 0.5,
    });
    expect(review).toEqual({ needed: true, fields: { "contact.email": ["invalid_format"], "items[0].quantity": ["chunks_disagree"] } });
  });

  it("drops invalid_format once another chunk gave a valid value at that path", () => {
    const review = reviewOf({ values: { contact: { name: "Ana", email: "ana@example.com" } }, flags: { "contact.email": ["invalid_format"] }, minConfidence: 0.5 });
    expect(review).toEqual({ needed: false, fields: {} });
  });

  it("raises invalid_format on a top-level variable made null", () => {
    const review = reviewOf({ values: { phone: null }, flags: { phone: ["invalid_format"] }, minConfidence: 0.5 });
    expect(review).toEqual({ needed: true, fields: { phone: ["invalid_format"] } });
  });
});

describe("the prompt's variable list with descriptions in it", () => {
  it("names nested fields indented under their variable, with formats and examples", async () => {
    const { buildExtractionMessages } = await import("../../src/extract/prompt.js");
    const { parseExtractRequest } = await import("../../src/schema/index.js");
    const job = parseExtractRequest(
      { transcript: "Agent: Hi.\nCustomer: Hello.", variables: [CONTACT, ORDER, { name: "zip", type: "string", pattern: "^\\d{5}$", examples: ["60614"], description: "ZIP" }] },
      { maxVariables: 50, maxDescriptionChars: 500 },
    );
    const messages = buildExtractionMessages(job, { index: 0, turns: job.turns, start: 0, end: job.turns.length } as never, { descriptions: true, chunkIndex: 0, chunkCount: 1 });
    const text = messages.map((message) => message.content).join("\n");
    expect(text).toContain("- contact (object, or null): Who called\n  - name (string, or null): Full name\n  - email (string, or null): E-mail address");
    expect(text).toContain("- items (list of object, or null): Each product ordered\n  - product (string, or null): Product name");
    expect(text).toContain('- zip (string, or null): ZIP (must match the regular expression ^\\d{5}$) Examples: "60614".');
  });
});
