// A key bound to some profiles sees only them: any other profile, and its calls, answer as if they did not exist.
import type { RequestParamHandler, Response } from "express";
import { mayUseProfile, ProfileNotFoundError, type ApiKey } from "../../access/index.js";
import { NotFoundError } from "../../errors.js";
import type { Profile } from "../../configuration/config-file.js";
import type { ConfigSource } from "../../configuration/config-holder.js";
import type { CallStore } from "../store/port.js";

export const keyOf = (res: Response): ApiKey | undefined => res.locals.client?.key;

/** The profiles the request's key is bound to; undefined: every profile. */
export const profilesOf = (res: Response): readonly string[] | undefined => keyOf(res)?.profiles;

/** The named profile, if it is configured and the key may use it; otherwise 404 profile_not_found. */
export function profileFor(config: ConfigSource, name: string, res: Response): Profile {
  const profile = config.current.profiles.get(name);
  if (!profile || !mayUseProfile(keyOf(res), name)) throw new ProfileNotFoundError(name);
  return profile;
}

export const mayUse = (res: Response, profile: string): boolean => mayUseProfile(keyOf(res), profile);

/**
 * A `router.param("id", …)` step for call ids: a call of a profile the key may not use is a call that does not exist
 * (the same 404 as an unknown id). Keys bound to no profile cost no lookup.
 */
export function callOfKeysProfiles(store: Pick<CallStore, "get">): RequestParamHandler {
  return (_req, res, next, id: unknown) => {
    const key = keyOf(res);
    if (key?.profiles === undefined) {
      next();
      return;
    }
    store.get(String(id)).then(
      (call) => next(call && !mayUseProfile(key, call.profile) ? new NotFoundError(`No call with id "${String(id)}"`) : undefined),
      next,
    );
  };
}
