// The `next_cursor` of GET /v1/calls: where the next page starts (after the last call of this one, newest first), bound
// to the filters it was made for, and signed, so a cursor that was altered, truncated or made up is refused (400).
// A position, not an offset: calls that arrive between two pages are newer than it, so pages neither repeat nor skip.
import { createHmac, timingSafeEqual } from "node:crypto";
import { canonicalHash } from "../../lib/canonical-hash.js";
import { DebriefError } from "../../errors.js";
import type { ListPosition } from "../store/port.js";

/** Longer than any cursor this module writes: anything longer is refused before any work. */
const MAX_CURSOR_LENGTH = 400;

export class InvalidCursorError extends DebriefError {
  constructor(message: string) {
    super("invalid_cursor", 400, message, { details: [{ path: "cursor", message }] });
  }
}

const mac = (key: Buffer, body: string) => createHmac("sha256", key).update(body).digest().subarray(0, 16);

/** The filters' fingerprint: a cursor only continues the list it came from. */
const fingerprint = (filters: object) => canonicalHash(filters).slice(0, 16);

export function writeCursor(key: Buffer, position: ListPosition, filters: object): string {
  const body = Buffer.from(JSON.stringify([position.created_at, position.id, fingerprint(filters)])).toString("base64url");
  return `${body}.${mac(key, body).toString("base64url")}`;
}

/** The position a cursor stands for; throws InvalidCursorError (400 invalid_cursor) for anything this service did not write for these filters. */
export function readCursor(key: Buffer, cursor: string, filters: object): ListPosition {
  const [body, signature, ...rest] = cursor.length <= MAX_CURSOR_LENGTH ? cursor.split(".") : [];
  const given = Buffer.from(signature ?? "", "base64url");
  const expected = body === undefined ? undefined : mac(key, body);
  if (body === undefined || rest.length > 0 || !expected || given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new InvalidCursorError("The cursor is not one this service wrote: pass next_cursor exactly as a previous page gave it");
  }
  const [createdAt, id, filtersSeen] = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as [number, string, string];
  if (filtersSeen !== fingerprint(filters)) {
    throw new InvalidCursorError("The cursor belongs to a list with other filters: repeat the filters it was given with, or start again without it");
  }
  return { created_at: createdAt, id };
}
