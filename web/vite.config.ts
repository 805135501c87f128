// Builds the console (web/) into dist/web, which the service serves at /console. `npm run dev:web` serves it with hot
// reload, sending API calls to a service on :8080.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const service = "http://127.0.0.1:8080";

export default defineConfig({
  root: here("."),
  // Absolute: a page deep in the console (/console/calls/call_…) loads the same assets as the landing page.
  base: "/console/",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: here("../dist/web"),
    emptyOutDir: true,
    target: "es2022",
    assetsInlineLimit: 0,
    // The Insights page is a chunk of its own, preloaded with <link rel="modulepreload">, which every browser the
    // console targets knows: the polyfill would be dead weight.
    modulePreload: { polyfill: false },
    reportCompressedSize: true,
  },
  server: { proxy: { "/v1": service, "/openapi.json": service, "/docs": service } },
});
