// What a long call is made of: its request fields and labels, the episodes that plant each labelled fact at a
// target minute, and the filler that fills the hour around them.
import type { Episode } from "./episodes.js";

export interface PlantedEpisode {
  /** Named in the notes as {key}, which the build replaces with the minute the episode starts at. */
  key: string;
  /** Where the episode should start; the build refuses a call where it lands more than a few minutes away. */
  minute: number;
  episode: Episode;
}

export interface LongCallPlan {
  id: string;
  scenario: string;
  /** Platform shapes with per-turn times today's normaliser reads, so the length of each call can be checked. */
  shape: "thoughtly" | "autocalls" | "vapi" | "elevenlabs";
  created_at: string;
  timezone: string;
  system_prompt: string;
  input_variables?: Record<string, string>;
  variables: { name: string; type: string; description: string; options?: string[] }[];
  opening: Episode;
  closing: Episode;
  /** In order of minute. */
  planted: PlantedEpisode[];
  /** Domain episodes; the build shuffles them with the shared generic ones. */
  filler: Episode[];
  /** Generic episodes that would not fit this call (small talk about home while the caller is at work). */
  excludeGeneric?: string[];
  expected: Record<string, unknown>;
  /** Where each label comes from; {key} placeholders become minutes ({opening} and {closing} too). */
  notes: string;
}
