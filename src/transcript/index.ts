// Public surface of transcript handling: normalise, format, count tokens, chunk.
export { normalizeTranscript, formatForModel, formatForHumans, TRANSCRIPT_EXPECTED, type Turn, type Speaker, type NormalizeResult } from "./normalize.js";
export { boundedCounter, tokenCounter, type TokenCounter } from "./tokens.js";
export { chunkTurns, type Chunk } from "./chunk.js";
