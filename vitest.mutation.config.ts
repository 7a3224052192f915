import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

// Mutation testing runs the packages' own unit and property tests: fast, deterministic, and where the checks
// of the mutated modules live. The integration suites in test/ (real models, sockets, browsers) stay out.
// The lists replace the base ones (mergeConfig would append to them and pull test/ back in).
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['packages/*/src/**/*.test.ts'],
    exclude: ['packages/*/src/**/*.nats.test.ts', '**/node_modules/**'],
    // One fork: Stryker runs one test process per concurrency slot, each on its own core.
    maxWorkers: 1,
  },
});
