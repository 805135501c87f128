// Public surface of the variable schema: request-side specs and the model-side output schema.
export { variablesSchema, withDefaults, type VariableSpec, type VariableType, type VariableLimits } from "./variables.js";
export { buildOutputSchema, coercedValues, outputSchemaFor, toStrictJsonSchema, type OutputSchema, type ModelAnswer } from "./output.js";
export { isInstant, isTimeZone, parseExtractRequest, extractJobForTurns, extractRequestSchema, formatPath, knownKeysAt, zodIssuesToDetails, type ExtractJob } from "./request.js";
