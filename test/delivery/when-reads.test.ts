import { describe, expect, it } from "vitest";
import { explainWhenFalse, whenReads } from "../../src/delivery/when-reads.js";

describe("what a destination's when reads", () => {
  it.each([
    ["debrief.call.duration_s > 60", ["debrief.call.duration_s"], false],
    ["extracted_variables.status = true and $exists(debrief.call.customer_phone)", ["extracted_variables.status", "debrief.call.customer_phone"], false],
    ["$not(debrief.review.needed)", ["debrief.review.needed"], false],
    ["$count(extracted_variables.items) > 0", ["extracted_variables.items"], false],
    ["status", ["status"], false],
    // Wildcards, the root and filters read more than a list of paths can say.
    ["**.x = 1", [], true],
    ["$$.a = 1", [], true],
    ["items[qty > 1].sku = 'a'", ["items"], true],
  ])("%s reads %j", (source, paths, opaque) => {
    expect(whenReads(source)).toEqual({ paths, opaque });
  });

  it("says why it was not true: the expression and each value it read", async () => {
    const payload = { debrief: { call: { duration_s: 30 } }, extracted_variables: { plan: "pro" } };
    expect(await explainWhenFalse("debrief.call.duration_s > 60 and extracted_variables.plan = 'pro'", payload)).toBe(
      "when debrief.call.duration_s > 60 and extracted_variables.plan = 'pro' was not true; it read debrief.call.duration_s = 30, extracted_variables.plan = \"pro\"",
    );
  });

  it("shows a value the payload lacks as absent, and keeps a long value or expression to one short line", async () => {
    const reason = await explainWhenFalse(`extracted_variables.summary = '${"x".repeat(300)}'\n and $exists(debrief.call.customer_phone)`, {
      extracted_variables: { summary: "y".repeat(500) },
      debrief: { call: {} },
    });
    expect(reason).not.toContain("\n");
    expect(reason.length).toBeLessThan(450);
    expect(reason).toContain("debrief.call.customer_phone = absent");
    expect(reason).toContain('extracted_variables.summary = "yyyy');
  });
});
