// POST /v1/extract: a transcript and a variable schema in, typed values out.
import { Router } from "express";
import { z } from "zod";
import {
  LlmNotConfiguredError,
  LocalModelLoadingError,
  LocalModelUnavailableError,
  LocalRuntimeNotInstalledError,
  RequestCancelledError,
} from "../../errors.js";
import { ExtractionSchema, ReviewSchema, type Extractor, type ExtractResult } from "../../extract/index.js";
import { TRANSCRIPT_EXPECTED } from "../../transcript/index.js";
import { extractRequestSchema, parseExtractRequest, type VariableLimits } from "../../schema/index.js";
import { bodyParserResponses, errorResponse, guardResponses, INVALID_BODY_EXAMPLE, INVALID_JSON_EXAMPLE, PROMPT_BUDGET_EXAMPLE, type ApiDocs, type SameShape } from "../openapi.js";

const UsageSchema = ExtractionSchema.shape.usage;

/** The 200 body. Built from the cached extraction's schema plus the per-request meta. */
export const ExtractResponseSchema = z.object({
  extracted_variables: ExtractionSchema.shape.extracted_variables.describe(
    "One key per requested variable (and the defaults status and summary); null when the call never said",
  ),
  evidence: ExtractionSchema.shape.evidence.describe("With options.evidence: a verbatim quote and its turn for each non-null value found in the transcript"),
  confidence: ExtractionSchema.shape.confidence.describe(
    "For each non-null value, 0..1: the probability of the least likely token of the value in the model's answer. " +
      "Absent when the LLM gave no token log-probabilities (DEBRIEF_LOGPROBS=off, a server that refuses or omits them, the local model)",
  ),
  review: ReviewSchema.describe("Which values a human may want to check before they reach a CRM, and why"),
  meta: z.object({
    model: z.string(),
    prompt_version: z.string(),
    cached: z.boolean().describe("Answered from the result cache: no LLM call, no tokens"),
    attempts: z.number().int().describe("LLM answers needed, repair rounds included (0 when cached)"),
    chunks: z.number().int().describe("Parts a long call was split into to fit DEBRIEF_MAX_INPUT_TOKENS"),
    llm_calls: z.number().int(),
    usage: UsageSchema,
    cost_usd: z.number().nullable().describe("What usage cost in USD (0 when cached), by the model asked for; null for a model the price table (DEBRIEF_PRICES) does not know"),
    original_usage: UsageSchema.optional().describe("On a cache hit: what the original extraction cost"),
    ungrounded: z.number().int().optional().describe("With evidence: quotes dropped because the transcript does not contain them"),
    latency_ms: z.number().int(),
    extracted_at: z.string().describe("ISO 8601 time of the extraction (the original one on a cache hit)"),
  }),
});

// The document's response schema and the type the pipeline returns must stay one shape, optional fields included:
// this fails to compile otherwise (the pipeline's own zod schema for it would make this check unnecessary).
const responseMatchesResult: SameShape<z.infer<typeof ExtractResponseSchema>, ExtractResult> = true;
void responseMatchesResult;

export function extractRouter(deps: { extractor: Extractor; limits: VariableLimits }): Router {
  const router = Router();
  router.post("/extract", async (req, res) => {
    const job = parseExtractRequest(req.body, deps.limits);
    // A client that hangs up no longer waits: its share of the LLM work (a local model's sequence) is given up.
    const left = new AbortController();
    res.once("close", () => {
      if (!res.writableFinished) left.abort(new RequestCancelledError());
    });
    const result = await deps.extractor.extract(job, { signal: left.signal });
    res.locals.extraction = { model: result.meta.model, cached: result.meta.cached, usage: result.meta.usage, chunks: result.meta.chunks };
    res.json(result);
  });
  return router;
}

const REQUEST_EXAMPLE = {
  transcript:
    "Agent: Hi, this is Sam from CoolAir Services. How can I help?\n" +
    "Customer: Our AC stopped cooling. Definitely a repair.\n" +
    "Agent: What budget did you have in mind?\n" +
    "Customer: My boss capped it at four thousand.\n" +
    "Agent: I can book a technician for Wednesday, June 17.\n" +
    "Customer: Perfect.",
  variables: [
    { name: "budget", type: "number", description: "Budget the customer states, in USD" },
    { name: "service_type", type: "enum", options: ["cleaning", "repair", "installation"], description: "What the customer needs" },
    { name: "appointment_date", type: "date", description: "The date the visit is booked for" },
  ],
  context: {
    system_prompt: "Book an HVAC repair visit.",
    call: { id: "call_8f2c", created_at: "2026-06-12T14:05:00Z", timezone: "America/New_York" },
  },
  options: { evidence: true },
};

const RESPONSE_EXAMPLE: ExtractResult = {
  extracted_variables: {
    status: true,
    summary: "AC repair booked for June 17 within a $4,000 budget.",
    budget: 4000,
    service_type: "repair",
    appointment_date: "2026-06-17",
  },
  evidence: {
    budget: { quote: "My boss capped it at four thousand.", turn: 3 },
    service_type: { quote: "Definitely a repair.", turn: 1 },
    appointment_date: { quote: "I can book a technician for Wednesday, June 17.", turn: 4 },
  },
  confidence: { status: 0.9241, summary: 0.4817, budget: 0.9968, service_type: 0.9999, appointment_date: 0.3112 },
  review: { needed: true, fields: { summary: ["low_confidence"], budget: ["coerced"], appointment_date: ["low_confidence"] } },
  meta: {
    model: "gpt-4o-mini",
    prompt_version: "extract-2+1a2b3c4d+lean",
    cached: false,
    attempts: 1,
    chunks: 1,
    llm_calls: 1,
    usage: { prompt_tokens: 812, completion_tokens: 96 },
    cost_usd: 0.000179,
    ungrounded: 0,
    latency_ms: 1840,
    extracted_at: "2026-06-12T14:06:11.204Z",
  },
};

export function extractApiDocs(options: { limits: VariableLimits; auth: boolean; rateLimited: boolean }): ApiDocs {
  return (registry) => {
    const request = registry.register("ExtractRequest", extractRequestSchema(options.limits));
    const response = registry.register("ExtractResponse", ExtractResponseSchema);
    registry.registerPath({
      method: "post",
      path: "/v1/extract",
      operationId: "extract",
      tags: ["Extraction"],
      summary: "Extract typed variables from a call transcript",
      description:
        "Validates the request, runs the LLM with a strict JSON schema built from `variables` (repairing an invalid answer), " +
        "and answers with one value per variable, `null` for what the call never said. Identical requests are answered " +
        "from the result cache unless `options.cache` is false.",
      request: {
        headers: z.object({ "x-request-id": z.string().optional().describe("Your id for this request, echoed back and logged") }),
        body: { required: true, content: { "application/json": { schema: request, example: REQUEST_EXAMPLE } } },
      },
      responses: {
        "200": {
          description: "The extracted variables",
          headers: { "X-Request-Id": { schema: { type: "string" } } },
          content: { "application/json": { schema: response, example: RESPONSE_EXAMPLE } },
        },
        "400": errorResponse("The body is not valid JSON or does not decode, or does not match the schema (each problem in details, by JSON path).", [
          {
            code: "invalid_request",
            message: "The request does not match the extraction schema",
            details: [
              { path: "variables[1].options", message: "an enum needs options: a non-empty list of distinct strings" },
              { path: "transcript", message: TRANSCRIPT_EXPECTED },
              { path: "variable", message: "unknown key: did you mean `variables`?" },
            ],
          },
          INVALID_JSON_EXAMPLE,
          INVALID_BODY_EXAMPLE,
          {
            code: "model_not_available",
            message: "This deployment runs the local model local:qwen2.5-1.5b-instruct-q4_k_m only",
            details: [{ path: "options.model", message: 'must be local:qwen2.5-1.5b-instruct-q4_k_m (or left out), not "gpt-4o"' }],
          },
          PROMPT_BUDGET_EXAMPLE,
        ]),
        ...guardResponses(options),
        ...bodyParserResponses(),
        "502": errorResponse("The LLM failed, refused, or never gave an answer that passes validation.", [
          { code: "llm_unavailable", message: "The LLM is unavailable: 503 Service Unavailable" },
          {
            code: "extraction_failed",
            message: "The model's answer still broke the schema after 1 repair round(s)",
            details: [{ path: "values.budget", message: "Expected number, received string" }],
          },
          { code: "llm_refused", message: "The model refused to answer: I can't help with that.", details: [{ message: "I can't help with that." }] },
          { code: "llm_unauthorized", message: "The LLM server refused our credentials (HTTP 401): check OPENAI_API_KEY" },
          { code: "llm_model_not_found", message: "The LLM server does not know this model or route: 404 model not found" },
        ]),
        "503": errorResponse(
          "No LLM can answer: none is configured, or the local model is still loading (Retry-After), failed to load, or is not installed.",
          // The examples are the errors themselves, so their messages cannot drift from what the service says.
          [
            new LlmNotConfiguredError(),
            new LocalModelLoadingError(0.42),
            new LocalModelUnavailableError("the download of https://huggingface.co/… failed: could not reach huggingface.co: getaddrinfo ENOTFOUND huggingface.co"),
            new LocalRuntimeNotInstalledError(),
          ].map((error) => ({ code: error.code, message: error.message })),
          { "Retry-After": { schema: { type: "integer" }, description: "With local_model_loading: seconds to wait before retrying" } },
        ),
        "504": errorResponse("The LLM did not answer within DEBRIEF_LLM_TIMEOUT, after retries.", [
          { code: "llm_timeout", message: "The LLM did not answer in time: Request timed out." },
        ]),
      },
    });
  };
}
