// The structured JSON logger (pino). Logs carry ids and sizes, never transcript text, values, phones or secrets.
import { pino, type Logger as PinoLogger } from "pino";

export type Logger = PinoLogger;

/** Field paths that must never reach a log line, even if a caller passes them by mistake. */
export const REDACTED_PATHS = [
  "transcript",
  "*.transcript",
  "extracted_variables",
  "*.extracted_variables",
  "customer_phone",
  "*.customer_phone",
  "phone",
  "*.phone",
  "email",
  "*.email",
  "secret",
  "*.secret",
  "apiKey",
  "*.apiKey",
  "authorization",
  "*.authorization",
  "req.headers.authorization",
  'req.headers["x-api-key"]',
];

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    { level, base: { service: "debrief" }, redact: { paths: REDACTED_PATHS, censor: "[redacted]" } },
    destination as pino.DestinationStream | undefined,
  );
}

/** A logger that drops everything: the default in tests and library use. */
export const silentLogger: Logger = pino({ level: "silent" });
