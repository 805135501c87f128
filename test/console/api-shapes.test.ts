// The console's copies of the API's shapes and word lists (web/ cannot import the service's modules, which need Node)
// must stay what the service answers: a field the console reads that the API dropped or retyped fails to compile here.
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { CALL_STATES as SERVICE_CALL_STATES, type CallListSchema, type CallReviewedSchema, type CallSchema } from "../../src/calls/index.js";
import type { DestinationsHealthSchema, TestRequestResultSchema } from "../../src/delivery/index.js";
import type { ExtractResponseSchema } from "../../src/http/routes/extract.js";
import type { ProfileListSchema } from "../../src/calls/api/docs/profiles.js";
import type { backfillView } from "../../src/calls/api/backfill-router.js";
import type { InsightsSchema } from "../../src/calls/api/docs/insights.js";
import { VARIABLE_TYPES as SERVICE_VARIABLE_TYPES } from "../../src/schema/variables.js";
import { SOURCE_NAMES as SERVICE_SOURCE_NAMES } from "../../src/sources/index.js";
import type { Backfill, CallDetail, CallList, CallReviewed, DestinationHealth, ExtractResult, Insights, Profile, TestRequestResult } from "../../web/src/types.js";
import { CALL_STATES, SOURCE_NAMES, VARIABLE_TYPES } from "../../web/src/vocabulary.js";

/** True when every value the service sends is a value the console's type accepts. */
type Reads<Service, Console> = [Service] extends [Console] ? true : false;

const shapes: [
  Reads<z.infer<typeof CallSchema>, CallDetail>,
  Reads<z.infer<typeof CallListSchema>, CallList>,
  Reads<z.infer<typeof DestinationsHealthSchema>, { destinations: DestinationHealth[] }>,
  Reads<z.infer<typeof TestRequestResultSchema>, TestRequestResult>,
  Reads<z.infer<typeof ExtractResponseSchema>, ExtractResult>,
  Reads<z.infer<typeof CallReviewedSchema>, CallReviewed>,
  Reads<z.infer<typeof ProfileListSchema>, { profiles: Profile[] }>,
  Reads<ReturnType<typeof backfillView>, Backfill>,
  Reads<z.infer<typeof InsightsSchema>, Insights>,
] = [true, true, true, true, true, true, true, true, true];

describe("the console's copies of the API", () => {
  it("read what the service answers (checked when this file compiles)", () => {
    expect(shapes.every(Boolean)).toBe(true);
  });

  it("offer the service's own call states, platforms and variable types", () => {
    expect(CALL_STATES).toEqual(SERVICE_CALL_STATES);
    expect(SOURCE_NAMES).toEqual(SERVICE_SOURCE_NAMES);
    expect(VARIABLE_TYPES).toEqual(SERVICE_VARIABLE_TYPES);
  });
});
