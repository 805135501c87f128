// Public surface of the metrics: one Metrics object per service instance.
export { Metrics, type MetricsOptions } from "./metrics.js";
