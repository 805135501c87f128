import { describe, expect, it } from "vitest";
import { buildFinalizeMessages } from "../../src/extract/prompt.js";
import { withDefaults } from "../../src/schema/index.js";

describe("the final pass over a long call's parts", () => {
  const [status, summary] = withDefaults([]);
  const parts = [{ summary: "Asked about a repair", status: false }, { summary: "Booked a visit", status: true }];

  it("describes status and summary when descriptions go in the prompt", () => {
    const user = buildFinalizeMessages(parts, { status, summary }, { descriptions: true })[1]!.content;
    expect(user).toContain(`- status: ${status!.description}`);
    expect(user).toContain('Part 2: summary="Booked a visit"; status=true');
  });

  it("leaves the descriptions to the schema when they go there only", () => {
    const user = buildFinalizeMessages(parts, { status, summary }, { descriptions: false })[1]!.content;
    expect(user).not.toContain(status!.description);
    expect(user).toContain('Part 1: summary="Asked about a repair"; status=false');
  });
});
