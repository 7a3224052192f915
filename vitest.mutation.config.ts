import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { defineConfig } from 'vitest/config';
import { GROUPS, GROUPS_OF_RUN, LEFT_OUT, LEFT_OUT_TESTS, TESTS } from './stryker.config.mjs';
import { keepAlivePoolPlugin } from './scripts/mutation-pool.mjs';
import { MutationRunLog } from './scripts/mutation-run-log.mjs';

// Stryker's sandbox leaves out examples/ and test/ (its ignorePatterns), so the base config's check that each of its
// longest-first files exists would fail there: it is told so before it loads (a static import would load it first).
process.env['EPARA_PARTIAL_TREE'] = '1';
const { default: base, MOCKING_FILES } = await import('./vitest.config.js');

// Mutation testing runs the packages' own unit and property tests: fast, deterministic, and where the checks
// of the mutated modules live. The integration suites in test/ (real models, sockets, browsers) stay out.
// Each group (MUTATION_GROUP, see stryker.config.mjs) runs only the test files beside its modules, so its dry
// run (the one full pass that records which test reaches which mutant) loads nothing else.
// The lists replace the base ones (mergeConfig would append to them and pull test/ back in).
const group = process.env['MUTATION_GROUP'] ?? 'all';
const include = TESTS[group as keyof typeof TESTS] ?? ['packages/*/src/**/*.test.ts'];
/**
 * A run of groups with different tests (RUNS in stryker.config.mjs): each group's modules and tests, for the dry run to
 * drop what a group's mutants reached in other groups' tests (test/setup/mutant-run-coverage.ts).
 */
const runGroups = GROUPS_OF_RUN as (keyof typeof GROUPS)[];
const testsOf = (g: keyof typeof GROUPS) => TESTS[g as keyof typeof TESTS];
const mixedTests = group !== 'all' && runGroups.some((g) => JSON.stringify(testsOf(g)) !== JSON.stringify(testsOf(runGroups[0]!)));
const runGroupsEnv = mixedTests ? { EPARA_MUTATION_RUN_GROUPS: JSON.stringify(Object.fromEntries(runGroups.map((g) => [g, { mutate: GROUPS[g], tests: testsOf(g) }]))) } : {};
/**
 * What a test may wait while a mutant runs, beyond 1.5 × its file's slowest test in the dry run
 * (test/setup/mutant-test-timeout.ts): MUTATION_TEST_TIMEOUT_MS, by default half of Stryker's `timeoutMS`
 * (MUTATION_TIMEOUT_MS, 10 s), so that a hung test fails before Stryker's timeout would restart the test process.
 */
const mutantTestTimeoutMs = Number(process.env['MUTATION_TEST_TIMEOUT_MS'] ?? Number(process.env['MUTATION_TIMEOUT_MS'] ?? 10_000) / 2);

/**
 * The order a mutant's test files run in. Stryker runs each mutant's covering tests with `bail: 1`, so a killed
 * mutant costs the files run up to the first failure. vitest's default order is the opposite of what that
 * wants (slowest file first, to balance workers); here the files go by their last recorded duration, fastest
 * first, a file that failed on its last run counted at a third of its duration (the mutant before was most likely
 * on the same lines, so that file is the likelier killer), then the smallest. A file a run skipped keeps the
 * duration it last ran in (below). It was "failed first" whatever the cost: after a mutant ended by the loop bound
 * in a 9 s model simulation, every mutant of the next lines ran that simulation first, to its loop bound, where a
 * 0.2 s file beside it kills them (docs/testing.md, "What keeps a run cheap"). A surviving mutant runs all its
 * files either way; only the order changes, not the outcome.
 */
/** A file that failed on its last run is ordered by its duration over this (a guess at how much likelier it kills). */
const FAILED_KILLS_MORE = 3;
/**
 * Each file's duration in the last run it ran in. vitest's results cache records a file a run skipped (Stryker's
 * `bail`, after another file failed) at a duration of 0, which put the dearest files first on the next mutant: a 9 s
 * model simulation skipped once ran first, and in full, on the next mutant, which a 0.2 s file kills.
 */
const knownMs = new Map<string, number>();
class FastFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const { cache, config } = this.ctx;
    const facts = (spec: TestSpecification) => {
      const key = `${spec.project.name}:${relative(config.root, spec.moduleId)}`;
      const last = cache.getFileTestResults(key);
      // vitest records a file the bail skipped at a duration of 0: its last real duration stands.
      if (last !== undefined && last.duration > 0) knownMs.set(key, last.duration);
      const ms = knownMs.get(key) ?? Number.POSITIVE_INFINITY;
      return { cost: last?.failed === true ? ms / FAILED_KILLS_MORE : ms, size: cache.getFileStats(key)?.size ?? 0 };
    };
    const known = new Map(files.map((f) => [f, facts(f)]));
    return [...files].sort((a, b) => {
      const x = known.get(a)!;
      const y = known.get(b)!;
      return (x.cost === y.cost ? 0 : x.cost < y.cost ? -1 : 1) || x.size - y.size;
    });
  }
}

export default defineConfig({
  ...base,
  // One worker thread per Stryker test process, kept between mutants (scripts/mutation-pool.mjs): vitest's own
  // pool starts a new one per mutant, which cost more CPU than most mutants' tests. The instrumented modules, the
  // test files and whatever imports them are still evaluated afresh on every run. MUTATION_WORKER=fresh puts vitest's
  // pool back (docs/testing.md).
  plugins: [...(base.plugins ?? []), ...(process.env['MUTATION_WORKER'] === 'fresh' ? [] : [keepAlivePoolPlugin()])],
  // The sequencer's durations per group (groups may run side by side; each sandbox links the same node_modules).
  cacheDir: `.tmp/vitest-cache-${group}`,
  test: {
    ...base.test,
    // One project, this config's: the base splits `pnpm test` into projects whose lists would replace `include`.
    projects: undefined,
    include,
    // MUTATION_RUN_LOG=<file>: one JSON line per run (the dry run and each mutant's) with its tests and CPU
    // (scripts/mutation-run-log.mjs; `node scripts/mutation-run-cost.mjs <file>` adds them up).
    ...(process.env['MUTATION_RUN_LOG'] ? { reporters: ['default', new MutationRunLog(process.env['MUTATION_RUN_LOG'])] } : {}),
    // EPARA_MUTATION_LEFT_OUT_TESTS: the single tests test/setup/mutant-left-out.ts skips (LEFT_OUT_TESTS).
    // Read by the few statistical cases that simulate tens of thousands of arrivals (30 s and more each under
    // the instrumentation): they skip themselves in a mutation run (docs/testing.md, "What it scores").
    env: { ...base.test?.env, EPARA_MUTATION_RUN: '1', EPARA_MUTANT_TEST_TIMEOUT_MS: String(mutantTestTimeoutMs), EPARA_MUTATION_LEFT_OUT_TESTS: JSON.stringify(LEFT_OUT_TESTS), ...runGroupsEnv },
    // While a mutant runs, a test that hangs (a promise the mutant left unsettled) fails at the bound above and kills
    // the mutant there, instead of holding the test process until Stryker's timeout restarts it (docs/testing.md,
    // "Hung tests"). The dry run keeps `testTimeout` below.
    // A property that fails on a mutant stops at its first counterexample, without shrinking it (test/setup/
    // mutant-fast-check.ts; MUTATION_SHRINK=1 shrinks as `pnpm test` does, to compare).
    // A mutant that loops synchronously (no test timeout can interrupt it) is thrown out of once its test has run
    // 10 × the instrumented code it ran in the dry run (MUTATION_LOOP_FACTOR), and reported as a Timeout through Stryker's hit count
    // (test/setup/mutant-loop-bound.ts; MUTATION_LOOP_FACTOR=0 turns it off, to compare).
    // In a run of several groups, the dry run keeps of each test's coverage only its own groups' mutants
    // (test/setup/mutant-run-coverage.ts).
    setupFiles: [...(base.test?.setupFiles ?? []), 'test/setup/mutant-test-timeout.ts', 'test/setup/mutant-fast-check.ts', 'test/setup/mutant-loop-bound.ts', 'test/setup/mutant-left-out.ts', 'test/setup/mutant-run-coverage.ts'],
    // The MILP reference (ten exact HiGHS solves, 8.5 s) would run for every placement mutant the faster files
    // do not kill; MUTATION_MILP=1 puts it back (docs/testing.md, "What it scores").
    // A file that mocks a module (`vi.mock`) needs a module graph of its own (`pnpm test` runs it isolated); in the one
    // graph of a mutation run the module is already imported and the mock misses it, and the dry run fails (the
    // device scheduler's full-device case did, and no runtime run could start): such files stay out.
    // The runtime's three model simulations (a bench section replayed in virtual time, 3–6 s of CPU each in a dry run)
    // ran for nearly every device-scheduler mutant the unit files do not kill: most of a runtime survivor's CPU. The
    // unit files and three case files kill each of the 15 mutants the simulations had killed (docs/testing.md, "What a
    // from-scratch run costs, counted"). The hold-pricing and estimate-overtaking runs likewise: a case file kills the
    // five mutants they were first to kill (docs/testing.md, "What it scores"). MUTATION_MODELS=1 puts them back.
    exclude: [
      'packages/*/src/**/*.nats.test.ts',
      '**/node_modules/**',
      ...MOCKING_FILES,
      // LEFT_OUT (stryker.config.mjs): the MILP reference and the runtime's simulations and virtual-time runs.
      ...LEFT_OUT,
    ],
    // The dry run (every test of the group once, under the coverage instrumentation) must pass for the group to run
    // at all; at load 40–55 one placement property took over 30 s there and stopped two groups. A mutant that slows
    // a test down is caught by Stryker's own timeout (`timeoutMS` plus 1.5 × the tests' dry-run time) either way.
    // At load 18–23 a placement property overran 120 s there and stopped the run: the bound is 10 minutes
    // (MUTATION_DRY_RUN_TEST_TIMEOUT_MS), which only a dry run that hangs reaches.
    testTimeout: Number(process.env['MUTATION_DRY_RUN_TEST_TIMEOUT_MS'] ?? 600_000),
    // One worker: Stryker runs one test process per concurrency slot, each on its own core.
    maxWorkers: 1,
    // One module graph for every run: a mutant's run re-imports its test files, not every module they import
    // (mutants are switched on at run time, so a module evaluated once serves them all). Measured on core's
    // errors/ modules: 20 % less CPU per mutant, the same outcomes (docs/testing.md).
    isolate: false,
    // MUTATION_SEQUENCER=default keeps vitest's own order (to measure the difference: docs/testing.md).
    sequence: { ...base.test?.sequence, sequencer: process.env['MUTATION_SEQUENCER'] === 'default' ? BaseSequencer : FastFirstSequencer },
  },
});
