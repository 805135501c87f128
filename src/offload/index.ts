// Public surface of the offload pool.
export { createOffload, type Offload, type OffloadOptions } from "./pool.js";
