// Public surface of the voice platform adapters: the contract, the registry, and what the OpenAPI document shows.
export {
  SOURCE_NAMES,
  type CallFacts,
  type HeaderCheck,
  type InboundRequest,
  type NormalizedCall,
  type SignatureFailure,
  type SignatureScheme,
  type Source,
  type SourceName,
} from "./source.js";
export { inboundScheme, recognizePayload, sourceNamed, SOURCES, UnknownPayloadShapeError, type InboundScheme, type Recognized, type SourceChoice } from "./registry.js";
export { AutocallsPayloadSchema, type AutocallsPayload } from "./autocalls.js";
export { secretsMatch } from "./signatures.js";
