// The API's fixed word lists the console offers as choices. Copies (the console cannot import the service's modules,
// which need Node): test/console/api-shapes.test.ts fails when they drift from the service's own lists.

/** Every call state, in the order a call moves through them (CALL_STATES in src/calls/fates.ts). */
export const CALL_STATES = ["accepted", "waiting_for_budget", "extracting", "extraction_failed", "skipped", "needs_review", "extracted", "delivering", "delivered", "delivery_failed"] as const;

/** Every voice platform (SOURCE_NAMES in src/sources/source.ts). */
export const SOURCE_NAMES = ["autocalls", "thoughtly", "vapi", "retell", "elevenlabs", "bland", "synthflow"] as const;

/** The types a variable can have (src/schema/variables.ts), as the playground's table offers them. */
export const VARIABLE_TYPES = ["string", "number", "integer", "boolean", "enum", "date", "datetime", "list", "object"] as const;
