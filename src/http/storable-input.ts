// Ids and filters a database could not hold are answered at the door: PostgreSQL refuses NUL in text (error 22021) and
// has no UTF-8 form for a lone surrogate, so no stored row can match either: an id naming one is a 404, a filter a 400.
import type { RequestParamHandler } from "express";
import { InvalidRequestError, NotFoundError, type ErrorDetail } from "../errors.js";

const UNSTORABLE = /[\u0000\uD800-\uDFFF]/u;

/** NUL or a lone surrogate (the `u` flag keeps a well-formed pair whole, so emoji are fine). */
export const isUnstorable = (text: string): boolean => UNSTORABLE.test(text);

/** `router.param(name, …)`: an id no row can have is a 404 for `what` ("call", "backfill"), before any query runs. */
export function storableId(what: string): RequestParamHandler {
  return (_req, _res, next, value: unknown) => {
    next(typeof value === "string" && isUnstorable(value) ? new NotFoundError(`No ${what} with id ${JSON.stringify(value)}`) : undefined);
  };
}

/** The query parameters (as Express parsed them, arrays and nested objects included) holding text no row can hold. */
export function unstorableQuery(query: unknown, prefix = ""): ErrorDetail[] {
  if (typeof query === "string") return isUnstorable(query) ? [{ path: prefix, message: "contains a NUL byte or other text no stored value can hold" }] : [];
  if (query === null || typeof query !== "object") return [];
  return Object.entries(query).flatMap(([key, value]) => unstorableQuery(value, prefix === "" ? key : `${prefix}.${key}`));
}

/** Refuses a query whose parameters hold NUL or a lone surrogate, naming them. */
export function checkStorableQuery(query: unknown): void {
  const details = unstorableQuery(query);
  if (details.length === 0) return;
  const names = [...new Set(details.map((detail) => `"${detail.path}"`))].join(", ");
  throw new InvalidRequestError(`Invalid query parameter ${names}: it contains a NUL byte or other text no stored value can hold`, details);
}
