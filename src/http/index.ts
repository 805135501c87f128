// Public surface of the HTTP layer: the app, and what other modules need to add their routes to it and its document.
export { createApp, type App, type AppDeps } from "./app.js";
export type { ApiDocs } from "./openapi.js";
export type { ExtractionFacts } from "./locals.js";
