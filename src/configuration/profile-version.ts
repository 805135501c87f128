// A profile's version: a short hash of what changes its answers, so each stored extraction says which version of the
// profile made it, and whether the profile has changed since (a re-extraction would answer differently).
import { canonicalHash } from "../lib/canonical-hash.js";
import type { Extractor } from "../extract/index.js";
import type { Profile } from "./config-file.js";

/** 12 hex digits: short enough to read in a log, long enough that two versions of one profile never collide in practice. */
const VERSION_LENGTH = 12;

/** What the deployment adds to a profile's answers: the model its choice runs on, and the prompt templates' version. */
export type AnswerSettings = Pick<Extractor, "effectiveModel" | "promptVersion">;

const versions = new WeakMap<Profile, string>();

/**
 * Variables (their order too: it is the prompt's), the system prompt, the effective model, the prompt version, and the
 * two profile settings that also change what the model is asked: evidence quotes and the time zone relative dates are
 * read in. Not destinations, gates or inbound auth: they change where answers go, not what they are. Computed once per
 * loaded profile (a reload makes new profile objects).
 */
export function profileVersion(profile: Profile, answers: AnswerSettings): string {
  let version = versions.get(profile);
  if (version === undefined) {
    version = canonicalHash({
      variables: profile.variables,
      system_prompt: profile.systemPrompt ?? null,
      model: answers.effectiveModel(profile.model),
      prompt_version: answers.promptVersion,
      evidence: profile.evidence,
      timezone: profile.timezone ?? null,
    }).slice(0, VERSION_LENGTH);
    versions.set(profile, version);
  }
  return version;
}
