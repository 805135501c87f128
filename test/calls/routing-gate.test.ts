// `extract: when_routed` decides, before any LLM call, whether a destination could receive the call.
import { describe, expect, it } from "vitest";
import { compilePipelineConfig } from "../../src/configuration/index.js";
import { decidableBeforeExtraction, routingSkipReason } from "../../src/calls/routing-gate.js";
import { sourceNamed } from "../../src/sources/index.js";
import { fixture } from "../fixtures/platforms.js";

const limits = { maxVariables: 200, maxDescriptionChars: 2000 };

function profileWith(destinations: Record<string, { when?: string }>, extract = "when_routed") {
  const config = compilePipelineConfig(
    {
      profiles: { dental: { variables: [{ name: "booked", type: "boolean", description: "Booked a visit" }], destinations: Object.keys(destinations), extract } },
      destinations: Object.fromEntries(Object.entries(destinations).map(([name, d]) => [name, { url: "https://crm.example.com/hook", ...d }])),
    },
    {},
    limits,
  );
  return config.profiles.get("dental")!;
}

// A Vapi call of 121 s that the customer ended.
const payload = fixture("vapi-end-of-call-report");
const vapi = sourceNamed("vapi");
const call = vapi.normalize(payload);

describe("extract: when_routed", () => {
  it("skips a call no destination would receive, by what the call says before extraction", async () => {
    const profile = profileWith({ long_calls: { when: "debrief.call.duration_s > 300" }, vapi_only: { when: "debrief.source = 'retell'" } });
    expect(await routingSkipReason(payload, call, profile, vapi)).toBe("no_destination_applies");
  });

  it("extracts when one destination applies", async () => {
    const profile = profileWith({ long_calls: { when: "debrief.call.duration_s > 300" }, any_vapi: { when: "debrief.source = 'vapi' and message.endedReason = 'customer-ended-call'" } });
    expect(await routingSkipReason(payload, call, profile, vapi)).toBeUndefined();
  });

  it("extracts when a destination's when reads extracted values, or it has no when: only extraction can decide", async () => {
    expect(await routingSkipReason(payload, call, profileWith({ short: { when: "debrief.call.duration_s > 300" }, booked: { when: "extracted_variables.booked = true" } }), vapi)).toBeUndefined();
    expect(await routingSkipReason(payload, call, profileWith({ short: { when: "debrief.call.duration_s > 300" }, all: {} }), vapi)).toBeUndefined();
    expect(await routingSkipReason(payload, call, profileWith({ flagged: { when: "$not(debrief.review.needed)" } }), vapi)).toBeUndefined();
  });

  it("changes nothing under extract: always (the default)", async () => {
    expect(await routingSkipReason(payload, call, profileWith({ long_calls: { when: "debrief.call.duration_s > 300" } }, "always"), vapi)).toBeUndefined();
  });

  it.each([
    ["debrief.call.duration_s > 60", true],
    ["message.endedReason = 'voicemail'", true],
    ["extracted_variables.booked", false],
    ["debrief.review.needed = false", false],
    ["**.booked = true", false],
    ["$$.extracted_variables.booked", false],
  ])("a when of %s is decidable before extraction: %s", (when, decidable) => {
    expect(decidableBeforeExtraction({ expressions: { name: "x", path: "destinations.x", when } })).toBe(decidable);
  });
});
