// Public surface of the extraction pipeline.
export { Extractor, ExtractionSchema, sumUsage, type Extraction, type ExtractResult, type ExtractionCache, type ExtractorDeps, type ExtractorObserver, type Planner } from "./extract.js";
export { PROMPT_VERSION } from "./prompt.js";
export { planCalls, type PlanInput, type PlanResult } from "./plan.js";
export { groundEvidence, type Evidence } from "./evidence.js";
export { mergeChunkAnswers } from "./merge.js";
export { completeStructured, type StructuredRequest, type StructuredResult } from "./structured.js";
