// Mutation testing (`pnpm test:mutation`): where correctness lives — all of @epara/core, and in the runtime and
// the mesh the request scheduling and batching, streams, offloading, sync and placement-apply modules.
// Incremental: a rerun after a small change tests only the mutants it touches. See docs/testing.md.
//
// The scope is split into groups that can run one at a time (`MUTATION_GROUP=<name> pnpm test:mutation`), each
// with its own incremental file and JSON report; scripts/mutation-summary.mjs adds up every group's report.
// Without MUTATION_GROUP one run covers the whole scope into the `all` files.
const CORE = 'packages/core/src';
// Test code is not mutated: test files, test helpers, and the contract suites (`*-contract.ts`: the suite each
// implementation of a port runs, exported for tests; a mutant there changes a test, not the code under test).
const notTests = ['!packages/*/src/**/*.test.ts', '!packages/*/src/**/testing/**', '!packages/*/src/**/*-contract.ts'];

const inFolder = (dir, names) => names.map((n) => `${CORE}/${dir}/${n}.ts`);
/**
 * The groups, each a list of `mutate` globs. Together they are the whole scope. A group is sized to finish
 * well within a session on a shared two-core machine (about 300–1,200 mutants): Stryker writes a group's report
 * and incremental file only when the group finishes, so a group stopped half-way leaves nothing to reuse.
 */
export const GROUPS = {
  'core-scheduling': [`${CORE}/scheduling/**/*.ts`],
  'core-profiles': [`${CORE}/categories/**/*.ts`, `${CORE}/profiles/**/*.ts`, `${CORE}/model/**/*.ts`],
  'core-allocation': [`${CORE}/allocation/**/*.ts`],
  // placement/ is 3,700-odd mutants: four groups by what the modules do. Every file of the folder is in one
  // (test/mutation/scope.test.ts checks that every module of core is in a group).
  'core-placement-input': inFolder('placement', ['validate-input', 'options', 'model', 'resources', 'value', 'batch-variants', 'duty-cycle', 'types', 'objective-port']),
  'core-placement-flow': inFolder('placement', ['objective-flow', 'ordered-flows', 'objective', 'flow-undo', 'max-heap', 'find-violations', 'guarantee']),
  // server-swap: the swap rule (`serverSwap`), added after the groups were drawn and in none until this round.
  'core-placement-search': inFolder('placement', ['place-services', 'candidates', 'greedy', 'build-placement', 'server-swap']),
  // rebatch: a starving service's shared items re-batched (`rebatchStarving`), added after the groups were drawn.
  'core-placement-repair': inFolder('placement', ['group-repair', 'evict-swap', 'consolidate', 'change-plan', 'trim-shares', 'upgrade-shares', 'rebatch']),
  'core-routing': [`${CORE}/routing/**/*.ts`, `${CORE}/view/**/*.ts`, `${CORE}/forecast/**/*.ts`],
  'core-support': [`${CORE}/errors/**/*.ts`, `${CORE}/metrics/**/*.ts`, `${CORE}/ports/**/*.ts`, `${CORE}/tracing/**/*.ts`],
  runtime: [
    'packages/runtime/src/batching/**/*.ts',
    'packages/runtime/src/streams/**/*.ts',
    'packages/runtime/src/executor/device-scheduler.ts',
    'packages/runtime/src/executor/estimate-completion.ts',
  ],
  'mesh-offload': ['packages/mesh/src/offload/**/*.ts'],
  'mesh-sync': ['packages/mesh/src/sync/**/*.ts', 'packages/mesh/src/placement/placement-applier.ts'],
};

/**
 * The Stryker runs of `pnpm test:mutation`: each runs its groups in one start (instrumenting, the checker's programs,
 * vitest's start) and one dry run, where each group would pay its own. Each mutant still runs only tests of its own
 * group that reach it: the dry run drops, per test, the mutants of groups whose TESTS do not hold its file
 * (test/setup/mutant-run-coverage.ts), and the checker checks each mutant in its group's program
 * (scripts/stryker-typescript-checker.mjs), so a run's verdicts and per-mutant costs are its groups' own. Groups are
 * put together where the tests of one load few or none of the other's modules: a module a run mutates is evaluated
 * afresh for each mutant and runs instrumented, in every test of the run that loads it. core-scheduling, core-profiles
 * and core-routing load none of each other's modules but the two first's; the runtime's tests load no mesh module and
 * the mesh's no runtime one. The results stay one file per group: scripts/mutation-shared.mjs merges the groups' files
 * into the run's incremental file before it and splits the run's results back into them (the checkpoint reporter as
 * it goes, scripts/run-mutation.mjs at the end). `MUTATION_GROUP=<run>` runs one; a group's own name still runs it
 * alone. docs/testing.md, "What keeps a run cheap".
 */
export const RUNS = {
  'core-placement': ['core-placement-input', 'core-placement-flow', 'core-placement-search', 'core-placement-repair'],
  'core-scheduling-routing': ['core-scheduling', 'core-profiles', 'core-routing'],
  'core-allocation-support': ['core-allocation', 'core-support'],
  edge: ['runtime', 'mesh-offload', 'mesh-sync'],
};

/**
 * A from-scratch run split over CI jobs of two cores (`MUTATION_JOB=<1…3> pnpm test:mutation`), by run (RUNS):
 * `node scripts/mutation-estimate.mjs` gives each job's CPU seconds.
 */
export const JOBS = [['core-placement', 'core-allocation-support'], ['core-scheduling-routing'], ['edge']];

const tests = (pkg, dirs) => dirs.map((d) => `packages/${pkg}/src/${d}/**/*.test.ts`);
/**
 * The test files each group's mutants run against (vitest.mutation.config.ts reads them): the tests beside
 * the group's modules, and the few elsewhere in the package that drive them. Only these load in the dry run;
 * each mutant then runs only those of them that reach it (per-test coverage).
 */
export const TESTS = {
  'core-scheduling': tests('core', ['scheduling', 'categories', 'profiles', 'model']),
  'core-profiles': tests('core', ['scheduling', 'categories', 'profiles', 'model']),
  'core-allocation': tests('core', ['allocation']),
  'core-placement-input': tests('core', ['placement']),
  'core-placement-flow': tests('core', ['placement']),
  'core-placement-search': tests('core', ['placement']),
  'core-placement-repair': tests('core', ['placement']),
  'core-routing': tests('core', ['routing', 'view', 'forecast']),
  'core-support': tests('core', ['errors', 'metrics', 'ports', 'tracing']),
  // generation/: its scheduling tests drive the device scheduler's engine-work path (enqueueWork, follow-ups).
  runtime: tests('runtime', ['batching', 'streams', 'executor', 'generation']),
  'mesh-offload': tests('mesh', ['offload', 'node', 'observability', 'testing']),
  'mesh-sync': tests('mesh', ['sync', 'placement']),
  all: ['packages/*/src/**/*.test.ts'],
};
// A run's tests are its groups' together (each mutant runs only its own group's: RUNS above).
for (const [name, groups] of Object.entries(RUNS)) TESTS[name] = [...new Set(groups.flatMap((g) => TESTS[g]))];

/**
 * Test files left out of mutation runs (vitest.mutation.config.ts excludes them; scripts/mutation-estimate.mjs leaves
 * them out of a group's dry run): the runtime's model simulations and its two virtual-time runs of the device scheduler
 * unless MUTATION_MODELS=1, the placement MILP reference unless MUTATION_MILP=1 (docs/testing.md, "Left out of
 * mutation runs").
 */
export const LEFT_OUT = [
  ...(process.env.MUTATION_MODELS === '1'
    ? []
    : ['settled-batch-model', 'late-service-model', 'image-server-model', 'hold-pricing', 'estimate-overtaking'].map((f) => `packages/runtime/src/executor/${f}.test.ts`)),
  ...(process.env.MUTATION_MILP === '1' ? [] : ['packages/core/src/placement/milp-reference.test.ts']),
];

/**
 * Single tests left out of mutation runs (test/setup/mutant-left-out.ts skips them in the dry run and every mutant's
 * run; `pnpm test` runs them): each costs seconds per covering mutant, and every mutant it was first to kill is killed
 * by another test of its group (checked by applying each by hand against the group's other tests; docs/testing.md).
 * MUTATION_ALL_TESTS=1 puts them back.
 */
export const LEFT_OUT_TESTS = process.env.MUTATION_ALL_TESTS === '1' ? [] : [
  // 40 short-lived servers on a manual clock: 3 s of a dry run's 6 in mesh-sync, covering 800 mutants. Its seven kills
  // (ViewStore.forgetDead's filter and cut-off) are made by the sync folder's other tests (each applied by hand without it).
  { file: 'packages/mesh/src/sync/dead-retention.test.ts', test: 'many short-lived servers leave at most maxDeadEntries dead behind' },
  // Three placement properties of about a second each that no mutant's run ever failed first (neither in the four
  // placement groups' last complete results nor in the part-way rerun): every mutant they fail, a faster test fails
  // before them. They ran in full for each of the 200-odd placement survivors they cover (about 96 s of a from-scratch
  // run's CPU). Each timeout they cover is a loop that other tests covering it reach too. The rule they check with
  // whole-SLO slack, that the order does not change, slack-fit.cases.test.ts checks on the order itself.
  { file: 'packages/core/src/placement/arrival-slack.test.ts', test: 'every item arriving with its whole SLO (or more) left' },
  { file: 'packages/core/src/placement/arrival-slack.test.ts', test: 'whatever the slack, the rule only reorders equal items' },
  { file: 'packages/core/src/placement/server-swap.test.ts', test: 'never lowers the objective and never violates a constraint' },
];

const group = process.env.MUTATION_GROUP ?? 'all';
const run = RUNS[group];
/**
 * The checker's program per group (tsconfig.mutation-<group>.json): the group's folders and what they import (the
 * four placement groups share one, the placement folder's). A run of several groups checks each mutant in its group's
 * program (scripts/stryker-typescript-checker.mjs); its own `tsconfigFile` is the whole scope's.
 */
export function tsconfigOf(name) {
  if (name === 'all' || name in RUNS) return 'tsconfig.mutation.json';
  if (name.startsWith('core-placement')) return 'tsconfig.mutation-core-placement.json';
  return `tsconfig.mutation-${name}.json`;
}
if (group !== 'all' && !(group in GROUPS) && run === undefined) {
  throw new Error(`MUTATION_GROUP=${group}: not one of ${[...Object.keys(GROUPS), ...Object.keys(RUNS)].join(', ')}`);
}
/** The groups a run of MUTATION_GROUP tests (a group's own name: itself). */
export const GROUPS_OF_RUN = group === 'all' ? Object.keys(GROUPS) : run ?? [group];
const mutate = GROUPS_OF_RUN.flatMap((g) => GROUPS[g]);

export default {
  // Listed explicitly: pnpm's isolated node_modules hides them from Stryker's plugin discovery.
  plugins: [
    '@stryker-mutator/vitest-runner',
    './scripts/stryker-typescript-checker.mjs',
    '@stryker-mutator/typescript-checker',
    './scripts/stryker-ignore-messages.mjs',
    './scripts/mutation-checkpoint-reporter.mjs',
  ],
  // Text meant only for people (thrown errors' messages, option hints, log lines) is not mutated: see the
  // ignorer's file and docs/testing.md.
  ignorers: ['epara-messages'],
  testRunner: 'vitest',
  // Not `related`: the group's TESTS already are the files beside its modules, and per-test coverage picks each
  // mutant's tests; vitest's related-file search over the module graph on every mutant run only costs time.
  vitest: { configFile: 'vitest.mutation.config.ts', related: false },
  // Mutants that do not compile are settled by the checker without a test run. `epara-typescript`
  // (scripts/stryker-typescript-checker.mjs) parses and binds the program once and checks each mutant's file in a
  // program that reuses every other file: 0.06–0.14 s of CPU per mutant where @stryker-mutator/typescript-checker,
  // which parses and binds the whole program again per check, took 0.25 s in core and 0.6–1.2 s in runtime and mesh,
  // with the same verdicts (docs/testing.md, "What keeps a run cheap"). MUTATION_CHECKER=stryker puts Stryker's back, to
  // compare.
  checkers: [process.env.MUTATION_CHECKER === 'stryker' ? 'typescript' : 'epara-typescript'],
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  // Sources only (not tests, benchmarks or examples), and per group only what it mutates and what that imports:
  // the checker builds a new program for every check, and its cost grows with the program (a core-allocation
  // mutant took 0.49 s of CPU checked in all of core's 147 files, 0.25 s in the 19 of allocation and its imports;
  // the runtime and mesh groups' programs are 165, 90 and 95 project files instead of their packages' 199 and 156:
  // docs/testing.md). A mutant that breaks only a file outside the program is not caught here: its tests run.
  tsconfigFile: tsconfigOf(group),
  coverageAnalysis: 'perTest',
  mutate: [...mutate, ...notTests, `!${CORE}/index.ts`, `!${CORE}/internal.ts`],
  // Not copied to the sandbox: other groups' sandboxes and reports (groups may run side by side), and what
  // no unit test reads.
  ignorePatterns: ['.tmp', 'reports', 'docs', 'bench', 'examples', 'test/*', '!test/setup'],
  ignoreStatic: true,
  incremental: true,
  // Committed (test/mutation/, outside the sandbox copy): the next run, here or on another machine, reuses every
  // result whose code and covering tests did not change, and scripts/mutation-summary.mjs reads the figures
  // from these files (each is a full mutation-testing report).
  // A run's file is made from its groups' files and split back into them (RUNS above); not committed.
  incrementalFile: run !== undefined ? `reports/mutation/${group}.incremental.json` : `test/mutation/${group}.incremental.json`,
  // `epara-checkpoint` writes the incremental file as the run goes, so a run stopped half-way keeps its results.
  // The HTML report (the whole report again, inlined in a page: the placement run's is some 40 MB) only when asked for
  // (MUTATION_HTML=1); scripts/mutation-summary.mjs reads the JSON.
  reporters: ['progress', 'json', ...(process.env.MUTATION_HTML === '1' ? ['html'] : []), 'epara-checkpoint'],
  jsonReporter: { fileName: `reports/mutation/${group}.json` },
  htmlReporter: { fileName: `reports/mutation/${group}.html` },
  // With the checker, concurrency 1 (or 2) is one checker and one test process: two cores. Raise it (e.g.
  // --concurrency 4) only on more quiet cores.
  concurrency: 1,
  // A mutant whose run overruns this (plus 1.5 times its tests' dry-run time) counts as a timeout, i.e. detected.
  // On a heavily shared machine a run starved of CPU can overrun it too: raise it there
  // (MUTATION_TIMEOUT_MS=30000) so the timeouts are the mutants that loop, not the load.
  timeoutMS: Number(process.env.MUTATION_TIMEOUT_MS ?? 10000),
  // The dry run (every test of the run once, under the coverage instrumentation) may take Stryker's default of 5
  // minutes on a shared machine: the four placement groups' dry run overran it at load 20–26 and stopped the run.
  dryRunTimeoutMinutes: Number(process.env.MUTATION_DRY_RUN_MINUTES ?? 30),
  tempDirName: `.tmp/stryker-${group}`,
  cleanTempDir: 'always',
};
