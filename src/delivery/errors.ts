// Errors the delivery layer raises: start-up config problems, API errors, and refused destinations.

export interface ConfigIssue {
  /** Dotted path into the config file, e.g. "destinations.crm.headers.X-API-Token". */
  path: string;
  message: string;
}

/** The destinations config cannot be used; thrown at start-up so a bad file never reaches a call. */
export class ConfigError extends Error {
  readonly issues: ConfigIssue[];

  constructor(issues: ConfigIssue[]) {
    super(`Invalid configuration:\n${issues.map((issue) => `  ${issue.path}: ${issue.message}`).join("\n")}`);
    this.name = "ConfigError";
    this.issues = issues;
  }
}

export { ConflictError, NotFoundError } from "../errors.js";

/**
 * A destination we will not connect to (not https, or a private/loopback/metadata address).
 * Raised inside the connector so it can surface through undici; the worker treats it as final.
 */
export class DestinationRefusedError extends Error {
  readonly code = "ERR_DESTINATION_REFUSED";

  constructor(message: string) {
    super(message);
    this.name = "DestinationRefusedError";
  }
}

/** A `when` or `transform` expression failed while evaluating one payload (it compiled fine at start-up). */
export class DeliveryExpressionError extends Error {
  readonly path: string;

  constructor(path: string, message: string, options: { cause?: unknown } = {}) {
    super(`${path}: ${message}`, options);
    this.name = "DeliveryExpressionError";
    this.path = path;
  }
}
