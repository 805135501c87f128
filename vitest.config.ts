import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Integration tests spawn servers; two workers match the 2-core machines we run on.
    maxWorkers: 2,
  },
});
