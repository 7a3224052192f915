import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (name: string): string => fileURLToPath(new URL(`./packages/${name}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against sources; the runtime's worker script is loaded from its built dist (see packages/runtime).
    alias: {
      '@epara/core': src('core'),
      '@epara/runtime': src('runtime'),
      '@epara/mesh': src('mesh'),
      '@epara/sim': src('sim'),
      '@epara/gateway': src('gateway'),
    },
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts', 'examples/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
