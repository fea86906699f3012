import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // netns and interop suites share kernel state (namespaces, ports): run files one at a time there.
    fileParallelism: true,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
