import { defineConfig } from "vitest/config";

/** Runs only the pending interop cases (test/interop/pending-matrix.pending.ts), one file, no parallelism. */
export default defineConfig({
  test: {
    root: new URL("../..", import.meta.url).pathname,
    include: ["test/interop/**/*.pending.ts"],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 600_000,
  },
});
