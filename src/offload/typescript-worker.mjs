// Worker entry when Debrief runs from TypeScript (vitest, tsx): a worker thread does not inherit tsx's module hooks,
// so it registers them itself before loading the tasks. Built (`npm start`), the pool loads dist's tasks.js directly.
import { workerData } from "node:worker_threads";
import { register } from "tsx/esm/api";

register();
const { default: runTask } = await import(workerData.tasks);
export default runTask;
