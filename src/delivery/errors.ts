// Errors the delivery layer raises: API errors, refused destinations and failing expressions.

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
