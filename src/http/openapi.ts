// The OpenAPI 3.1 document, generated from the zod schemas that validate requests and shape responses:
// there is no hand-written copy of a shape to drift. Each route module describes its own paths.
import {
  OpenAPIRegistry,
  OpenApiGeneratorV31,
  extendZodWithOpenApi,
  type ResponseConfig,
} from "@asteasolutions/zod-to-openapi";
import { z } from "zod";
import { OPERATION_SCOPES } from "../access/index.js";
import { ErrorBodySchema, type ErrorBody } from "./errors.js";

// Adds `.openapi()` to zod's prototype (and wraps optional, nullable, default, transform, refine, pick, omit so they
// keep metadata). Done once, here, when the module loads; route modules import this file before describing paths.
extendZodWithOpenApi(z);

/** A module's contribution to the document: `registry.registerPath(…)`, `registry.register(name, schema)`. */
export type ApiDocs = (registry: OpenAPIRegistry) => void;

/** True when A and B are the same type: a documented schema and the type a route returns must not drift apart. */
export type SameShape<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

const ERROR_SCHEMA_REF = { $ref: "#/components/schemas/Error" } as const;

type ErrorExample = Omit<ErrorBody["error"], "details"> & { details?: ErrorBody["error"]["details"] };

/** A response whose body is the error schema, with one named example per code it may carry. */
export function errorResponse(description: string, examples: ErrorExample[], headers?: ResponseConfig["headers"]): ResponseConfig {
  return {
    description,
    ...(headers ? { headers } : {}),
    content: {
      "application/json": {
        schema: ERROR_SCHEMA_REF,
        examples: Object.fromEntries(
          examples.map((example) => [example.code, { value: { error: { details: [], ...example } } }]),
        ),
      },
    },
  };
}

/** An unknown profile, or one the key may not use: one answer for both, naming only the profile asked for. */
export const PROFILE_NOT_FOUND_EXAMPLE = {
  code: "profile_not_found",
  message: 'No profile named "bookings"',
  details: [{ path: "profile", message: "is not a profile this key can use" }],
};

/** The 404 of every route that names a profile. */
export function profileNotFoundResponse(): ResponseConfig {
  return errorResponse("No profile has this name, or the key is bound to other profiles.", [PROFILE_NOT_FOUND_EXAMPLE]);
}

export const INVALID_JSON_EXAMPLE = { code: "invalid_json", message: "The body is not valid JSON: Unexpected end of JSON input" };

/** A call whose variables and instructions alone leave no room for a transcript in the prompt budget. */
export const PROMPT_BUDGET_EXAMPLE = {
  code: "prompt_budget_exceeded",
  message: "The variables and instructions alone take 99870 prompt tokens, leaving no room for the transcript within DEBRIEF_MAX_INPUT_TOKENS=100000",
  details: [{ path: "variables", message: "too many or too long variable descriptions for the prompt budget" }],
};

/** A compressed body that does not decode as its Content-Encoding says. */
export const INVALID_BODY_EXAMPLE = {
  code: "invalid_body",
  message: "The body is not valid gzip data, as its Content-Encoding says: incorrect header check",
};

/** What the JSON body parser in front of every /v1 POST answers before the route runs. */
export function bodyParserResponses(): Record<"413" | "415", ResponseConfig> {
  return {
    "413": errorResponse("The body is larger than DEBRIEF_MAX_BODY.", [
      { code: "payload_too_large", message: "The body is larger than the limit of 2097152 bytes (DEBRIEF_MAX_BODY)" },
    ]),
    "415": errorResponse("A body was sent that is not JSON, or with a Content-Encoding other than gzip, deflate or br.", [
      { code: "unsupported_media_type", message: "Content-Type must be application/json, not text/plain" },
    ]),
  };
}

/** A POST that needs no body still has one parsed if it is sent. */
export function unusedBodyResponses(): Record<"400" | "413" | "415", ResponseConfig> {
  return {
    "400": errorResponse("A body was sent (none is needed) and it is not valid JSON, or does not decode.", [INVALID_JSON_EXAMPLE, INVALID_BODY_EXAMPLE]),
    ...bodyParserResponses(),
  };
}

/** The responses every route behind authentication and rate limiting may give. */
export function guardResponses(options: { auth: boolean; rateLimited: boolean }): Record<string, ResponseConfig> {
  return {
    ...(options.auth
      ? {
          "401": errorResponse(
            "No API key, or not a valid one.",
            [{ code: "unauthorized", message: "An API key is required: send `Authorization: Bearer <key>` or `X-API-Key: <key>`" }],
            { "WWW-Authenticate": { schema: { type: "string", example: "Bearer" } } },
          ),
          "403": errorResponse("A valid key without the scope this operation needs (its `security` names it).", [
            { code: "insufficient_scope", message: "This key lacks the scope this operation needs: calls:read", details: [{ path: "scope", message: "calls:read" }] },
          ]),
        }
      : {}),
    ...(options.rateLimited
      ? {
          "429": errorResponse(
            "Over the rate limit (DEBRIEF_RATE_LIMIT per DEBRIEF_RATE_LIMIT_WINDOW, per API key).",
            [{ code: "rate_limited", message: "Too many requests: the limit is 600 per 1m; retry after 42s" }],
            {
              "Retry-After": { description: "Seconds until the window resets", schema: { type: "integer", example: 42 } },
              RateLimit: { description: "IETF draft-8 remaining quota", schema: { type: "string", example: '"600-per-1m"; r=0; t=42' } },
              "RateLimit-Policy": { description: "IETF draft-8 quota policy", schema: { type: "string", example: '"600-per-1m"; q=600; w=60; pk=:ZjI0…:' } },
            },
          ),
        }
      : {}),
  };
}

export interface DocumentOptions {
  /** API-key auth is on: every operation but the health checks requires it. */
  auth: boolean;
  docs: readonly ApiDocs[];
}

const KEY_DESCRIPTION =
  "A key of DEBRIEF_API_KEYS (every scope) or of the configuration file's `keys:` (its scopes); each operation's `security` names the scope it needs";

/** Builds the document; the app builds it once, on the first request for it. */
export function buildOpenApiDocument(options: DocumentOptions) {
  const registry = new OpenAPIRegistry();
  registry.register("Error", ErrorBodySchema.openapi({ example: { error: { code: "invalid_request", message: "The request does not match the extraction schema", details: [{ path: "variables[0].name", message: "must be 2 to 64 characters: a lowercase letter, then lowercase letters, digits or underscores (^[a-z][a-z0-9_]{1,63}$)" }] } } }));
  if (options.auth) {
    registry.registerComponent("securitySchemes", "bearerAuth", { type: "http", scheme: "bearer", description: KEY_DESCRIPTION });
    registry.registerComponent("securitySchemes", "apiKeyHeader", { type: "apiKey", in: "header", name: "X-API-Key", description: KEY_DESCRIPTION });
  }
  for (const describe of options.docs) describe(registry);

  const document = new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: "3.1.0",
    info: {
      title: "Debrief",
      version: "1",
      description:
        "Turns phone-call transcripts into typed, validated variables. Every error has the body `{\"error\": {code, message, details}}`; " +
        "branch on `code`. Every response carries `X-Request-Id` (the one you sent, or a new one).",
    },
    ...(options.auth ? { security: [{ bearerAuth: [] }, { apiKeyHeader: [] }] } : {}),
  });
  if (options.auth) declareScopes((document.paths ?? {}) as unknown as Record<string, Record<string, Operation> | undefined>);
  return document;
}

/**
 * Each /v1 operation's `security` names the scope it needs (an empty list: any valid key), from the table the app
 * enforces; an operation missing from it keeps the document's scope-less default, which the scope test catches.
 */
type Operation = { security?: Record<string, string[]>[] };
function declareScopes(paths: Record<string, Record<string, Operation> | undefined>) {
  for (const [path, item] of Object.entries(paths)) {
    if (!path.startsWith("/v1/") || !item) continue;
    for (const [method, operation] of Object.entries(item)) {
      const requirement = OPERATION_SCOPES[`${method.toUpperCase()} ${path}`];
      if (requirement === undefined || typeof operation !== "object") continue;
      const scopes = requirement === "any" ? [] : [requirement];
      operation.security = [{ bearerAuth: scopes }, { apiKeyHeader: scopes }];
    }
  }
}
