// Which adapter a payload belongs to: the profile's `source`, or with `auto` the first adapter whose markers match.
import { DebriefError, type ErrorDetail } from "../errors.js";
import { autocalls } from "./autocalls.js";
import { bland } from "./bland.js";
import { elevenlabs } from "./elevenlabs.js";
import { retell } from "./retell.js";
import type { Source, SourceName } from "./source.js";
import { synthflow } from "./synthflow.js";
import { thoughtly } from "./thoughtly.js";
import { vapi } from "./vapi.js";

/**
 * Tried in this order under `auto`. The platforms' markers do not overlap, except that Autocalls' (a top-level
 * `transcript`) is also present in Thoughtly's payloads: Autocalls is the fallback, tried last.
 */
export const SOURCES: readonly Source[] = [vapi, retell, elevenlabs, bland, synthflow, thoughtly, autocalls];

const BY_NAME = new Map<SourceName, Source>(SOURCES.map((source) => [source.name, source]));

export function sourceNamed(name: SourceName): Source {
  return BY_NAME.get(name)!;
}

export type SourceChoice = SourceName | "auto";

/** No adapter (or not the profile's) recognises the payload; `details` say, per adapter, what was missing. */
export class UnknownPayloadShapeError extends DebriefError {
  constructor(choice: SourceChoice, details: ErrorDetail[]) {
    super(
      "unknown_payload_shape",
      400,
      choice === "auto"
        ? "The payload is not a post-call payload of any supported platform (autocalls, thoughtly, vapi, retell, elevenlabs, bland, synthflow)"
        : `The payload is not a ${choice} post-call payload (the profile's source)`,
      { details },
    );
  }
}

export type Recognized = { source: Source; kind: "call" } | { source: Source; kind: "ignored"; reason: string };

/** The adapter for this payload and whether it is a call or an event to acknowledge; throws UnknownPayloadShapeError. */
export function recognizePayload(payload: Record<string, unknown>, choice: SourceChoice): Recognized {
  const candidates = choice === "auto" ? SOURCES : [sourceNamed(choice)];
  const missing: ErrorDetail[] = [];
  for (const source of candidates) {
    const recognition = source.recognize(payload);
    if (recognition.kind === "unrecognized") missing.push(...recognition.missing);
    else return recognition.kind === "call" ? { source, kind: "call" } : { source, kind: "ignored", reason: recognition.reason };
  }
  throw new UnknownPayloadShapeError(choice, missing);
}
