import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

// Mutation testing runs the packages' own unit and property tests: fast, deterministic, and where the checks
// of the mutated modules live. The integration suites in test/ (real models, sockets, browsers) stay out.
export default mergeConfig(
  base,
  defineConfig({
    test: {
      include: ['packages/*/src/**/*.test.ts'],
      exclude: ['packages/*/src/**/*.nats.test.ts', '**/node_modules/**'],
    },
  }),
);
