// @ts-check
/**
 * Mutation testing of the reactive layer: `npm run mutate` (not part of `npm test` or CI).
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.stryker.config.ts' },
  checkers: ['typescript'],
  // Only src: a mutant lives there, and the checker stays fast (tests are type-checked by `npm test`).
  tsconfigFile: 'tsconfig.stryker.json',
  // Only mutants that compile reach the tests; type errors are reported as CompileError.
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  mutate: ['src/observables/**/*.ts', 'src/operators/**/*.ts'],
  // Each mutant runs only the tests that covered it in the dry run.
  coverageAnalysis: 'perTest',
  // Results are kept in reports/stryker-incremental.json: a rerun tests only changed code and tests.
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  // A shared 2-core machine: one sandbox, one checker. Run under `nice` (see the "mutate" script).
  concurrency: 1,
  checkerNodeArgs: [],
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  tempDirName: '.stryker-tmp',
  // Not copied into the sandbox: the Wine prefix (symlinks to /), builds, other tools' output.
  ignorePatterns: ['.cache', 'dist', 'coverage', 'docs/api', '.tmp-*', '*.tgz'],
  // A mutant that makes a loopback test wait forever is a Timeout (detected): no need to wait long for it.
  timeoutMS: 10_000,
  timeoutFactor: 2,
  thresholds: { high: 90, low: 85, break: null },
};
