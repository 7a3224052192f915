/*
 * Mutation runs only (vitest.mutation.config.ts): ends a mutant's synchronous endless loop inside the test thread.
 *
 * A mutant that makes code loop without end outside its own line (a window whose `validUntil` never moves, a shift
 * whose index runs past its end) cannot be stopped by a test timeout — the thread never yields — and Stryker's own
 * hit limit counts only the reads of the *active* mutant's switch, which such a loop does not pass (and for a line
 * the dry run hit millions of times, its limit comes after Stryker's timeout). Stryker then waits out its whole
 * timeout (`timeoutMS` + the dry run's overhead + 1.5 × the tests' time) and restarts the test process.
 *
 * Every mutated expression of the instrumented code reads `activeMutant` of Stryker's global namespace
 * (`stryMutAct_9fa48(id)`: `ns.activeMutant === id`), whichever mutant is active, so the reads of that one property
 * count the instrumented code a test runs. Here the property becomes an accessor. In the dry run it counts each
 * test's reads (per test file, the most of any test or of the file's loading, written to the sandbox). In a mutant
 * run a test is thrown out of when it has read it more than MUTATION_LOOP_FACTOR (10) × its
 * file's dry-run most + MUTATION_LOOP_FLOOR (1,000,000), or — checked every 65,536 reads — when it has run longer
 * than the hung-test bound allows it (test/setup/mutant-test-timeout.ts: EPARA_MUTANT_TEST_TIMEOUT_MS + 1.5 × the
 * file's slowest test in the dry run), the allowance an asynchronous hang gets. Stryker's hit count is then raised
 * past its limit, so the runner reports the mutant as a Timeout ("Hit limit reached"), as Stryker's hit limit does.
 * A plain vitest run is not touched.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, expect, inject } from 'vitest';

/** Per test file, the most switch reads of one test (or of the file's loading) in the dry run. */
const READS = join(process.cwd(), '.mutation-switch-reads.json');
const KEY = Symbol.for('epara.mutation.switchReads');
/** The test meta key of the factor a mutant run's test needed (see below). */
const FACTOR_META = 'mutationLoopFactor';
/** Per test file, its slowest test in the dry run, ms: kept by test/setup/mutant-test-timeout.ts (a setup file before this one). */
const TIMES = Symbol.for('epara.mutation.testTimes');
type Reads = Record<string, number>;
const store = globalThis as { [KEY]?: Reads };

interface StrykerNamespace {
  activeMutant?: string;
  hitCount?: number;
  hitLimit?: number;
}
const injected = inject as (key: string) => unknown;
const mode = injected('mode');
const namespaceName = injected('globalNamespace');
const ns = typeof namespaceName === 'string' ? (globalThis as unknown as Record<string, StrykerNamespace | undefined>)[namespaceName] : undefined;
const file = expect.getState().testPath ?? '';
// MUTATION_LOOP_FACTOR=0: no accessor, no bound (Stryker's hit limit and timeout alone, to compare). 10, not Stryker's
// 100: no killed or surviving mutant's run of the runtime and core-placement-search runs that measured it read more
// than 1.31 × its file's dry-run most past the floor (docs/testing.md, "What keeps a run cheap"), and a loop ends
// ten times sooner.
const factor = Number(process.env['MUTATION_LOOP_FACTOR'] ?? 10);
const floor = Number(process.env['MUTATION_LOOP_FLOOR'] ?? 1_000_000);

if (ns !== undefined && factor > 0 && (mode === 'dry-run' || mode === 'mutant')) {
  let reads = 0;
  let most = 0;
  let bound = Number.POSITIVE_INFINITY;
  let allowedMs = Number.POSITIVE_INFINITY;
  let startedAt = performance.now();
  if (mode === 'mutant') {
    store[KEY] ??= readReads();
    const known = store[KEY][file];
    // A file the dry run did not count (none should be): no bound, Stryker's own hit limit and timeout apply.
    if (known !== undefined) bound = factor * known + floor;
    // The hung-test bound's allowance (mutant-test-timeout.ts records the dry run's times under this key).
    const slowestMs = (globalThis as { [TIMES]?: Record<string, number> })[TIMES]?.[file];
    const floorMs = Number(process.env['EPARA_MUTANT_TEST_TIMEOUT_MS']);
    if (floorMs > 0 && slowestMs !== undefined) allowedMs = floorMs + 1.5 * slowestMs;
  }
  const exceeded = (why: string): never => {
    // Read by the runner after the file (the setup's `afterAll` copies it to the file's meta): over the limit, the
    // mutant's run is a Timeout whatever its tests did.
    if (ns.hitLimit !== undefined) ns.hitCount = Math.max(ns.hitCount ?? 0, ns.hitLimit) + 1;
    throw new Error(`Mutation loop bound: ${why}`);
  };
  let active = ns.activeMutant;
  Object.defineProperty(ns, 'activeMutant', {
    configurable: true,
    enumerable: true,
    get() {
      if (++reads > bound) exceeded(`${reads} reads of the mutant switch in one test, over ${factor} × the dry run's ${(bound - floor) / factor} + ${floor}`);
      if ((reads & 0xffff) === 0 && performance.now() - startedAt > allowedMs) {
        exceeded(`${reads} reads of the mutant switch in ${Math.round(performance.now() - startedAt)} ms, over the test's ${Math.round(allowedMs)} ms`);
      }
      return active;
    },
    set(value: string | undefined) {
      active = value;
    },
  });
  beforeEach(() => {
    most = Math.max(most, reads);
    reads = 0;
    startedAt = performance.now();
  });
  if (mode === 'mutant' && bound !== Number.POSITIVE_INFINITY) {
    // The factor this test needed (its reads over the floor, per dry-run most of its file): what a lower
    // MUTATION_LOOP_FACTOR would have thrown out of. Read by the run log (scripts/mutation-run-log.mjs) from the
    // test's meta, to show which factor leaves every Killed and Survived outcome as it is (docs/testing.md).
    const known = (bound - floor) / factor;
    afterEach((ctx) => {
      (ctx.task.meta as Record<string, unknown>)[FACTOR_META] = known > 0 ? Math.round((100 * (reads - floor)) / known) / 100 : 0;
    });
  }
  if (mode === 'dry-run') {
    afterEach(() => {
      most = Math.max(most, reads);
    });
    afterAll(() => {
      const all = (store[KEY] ??= {});
      all[file] = Math.max(all[file] ?? 0, most, reads);
      writeFileSync(READS, JSON.stringify(all));
    });
  }
}

function readReads(): Reads {
  try {
    return JSON.parse(readFileSync(READS, 'utf8')) as Reads;
  } catch {
    return {};
  }
}
