// What a JSON body may hold before anything walks it: a nesting depth, array lengths and key counts checked on the raw
// bytes before JSON.parse (a 2 MB body of brackets would otherwise hold the event loop for a second, and overflow the
// stack of every recursive walk after it), and numbers a double can hold (JSON.parse reads 1e999 as Infinity, which
// JSON.stringify then writes as null: a stored payload would change under its own feet).
import { InvalidRequestError } from "../../errors.js";
import { findLimitBreach, JSON_BODY_LIMITS, type JsonLimitBreach } from "../../lib/json-scan.js";
import { formatPath } from "../../schema/index.js";

const count = (n: number) => n.toLocaleString("en-US");

/** A path of 64 levels is cut in the message; the detail keeps all of it. */
const shortPath = (path: (string | number)[]) => formatPath(path.slice(0, 8)) + (path.length > 8 ? "…" : "");

function breachError(breach: JsonLimitBreach): InvalidRequestError {
  const path = formatPath(breach.path);
  const where = path === "" ? "at the top of the body" : `at \`${shortPath(breach.path)}\``;
  const [what, detail] =
    breach.limit === "maxDepth"
      ? [`The body is nested more than ${JSON_BODY_LIMITS.maxDepth} levels deep (${where})`, `nested more than ${JSON_BODY_LIMITS.maxDepth} levels deep`]
      : breach.limit === "maxArrayLength"
        ? [`The body has an array of more than ${count(JSON_BODY_LIMITS.maxArrayLength)} elements ${where}`, `is an array of more than ${count(JSON_BODY_LIMITS.maxArrayLength)} elements`]
        : [`The body has an object with more than ${count(JSON_BODY_LIMITS.maxObjectKeys)} keys ${where}`, `is an object with more than ${count(JSON_BODY_LIMITS.maxObjectKeys)} keys`];
  return new InvalidRequestError(`${what}: that is the limit for any JSON body`, [{ path, message: detail, limit: breach.limit, max: JSON_BODY_LIMITS[breach.limit] }]);
}

/** Refuses bytes past a limit with a 400 naming it and where; one linear pass, nothing built. */
export function checkJsonLimits(bytes: Buffer): void {
  const breach = findLimitBreach(bytes, JSON_BODY_LIMITS);
  if (breach) throw breachError(breach);
}

/** The path of the first number too large for a double in a parsed value (walked iteratively); undefined when none is. */
export function findInfiniteNumber(value: unknown): (string | number)[] | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? undefined : [];
  const stack: [unknown, (string | number)[]][] = [[value, []]];
  while (stack.length > 0) {
    const [node, path] = stack.pop()!;
    if (node === null || typeof node !== "object") continue;
    const entries: [string | number, unknown][] = Array.isArray(node) ? node.map((child, index) => [index, child]) : Object.entries(node);
    for (const [key, child] of entries) {
      if (typeof child === "number" && !Number.isFinite(child)) return [...path, key];
      // Only containers are walked further; their paths are built once each.
      if (child !== null && typeof child === "object") stack.push([child, [...path, key]]);
    }
  }
  return undefined;
}

/** Refuses a parsed body holding a number no double can represent, naming where. */
export function checkFiniteNumbers(value: unknown): void {
  const at = findInfiniteNumber(value);
  if (at === undefined) return;
  const path = formatPath(at);
  throw new InvalidRequestError(`The body has a number too large to represent at \`${path || "(the body)"}\``, [
    { path, message: "is a number too large to represent (JSON numbers must fit a double)" },
  ]);
}
