// The structured JSON logger (pino). Logs carry ids and sizes, never transcript text, values, phones or secrets.
// That is by design (the request log line is an allow-list of facts); the redaction below is the safety net for
// a field someone logs by mistake.
import { pino, type Logger as PinoLogger } from "pino";

export type Logger = PinoLogger;

/** Field names that must never reach a log line, at the top level or one object down. */
const SENSITIVE_FIELDS = [
  // Call content and what was extracted from it.
  "transcript",
  "turns",
  "messages",
  "extracted_variables",
  "values",
  "evidence",
  "input_variables",
  "system_prompt",
  "rawText",
  "raw_text",
  "body",
  "payload",
  // Personal data.
  "customer_phone",
  "phone",
  "phone_number",
  "email",
  // Credentials and destination secrets.
  "secret",
  "secrets",
  "apiKey",
  "api_key",
  "apiKeys",
  "authorization",
  "password",
  "token",
  "headers",
  "webhook_url",
];

/** Field paths that must never reach a log line, even if a caller passes them by mistake. */
export const REDACTED_PATHS = [
  ...SENSITIVE_FIELDS.flatMap((field) => [field, `*.${field}`]),
  '["x-api-key"]',
  '*["x-api-key"]',
  // pino's error serializer copies an error's own fields: a validation error's details may quote a value.
  "err.details",
  "err.cause.details",
  "err.rawText",
  "err.cause.rawText",
  "req.headers",
  "res.headers",
];

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    { level, base: { service: "debrief" }, redact: { paths: REDACTED_PATHS, censor: "[redacted]" } },
    destination as pino.DestinationStream | undefined,
  );
}

/** A logger that drops everything: the default in tests and library use. */
export const silentLogger: Logger = pino({ level: "silent" });
