// POST /v1/variables/convert: a peer's definition (Retell, Vapi, ElevenLabs, JSON Schema) as Debrief variables, with
// notes for what does not carry over. No LLM call and no configuration file needed.
import { Router } from "express";
import { z } from "zod";
import { InvalidRequestError } from "../../errors.js";
import { convertDefinition, ConvertRequestSchema } from "../../schema/convert/index.js";
import { variablesSchema, zodIssuesToDetails, type VariableLimits } from "../../schema/index.js";
import { bodyParserResponses, errorResponse, guardResponses, INVALID_BODY_EXAMPLE, INVALID_JSON_EXAMPLE, type ApiDocs } from "../openapi.js";

export const ConvertResponseSchema = z.object({
  variables: z.array(z.record(z.unknown())).describe("Debrief variables, ready for `variables` in POST /v1/extract or a profile"),
  notes: z.array(z.string()).describe("What did not carry over, was renamed or was written for you: read before use"),
});

export function convertRouter(deps: { limits: VariableLimits }): Router {
  const router = Router();
  const variables = variablesSchema(deps.limits);
  router.post("/variables/convert", (req, res) => {
    const parsed = ConvertRequestSchema.safeParse(req.body);
    if (!parsed.success) throw new InvalidRequestError("The request does not match the convert schema", zodIssuesToDetails(parsed.error.issues));
    const converted = convertDefinition(parsed.data.from, parsed.data.definition);
    // What comes out must be what /v1/extract accepts: anything it would refuse is said, not silently sent back.
    const checked = variables.safeParse(converted.variables);
    const notes = checked.success
      ? converted.notes
      : [...converted.notes, ...zodIssuesToDetails(checked.error.issues, ["variables"]).map((detail) => `${detail.path}: ${detail.message} (fix before use)`)];
    res.json({ variables: converted.variables, notes });
  });
  return router;
}

export function convertApiDocs(options: { auth: boolean; rateLimited: boolean }): ApiDocs {
  return (registry) => {
    registry.registerPath({
      method: "post",
      path: "/v1/variables/convert",
      operationId: "convertVariables",
      tags: ["Extraction"],
      summary: "Convert a peer's variable definitions into Debrief variables",
      description:
        "Reads Retell's post_call_analysis_data, a Vapi structured output or assistant analysisPlan, ElevenLabs' data_collection, or any JSON Schema object, and " +
        "answers with Debrief variables and notes for what does not carry over. Makes no LLM call.",
      request: {
        body: {
          required: true,
          content: {
            "application/json": {
              schema: ConvertRequestSchema,
              example: { from: "retell", definition: [{ type: "enum", name: "intent", description: "Why they called", choices: ["book", "cancel"] }] },
            },
          },
        },
      },
      responses: {
        "200": {
          description: "The variables and the notes",
          content: {
            "application/json": {
              schema: ConvertResponseSchema,
              example: { variables: [{ name: "intent", type: "enum", options: ["book", "cancel"], description: "Why they called" }], notes: [] },
            },
          },
        },
        "400": errorResponse("The body is not valid JSON, or `from` is not a known source.", [
          { code: "invalid_request", message: "The request does not match the convert schema", details: [{ path: "from", message: "Invalid enum value. Expected 'retell' | 'vapi' | 'elevenlabs' | 'json_schema', received 'bland'" }] },
          INVALID_JSON_EXAMPLE,
          INVALID_BODY_EXAMPLE,
        ]),
        ...guardResponses(options),
        ...bodyParserResponses(),
      },
    });
  };
}
