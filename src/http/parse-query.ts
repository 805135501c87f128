// Query strings validated with a zod schema: a bad or (for strict schemas) unknown parameter is a 400 naming it, and so
// is one holding text no database could store (NUL), before any query runs with it.
import type { Request } from "express";
import type { z } from "zod";
import { InvalidRequestError, type ErrorDetail } from "../errors.js";
import { formatPath } from "../schema/index.js";
import { checkStorableQuery } from "./storable-input.js";

export function parseQuery<T extends z.ZodTypeAny>(schema: T, req: Request): z.infer<T> {
  checkStorableQuery(req.query);
  const parsed = schema.safeParse(req.query);
  if (parsed.success) return parsed.data;
  const details: ErrorDetail[] = parsed.error.issues.flatMap((issue) =>
    issue.code === "unrecognized_keys"
      ? issue.keys.map((key) => ({ path: key, message: "is not a parameter of this route" }))
      : [{ path: formatPath(issue.path), message: issue.message }],
  );
  const names = [...new Set(details.map((detail) => `"${detail.path}"`))].join(", ");
  throw new InvalidRequestError(`Invalid query parameter ${names}: ${details.map((d) => `${d.path} ${d.message}`).join("; ")}`, details);
}
