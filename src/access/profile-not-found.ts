// The one answer for a profile that is unknown and for one the key may not use, on every route that names a profile.
import { DebriefError } from "../errors.js";

/** The message names only the profile that was asked for: never one the key may not see, never the list of them. */
export class ProfileNotFoundError extends DebriefError {
  constructor(name: string) {
    super("profile_not_found", 404, `No profile named "${name}"`, { details: [{ path: "profile", message: "is not a profile this key can use" }] });
  }
}
