// JSON bodies validated with a zod schema: a bad or unknown field is a 400 naming its path (and the key it likely meant).
import type { z } from "zod";
import { InvalidRequestError } from "../errors.js";
import { knownKeysAt, zodIssuesToDetails } from "../schema/index.js";

/** An absent body is `{}`: routes whose fields are all optional can be posted without one. */
export function parseBody<T extends z.ZodTypeAny>(schema: T, body: unknown): z.infer<T> {
  const parsed = schema.safeParse(body ?? {});
  if (parsed.success) return parsed.data;
  const details = zodIssuesToDetails(parsed.error.issues, [], (path) => knownKeysAt(schema, path));
  const names = [...new Set(details.map((detail) => detail.path || "(body)"))].join(", ");
  throw new InvalidRequestError(`Invalid request body (${names}): ${details.map((d) => `${d.path || "(body)"} ${d.message}`).join("; ")}`, details);
}
