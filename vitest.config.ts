import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/setup/buildWasm.ts'],
    // Generous: CLI tests start many processes on a 2-core machine; no test asserts on time, this only catches hangs.
    testTimeout: 180_000,
    hookTimeout: 60_000,
    // The machine has 2 cores; tests that start worker pools of their own run in forks so pools don't pile up.
    pool: 'forks',
    maxWorkers: 2,
  },
});
