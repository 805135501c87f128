// Public surface of the extraction pipeline.
export { Extractor, ExtractionSchema, sumUsage, type Extraction, type ExtractResult, type ExtractionCache, type ExtractorDeps, type ExtractorObserver, type Planner } from "./extract.js";
export { PROMPT_VERSION, promptVersion } from "./prompt.js";
export { confidenceOf, valueConfidence, valueSpans } from "./confidence.js";
export { REVIEW_FLAGS, ANSWER_FLAGS, ReviewSchema, countedFlags, reviewOf, valueAtPath, type Review, type ReviewFlag, type AnswerFlag } from "./review.js";
export { planCalls, type PlanInput, type PlanResult } from "./plan.js";
export { groundEvidence, type Evidence } from "./evidence.js";
export { mergeChunkAnswers } from "./merge.js";
export { extractionSchemaFor } from "./extraction-schema.js";
export { isNested, isWithin, leafPaths, pathsWithin } from "./paths.js";
export { completeStructured, type StructuredRequest, type StructuredResult } from "./structured.js";
