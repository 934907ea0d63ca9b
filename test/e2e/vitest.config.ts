import { defineConfig } from "vitest/config";

/** The e2e suite (scripts/e2e.sh): one cluster, stories in order, one file at a time. */
export default defineConfig({
  test: {
    root: new URL("../..", import.meta.url).pathname,
    include: ["test/e2e/**/*.e2e.ts"],
    globalSetup: ["test/e2e/global-setup.ts"],
    testTimeout: 300_000,
    hookTimeout: 600_000,
    fileParallelism: false,
    sequence: { concurrent: false },
    reporters: ["default", "junit"],
    outputFile: { junit: "reports/e2e-junit.xml" },
    pool: "forks",
  },
});
