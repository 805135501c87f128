// Public surface of the variable schema: request-side specs and the model-side output schema.
export { variablesSchema, withDefaults, DEFAULT_VARIABLES, VARIABLE_TYPES, VARIABLE_NAME, type VariableSpec, type VariableType, type VariableLimits } from "./variables.js";
export { buildOutputSchema, outputSchemaFor, toStrictJsonSchema, type OutputSchema, type ModelAnswer } from "./output.js";
export { isInstant, isTimeZone, parseExtractRequest, extractRequestSchema, CallContextSchema, ExtractOptionsSchema, formatPath, zodIssuesToDetails, type ExtractJob, type CallContext } from "./request.js";
