import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // koffi's native module and its relay of foreign-thread calls belong in a process of their own.
    pool: 'forks',
    // A guard against hangs (a deadlocked COM call), not a speed target: those live in `npm run bench`.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
