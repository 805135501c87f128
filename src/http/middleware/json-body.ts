// Reads JSON request bodies: the raw bytes up to the size limit (inflated as Content-Encoding says), the bounded scan of
// json-limits.ts, and only then JSON.parse. A platform's self-authenticating webhook is left unread: its route checks
// the signature on the bytes first (calls/api/inbound.ts), then parses them with `parseJsonBody`.
import express, { type Request, type RequestHandler } from "express";
import { DebriefError } from "../../errors.js";
import { checkFiniteNumbers, checkJsonLimits } from "./json-limits.js";

export const JSON_MEDIA_TYPES = ["application/json", "application/*+json"];

/** The charsets a JSON body may be sent in (RFC 8259 asks for UTF-8; TextDecoder reads these others exactly). */
const CHARSETS = new Set(["utf-8", "utf8", "utf-16", "utf-16le", "utf-16be"]);

const invalidJson = (reason: string) => new DebriefError("invalid_json", 400, `The body is not valid JSON: ${reason}`);

function charsetOf(contentType: string | undefined): string {
  const charset = /;\s*charset\s*=\s*"?([^";\s]*)"?/i.exec(contentType ?? "")?.[1]?.toLowerCase();
  if (charset === undefined || charset === "") return "utf-8";
  if (!CHARSETS.has(charset)) throw new DebriefError("unsupported_media_type", 415, `unsupported charset "${charset.toUpperCase()}": send JSON as UTF-8`);
  return charset;
}

/** The first character that is not JSON whitespace, or "" for none. */
const firstCharacter = (text: string) => /^[\x20\x09\x0a\x0d]*([^\x20\x09\x0a\x0d]?)/.exec(text)![1]!;

/**
 * A body's bytes as JSON: its limits checked before JSON.parse runs, numbers that fit a double after. As body-parser's
 * JSON did: an empty body is `{}`, and the top level must be an object or an array.
 */
export function parseJsonBody(raw: Buffer, contentType: string | undefined): unknown {
  const charset = charsetOf(contentType);
  const utf8 = charset === "utf-8" || charset === "utf8";
  // UTF-8 bytes are scanned as they came, before any decoding: a body past a limit costs one pass and nothing more.
  if (utf8) checkJsonLimits(raw);
  // A BOM is dropped, as body-parser's decoding did.
  const text = new TextDecoder(charset).decode(raw);
  if (text.length === 0) return {};
  const first = firstCharacter(text);
  if (first !== "{" && first !== "[") throw invalidJson(first === "" ? "the body is only whitespace" : "the top level must be an object or an array");
  if (!utf8) checkJsonLimits(Buffer.from(text, "utf8"));
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw invalidJson((error as Error).message);
  }
  checkFiniteNumbers(value);
  return value;
}

/** The raw bytes of any request (a signed webhook's, whatever its Content-Type), up to `limit`; an empty Buffer for none. */
export function rawBodyReader(limit: number): (req: Request, res: express.Response) => Promise<Buffer> {
  const read = express.raw({ limit, type: () => true });
  return (req, res) =>
    new Promise((resolve, reject) => {
      read(req, res, (error?: unknown) => (error ? reject(error) : resolve(Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0))));
    });
}

/** Parses every JSON body except a self-authenticating webhook's, which its route reads after checking who sent it. */
export function jsonBody(limit: number): RequestHandler {
  const read = express.raw({ limit, type: JSON_MEDIA_TYPES });
  return (req, res, next) => {
    if (res.locals.selfAuthenticating) return next();
    read(req, res, (error?: unknown) => {
      if (error) return next(error);
      if (!Buffer.isBuffer(req.body)) return next();
      try {
        req.body = parseJsonBody(req.body, req.headers["content-type"]);
        next();
      } catch (parseError) {
        next(parseError);
      }
    });
  };
}
