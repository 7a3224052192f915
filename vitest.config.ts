import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (file: string): string => fileURLToPath(new URL(`./packages/${file}`, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against sources; the runtime's worker script is loaded from its built dist (see packages/runtime).
    // Exact-match patterns, so `@epara/mesh` does not swallow its subpaths or `@epara/mesh-nats`.
    alias: [
      { find: /^@epara\/core$/, replacement: src('core/src/index.ts') },
      { find: /^@epara\/core\/scheduling$/, replacement: src('core/src/scheduling.ts') },
      { find: /^@epara\/core\/internal$/, replacement: src('core/src/internal.ts') },
      { find: /^@epara\/core\/testing$/, replacement: src('core/src/testing.ts') },
      { find: /^@epara\/runtime$/, replacement: src('runtime/src/index.ts') },
      { find: /^@epara\/mesh$/, replacement: src('mesh/src/index.ts') },
      { find: /^@epara\/mesh\/wire$/, replacement: src('mesh/src/wire.ts') },
      { find: /^@epara\/mesh\/testing$/, replacement: src('mesh/src/testing.ts') },
      { find: /^@epara\/mesh-nats$/, replacement: src('mesh-nats/src/index.ts') },
      { find: /^@epara\/sim$/, replacement: src('sim/src/index.ts') },
      { find: /^@epara\/sim\/engine$/, replacement: src('sim/src/engine.ts') },
      { find: /^@epara\/sim\/analysis$/, replacement: src('sim/src/analysis.ts') },
      { find: /^@epara\/dashboard$/, replacement: src('dashboard/src/index.ts') },
      { find: /^@epara\/gateway$/, replacement: src('gateway/src/index.ts') },
    ],
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts', 'examples/**/*.test.ts'],
    // Every fast-check property runs from one fixed seed (FC_SEED overrides it).
    setupFiles: ['test/setup/fast-check.ts'],
    // Both cores: the suite is mostly waiting on workers, sockets and child processes.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
