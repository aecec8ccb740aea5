import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests start real Kamailio/SIPp processes on per-test ports; two cores only.
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ['default'],
  },
});
