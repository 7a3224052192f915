/*
 * Mutation runs only (vitest.mutation.config.ts): how long a test may wait while Stryker runs a mutant.
 *
 * A mutant that leaves a promise unsettled (an emptied block, a callback never called) hangs its test. Stryker's
 * own timeout ends such a run only after `timeoutMS` plus the dry run's whole overhead (46–56 s at load 35) plus
 * 1.5 × the covering tests' time, and then restarts the test process. Here the test fails instead, and the mutant
 * is killed, once it has waited EPARA_MUTANT_TEST_TIMEOUT_MS plus 1.5 × the slowest test of its file in the dry run
 * (recorded by this file in the dry run, read in every mutant run): a test slowed down but still running to its end
 * gets the same allowance as under Stryker's rule. A plain vitest run (no Stryker) is not touched.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, expect, inject, vi } from 'vitest';

/** Per test file, its slowest test (hooks included) in the dry run, ms; in the sandbox Stryker runs in. */
const TIMES = join(process.cwd(), '.mutation-test-times.json');
const KEY = Symbol.for('epara.mutation.testTimes');
type Times = Record<string, number>;
const store = globalThis as { [KEY]?: Times };

// Stryker's vitest runner provides `mode` ('dry-run' or 'mutant') to every run; a plain vitest run has none.
const mode = (inject as (key: string) => unknown)('mode');
const file = expect.getState().testPath ?? '';

if (mode === 'dry-run') {
  const times = (store[KEY] ??= {});
  let startedAt = 0;
  beforeEach(() => {
    startedAt = performance.now();
  });
  afterEach(() => {
    times[file] = Math.max(times[file] ?? 0, performance.now() - startedAt);
  });
  afterAll(() => writeFileSync(TIMES, JSON.stringify(times)));
} else if (mode === 'mutant') {
  const floorMs = Number(process.env['EPARA_MUTANT_TEST_TIMEOUT_MS']);
  store[KEY] ??= readTimes();
  const slowestMs = store[KEY][file];
  // A file the dry run did not time (none should be): the config's timeout stays, and Stryker's own applies.
  if (floorMs > 0 && slowestMs !== undefined) {
    const ms = Math.ceil(floorMs + 1.5 * slowestMs);
    vi.setConfig({ testTimeout: ms, hookTimeout: ms });
  }
}

function readTimes(): Times {
  try {
    return JSON.parse(readFileSync(TIMES, 'utf8')) as Times;
  } catch {
    return {};
  }
}
