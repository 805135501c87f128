// `extract: when_routed`: decide before extraction whether any destination could receive the call, so a call nobody
// will receive costs no LLM call. Only a `when` that reads call facts alone is decided early; any other may apply.
import { whenReads } from "../delivery/when-reads.js";
import type { CompiledDestination } from "../delivery/index.js";
import type { NormalizedCall, Source } from "../sources/index.js";
import type { Profile } from "../configuration/config-file.js";
import { enrichPayload } from "./payload.js";

export const NO_DESTINATION_APPLIES = "no_destination_applies";

/** What a `when` may read and still be decided before extraction: the platform's payload and what it says of the call. */
const KNOWN_BEFORE_EXTRACTION = ["debrief.call", "debrief.source", "debrief.profile", "debrief.external_id"];
/** What only extraction (or routing) writes into the payload. */
const WRITTEN_BY_EXTRACTION = ["extracted_variables", "debrief"];

const under = (path: string, prefix: string) => path === prefix || path.startsWith(`${prefix}.`);

/** True when the destination's `when` reads nothing extraction decides, so it can be evaluated on the payload alone. */
export function decidableBeforeExtraction(destination: Pick<CompiledDestination, "expressions">): boolean {
  const when = destination.expressions.when;
  if (when === undefined) return false;
  const { paths, opaque } = whenReads(when);
  if (opaque) return false;
  return paths.every((path) => KNOWN_BEFORE_EXTRACTION.some((known) => under(path, known)) || !WRITTEN_BY_EXTRACTION.some((prefix) => under(path, prefix)));
}

/**
 * Under `extract: when_routed`, `no_destination_applies` when every destination of the profile has a `when` that reads
 * call facts only and none is true for this call; otherwise undefined (extract it). A `when` that fails here is left
 * for routing to report, as it would have been.
 */
export async function routingSkipReason(payload: Record<string, unknown>, call: NormalizedCall, profile: Profile, source: Source): Promise<string | undefined> {
  if (profile.extract !== "when_routed") return undefined;
  if (!profile.destinations.every(decidableBeforeExtraction)) return undefined;
  const facts = enrichPayload(payload, {
    callId: "",
    profile,
    profileVersion: "",
    source,
    call,
    extractedVariables: {},
    meta: { model: "", prompt_version: "", extracted_at: "", cached: false },
    event: "call.extracted",
  });
  for (const destination of profile.destinations) {
    try {
      if (await destination.matches(facts)) return undefined;
    } catch {
      return undefined;
    }
  }
  return NO_DESTINATION_APPLIES;
}
