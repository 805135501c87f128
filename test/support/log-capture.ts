// A real pino logger writing into memory, so a test can read every line the service logged.
import { Writable } from "node:stream";
import { createLogger, type Logger } from "../../src/logger.js";

export interface LogCapture {
  logger: Logger;
  /** Everything written so far, as one string. */
  text(): string;
  /** Every line, parsed. */
  lines(): Record<string, any>[];
}

export function captureLogs(level = "trace"): LogCapture {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString("utf8"));
      done();
    },
  });
  const text = () => chunks.join("");
  return {
    logger: createLogger(level, stream),
    text,
    lines: () => text().split("\n").filter(Boolean).map((line) => JSON.parse(line) as Record<string, any>),
  };
}
