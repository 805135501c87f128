// Refuses JSON bodies nested deeper than any call payload needs: deep nesting would overflow the stack of every
// recursive walk after parsing (validation, hashing, serialising) and turn a client's mistake into a 500.
import type { RequestHandler } from "express";
import { InvalidRequestError } from "../../errors.js";

export const MAX_JSON_DEPTH = 64;

/** Depth of a parsed JSON value, walked iteratively; stops counting once past `limit`. */
export function exceedsDepth(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== "object") continue;
    if (depth > limit) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) stack.push([child, depth + 1]);
  }
  return false;
}

export const rejectDeepJson: RequestHandler = (req, _res, next) => {
  if (req.body !== undefined && exceedsDepth(req.body, MAX_JSON_DEPTH)) {
    next(new InvalidRequestError(`The body is nested more than ${MAX_JSON_DEPTH} levels deep`, [{ path: "", message: `nested more than ${MAX_JSON_DEPTH} levels deep` }]));
    return;
  }
  next();
};
