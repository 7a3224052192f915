// The scoped run whose figures docs/testing.md reports: the device timeline (scheduling) and the hop/visited
// rule (routing) — what finished within the time left on a two-core machine shared at load 12–18. Widen
// `mutate` (e.g. to the whole scheduling/, routing/ and placement/ folders) on a quiet machine.
// `pnpm test:mutation:core` runs it; the full scope is stryker.config.mjs.
import base from './stryker.config.mjs';

export default {
  ...base,
  mutate: [
    'packages/core/src/scheduling/device-timeline.ts',
    'packages/core/src/routing/routing-common.ts',
  ],
  incrementalFile: 'reports/mutation/core-scoped.incremental.json',
  jsonReporter: { fileName: 'reports/mutation/core-scoped.json' },
  htmlReporter: { fileName: 'reports/mutation/core-scoped.html' },
  tempDirName: '.tmp/stryker-core-scoped',
};
