import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';
import { TESTS } from './stryker.config.mjs';

// Mutation testing runs the packages' own unit and property tests: fast, deterministic, and where the checks
// of the mutated modules live. The integration suites in test/ (real models, sockets, browsers) stay out.
// Each group (MUTATION_GROUP, see stryker.config.mjs) runs only the test files beside its modules, so its dry
// run (the one full pass that records which test reaches which mutant) loads nothing else.
// The lists replace the base ones (mergeConfig would append to them and pull test/ back in).
const group = process.env['MUTATION_GROUP'] ?? 'all';
const include = TESTS[group as keyof typeof TESTS] ?? ['packages/*/src/**/*.test.ts'];

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include,
    exclude: ['packages/*/src/**/*.nats.test.ts', '**/node_modules/**'],
    // One fork: Stryker runs one test process per concurrency slot, each on its own core.
    maxWorkers: 1,
    // One module graph for every run: a mutant's run re-imports its test files, not every module they import
    // (mutants are switched on at run time, so a module evaluated once serves them all). Measured on core's
    // errors/ modules: 20 % less CPU per mutant, the same outcomes (docs/testing.md).
    isolate: false,
  },
});
