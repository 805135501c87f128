// Phone numbers in one form, E.164 (`+15551234567`), so a caller is found whatever way a platform or a person wrote
// the number. libphonenumber-js does the parsing; a number without a country code needs the profile's default region.
import { isSupportedCountry, parsePhoneNumberWithError, ParseError, type CountryCode } from "libphonenumber-js";

/** An ISO 3166-1 alpha-2 region libphonenumber knows (`US`, `GB`, `DE`…): what a profile's `default_region` must be. */
export function isPhoneRegion(code: string): code is CountryCode {
  return /^[A-Z]{2}$/.test(code) && isSupportedCountry(code);
}

export type E164Result = { ok: true; e164: string } | { ok: false; reason: "no_country_code" | "not_a_number" };

/**
 * The number in E.164, or why not. "Possible" (a plausible length for its country) is the bar, not "valid": numbering
 * plans change faster than the library's metadata, and a test number (555…) is still the caller's number.
 */
export function toE164(raw: string, defaultRegion: string | undefined): E164Result {
  try {
    const parsed = parsePhoneNumberWithError(raw, defaultRegion as CountryCode | undefined);
    return parsed.isPossible() ? { ok: true, e164: parsed.number } : { ok: false, reason: "not_a_number" };
  } catch (error) {
    if (error instanceof ParseError && error.message === "INVALID_COUNTRY") return { ok: false, reason: "no_country_code" };
    if (error instanceof ParseError) return { ok: false, reason: "not_a_number" };
    throw error;
  }
}

/** For a stored call: the customer's number in E.164, or null when there is none or it cannot be read. */
export function customerE164(raw: string | null, defaultRegion: string | undefined): string | null {
  if (raw === null) return null;
  const result = toE164(raw, defaultRegion);
  return result.ok ? result.e164 : null;
}
