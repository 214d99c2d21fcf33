import { defineConfig } from 'vitest/config';

/** The end-to-end suite under Wine (`npm run test:wine`); `npm test` leaves it out. */
export default defineConfig({
  test: {
    include: ['test/wine/**/*.e2e.ts'],
    pool: 'forks',
    // Scenarios share one Wine service and must run one after another.
    fileParallelism: false,
    sequence: { concurrent: false },
    // A guard against a hung Wine process, not a speed target.
    testTimeout: 300_000,
    hookTimeout: 600_000,
  },
});
