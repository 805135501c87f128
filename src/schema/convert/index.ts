// Public surface of the peers' definitions converter: one function per source, and the request that names it.
import { z } from "zod";
import { fromJsonSchema, type Conversion } from "./json-schema.js";
import { fromElevenLabs, fromRetell, fromVapi } from "./peers.js";

export const CONVERT_SOURCES = ["retell", "vapi", "elevenlabs", "json_schema"] as const;
export type ConvertSource = (typeof CONVERT_SOURCES)[number];

export const ConvertRequestSchema = z
  .object({
    from: z.enum(CONVERT_SOURCES).describe("Whose definition this is"),
    definition: z
      .unknown()
      .refine((value) => value !== undefined, "is required")
      .describe(
        "retell: the agent's post_call_analysis_data array (or the agent); vapi: a structured output {name, description, schema}, or an " +
          "assistant's analysisPlan (structuredDataSchema or structuredDataPlan.schema) or the assistant; elevenlabs: " +
          "platform_settings.data_collection (or the agent); json_schema: an object schema",
      ),
  })
  .strict();

export function convertDefinition(from: ConvertSource, definition: unknown): Conversion {
  switch (from) {
    case "retell":
      return fromRetell(definition);
    case "vapi":
      return fromVapi(definition);
    case "elevenlabs":
      return fromElevenLabs(definition);
    case "json_schema":
      return fromJsonSchema(definition);
  }
}

export { fromJsonSchema, fromElevenLabs, fromRetell, fromVapi, type Conversion };
