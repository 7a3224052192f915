// Mutation testing (`pnpm test:mutation`): where correctness lives — all of @epara/core, and in the runtime and
// the mesh the request scheduling and batching, streams, offloading, sync and placement-apply modules.
// Incremental: a rerun after a small change tests only the mutants it touches. See docs/testing.md.
export default {
  // Listed explicitly: pnpm's isolated node_modules hides them from Stryker's plugin discovery.
  plugins: ['@stryker-mutator/vitest-runner', '@stryker-mutator/typescript-checker'],
  testRunner: 'vitest',
  // related: each mutant runs only the test files that import its module.
  vitest: { configFile: 'vitest.mutation.config.ts', related: true },
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  coverageAnalysis: 'perTest',
  mutate: [
    'packages/core/src/**/*.ts',
    '!packages/core/src/**/*.test.ts',
    '!packages/core/src/**/testing/**',
    '!packages/core/src/index.ts',
    '!packages/core/src/internal.ts',
    'packages/runtime/src/batching/**/*.ts',
    'packages/runtime/src/streams/**/*.ts',
    'packages/runtime/src/executor/device-scheduler.ts',
    'packages/runtime/src/executor/estimate-completion.ts',
    '!packages/runtime/src/**/*.test.ts',
    'packages/mesh/src/offload/**/*.ts',
    'packages/mesh/src/sync/**/*.ts',
    'packages/mesh/src/placement/placement-applier.ts',
    '!packages/mesh/src/**/*.test.ts',
  ],
  ignoreStatic: true,
  incremental: true,
  incrementalFile: 'reports/mutation/stryker-incremental.json',
  reporters: ['progress', 'json', 'html'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  // One test process: the machine it runs on is shared; raise with --concurrency on a quiet one.
  concurrency: 1,
  timeoutMS: 20000,
  tempDirName: '.tmp/stryker',
  cleanTempDir: 'always',
};
