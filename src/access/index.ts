// Who may do what: scopes, API keys and the profiles a key is bound to.
export { OPERATION_SCOPES, requirementOf, SCOPES, type Requirement, type Scope } from "./scopes.js";
export { allows, effectiveScopes, environmentKey, mayUseProfile, MIN_KEY_LENGTH, sha256, type ApiKey } from "./keys.js";
export { ProfileNotFoundError } from "./profile-not-found.js";
