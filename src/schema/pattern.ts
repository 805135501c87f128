// A request's regular expression, compiled by RE2 (re2js): linear-time matching, so no pattern a user sends can make
// a value take exponential time (JavaScript's backtracking RegExp never sees a pattern from a request).
import { RE2JS } from "re2js";

export type CompiledPattern = { ok: true; test: (value: string) => boolean } | { ok: false; reason: string };

const compiled = new Map<string, CompiledPattern>();
const MAX_COMPILED = 1_024;

/** JSON Schema's meaning: the value contains a match somewhere (anchor with ^…$ for the whole value). */
export function compilePattern(pattern: string): CompiledPattern {
  let result = compiled.get(pattern);
  if (result) return result;
  try {
    const re = RE2JS.compile(pattern);
    result = { ok: true, test: (value) => re.matcher(value).find() };
  } catch (error) {
    result = { ok: false, reason: (error as Error).message };
  }
  if (compiled.size >= MAX_COMPILED) compiled.delete(compiled.keys().next().value!);
  compiled.set(pattern, result);
  return result;
}
