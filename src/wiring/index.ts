// Assembly of the post-call pipeline: opens the stores on the configured engine and starts what the role runs.
export { extractionLeaseMs, startPipeline, type Pipeline, type PipelineOptions } from "./pipeline.js";
export { openPipelineStores, type PipelineStores } from "./open-stores.js";
