// Refuses parsed JSON bodies that later steps could not handle: nesting deeper than any call payload needs (it would
// overflow the stack of every recursive walk after parsing) and numbers too large for a double (JSON.parse reads
// 1e999 as Infinity, which JSON.stringify then writes as null: a stored payload would change under its own feet).
import type { RequestHandler } from "express";
import { InvalidRequestError } from "../../errors.js";
import { formatPath } from "../../schema/index.js";

export const MAX_JSON_DEPTH = 64;

export type JsonProblem = { kind: "too_deep" } | { kind: "not_finite"; path: (string | number)[] };

/** The first problem in a parsed JSON value, walked iteratively; undefined when there is none. */
export function findJsonProblem(value: unknown, maxDepth: number): JsonProblem | undefined {
  if (typeof value === "number" && !Number.isFinite(value)) return { kind: "not_finite", path: [] };
  const stack: [unknown, number, (string | number)[]][] = [[value, 1, []]];
  while (stack.length > 0) {
    const [node, depth, path] = stack.pop()!;
    if (node === null || typeof node !== "object") continue;
    if (depth > maxDepth) return { kind: "too_deep" };
    const entries: [string | number, unknown][] = Array.isArray(node) ? node.map((child, index) => [index, child]) : Object.entries(node);
    for (const [key, child] of entries) {
      if (typeof child === "number" && !Number.isFinite(child)) return { kind: "not_finite", path: [...path, key] };
      // Only containers are walked further; their paths are built once each.
      if (child !== null && typeof child === "object") stack.push([child, depth + 1, [...path, key]]);
    }
  }
  return undefined;
}

export const rejectUnusableJson: RequestHandler = (req, _res, next) => {
  const problem = req.body === undefined ? undefined : findJsonProblem(req.body, MAX_JSON_DEPTH);
  if (problem?.kind === "too_deep") {
    next(new InvalidRequestError(`The body is nested more than ${MAX_JSON_DEPTH} levels deep`, [{ path: "", message: `nested more than ${MAX_JSON_DEPTH} levels deep` }]));
    return;
  }
  if (problem?.kind === "not_finite") {
    const path = formatPath(problem.path);
    next(new InvalidRequestError(`The body has a number too large to represent at \`${path || "(the body)"}\``, [{ path, message: "is a number too large to represent (JSON numbers must fit a double)" }]));
    return;
  }
  next();
};
