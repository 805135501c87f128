// The configuration file (profiles and destinations): loading and validating it, holding the current one across
// reloads, each profile's version, and the reload route with its OpenAPI description.
export { compilePipelineConfig, loadPipelineConfig, type PipelineConfig, type Profile } from "./config-file.js";
export { holdPipelineConfig, PipelineConfigHolder, type ConfigSource, type ProfileSummary, type ReloadReport } from "./config-holder.js";
export { profileVersion } from "./profile-version.js";
export { reloadRouter } from "./reload-router.js";
export { ReloadResultSchema } from "./reload-docs.js";
