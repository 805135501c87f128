// Public surface of the variable schema: request-side specs and the model-side output schema.
export { variablesSchema, withDefaults, withPhoneRegion, walkShapes, STRING_FORMATS, VARIABLE_TYPES, type ItemSpec, type StringFormat, type ValueShape, type VariableSpec, type VariableType, type VariableLimits } from "./variables.js";
export { buildOutputSchema, coercedValues, describeShape, outputSchemaFor, settleInvalidFormats, toStrictJsonSchema, type OutputSchema, type ModelAnswer } from "./output.js";
export { applyFormat, checkString } from "./formats.js";
export { compilePattern } from "./pattern.js";
export { openAiLimitIssues, OPENAI_LIMITS } from "./limits.js";
export { isInstant, isTimeZone, parseExtractRequest, extractJobForTurns, extractRequestSchema, formatPath, knownKeysAt, zodIssuesToDetails, type ExtractJob } from "./request.js";
