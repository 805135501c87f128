// Debrief's string formats (email, phone, url, time) and patterns: each normalises a value or says why it is not one.
// The model is told the expectation in the description; these checks are what decides.
import { toE164 } from "../lib/phone.js";
import { compilePattern } from "./pattern.js";
import type { StringFormat, ValueShape } from "./variables.js";

export type FormatResult = { ok: true; value: string } | { ok: false; reason: string };

// Not RFC 5322: one @, no spaces, a dotted domain. Enough to refuse "call me at home" and keep every real address.
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const TIME = /^([01]?\d|2[0-3])[:.h]([0-5]\d)(?::[0-5]\d)?$/i;

function normalizeEmail(text: string): FormatResult {
  const trimmed = text.trim().replace(/^mailto:/i, "");
  if (!EMAIL.test(trimmed)) return { ok: false, reason: "must be an e-mail address such as ana@example.com" };
  const at = trimmed.lastIndexOf("@");
  return { ok: true, value: `${trimmed.slice(0, at)}@${trimmed.slice(at + 1).toLowerCase()}` };
}

function normalizeUrl(text: string): FormatResult {
  try {
    const url = new URL(text.trim());
    if (url.protocol === "http:" || url.protocol === "https:") return { ok: true, value: url.href };
  } catch {
    // Falls through to the refusal below.
  }
  return { ok: false, reason: "must be an http(s) URL such as https://example.com/page" };
}

function normalizeTime(text: string): FormatResult {
  const match = TIME.exec(text.trim());
  if (!match) return { ok: false, reason: "must be a 24-hour time HH:MM such as 14:30" };
  return { ok: true, value: `${match[1]!.padStart(2, "0")}:${match[2]}` };
}

function normalizePhone(text: string, region: string | undefined): FormatResult {
  const result = toE164(text.trim(), region);
  if (result.ok) return { ok: true, value: result.e164 };
  return {
    ok: false,
    reason: result.reason === "no_country_code" ? "must be a phone number with its country code (+15551234567): no default_region is set" : "must be a phone number",
  };
}

export function applyFormat(format: StringFormat, text: string, region?: string): FormatResult {
  switch (format) {
    case "email":
      return normalizeEmail(text);
    case "phone":
      return normalizePhone(text, region);
    case "url":
      return normalizeUrl(text);
    case "time":
      return normalizeTime(text);
  }
}

/** The string's format first (normalised), then its pattern against the normalised value. */
export function checkString(shape: ValueShape, text: string): FormatResult {
  const formatted = shape.format ? applyFormat(shape.format, text, shape.default_region) : { ok: true as const, value: text };
  if (!formatted.ok || shape.pattern === undefined) return formatted;
  const pattern = compilePattern(shape.pattern);
  if (pattern.ok && !pattern.test(formatted.value)) return { ok: false, reason: `must match the pattern ${shape.pattern}` };
  return formatted;
}

/** What the model is told a format or pattern expects (JSON Schema's own `format` means otherwise for time). */
export function formatHint(shape: ValueShape): string {
  const hints: string[] = [];
  if (shape.format === "phone") hints.push("a phone number, with its country code when the call gives one");
  if (shape.format === "url") hints.push("an http(s) URL");
  if (shape.format === "time") hints.push("a 24-hour time HH:MM");
  if (shape.pattern !== undefined) hints.push(`must match the regular expression ${shape.pattern}`);
  return hints.join("; ");
}
