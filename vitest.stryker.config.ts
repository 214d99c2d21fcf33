import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * The suite Stryker runs for every mutant (`npm run mutate`): `npm test`'s tests minus those that
 * pack the library, spawn the CLI or the demo, or need Wine. They are slow and cover nothing in
 * src/observables or src/operators that the in-process tests do not.
 */
export default mergeConfig(
  base,
  defineConfig({
    test: {
      exclude: ['test/package.test.ts', 'test/cli.test.ts', 'test/demo.test.ts', 'test/wine/**', 'node_modules/**'],
    },
  }),
);
