// The scoped run whose figures docs/testing.md reports: @epara/core's scheduling and routing folders and
// placement's eviction, duty-cycle and resource modules — the subset that finishes within 40 minutes on a
// shared two-core machine. `pnpm test:mutation:core` runs it; the full scope is stryker.config.mjs.
import base from './stryker.config.mjs';

export default {
  ...base,
  mutate: [
    'packages/core/src/scheduling/**/*.ts',
    'packages/core/src/placement/evict-swap.ts',
    'packages/core/src/placement/duty-cycle.ts',
    'packages/core/src/placement/resources.ts',
    'packages/core/src/routing/**/*.ts',
    '!packages/core/src/**/*.test.ts',
    '!packages/core/src/**/testing/**',
  ],
  incrementalFile: 'reports/mutation/core-scoped-incremental.json',
};
