/*
 * Mutation runs of several groups only (RUNS in stryker.config.mjs; vitest.mutation.config.ts names the run's groups in
 * EPARA_MUTATION_RUN_GROUPS): after each test file of the dry run, drops from its tests' coverage the mutants of groups
 * whose TESTS do not hold the file, so that each mutant runs only tests of its own group that reach it — the tests, and
 * so the verdict and the cost, of its group's own run. A mutant reached only by other groups' tests is `NoCoverage`, as
 * it is there. A plain vitest run, and a mutant's run, are not touched.
 */
import { relative } from 'node:path';
import { afterAll, expect, inject } from 'vitest';
// @ts-expect-error -- a plain .mjs script of the repository, without types
import { dropOtherGroupsCoverage, mutantIdsByGroup } from '../../scripts/mutation-shared.mjs';

interface RunGroup {
  readonly mutate: readonly string[];
  readonly tests: readonly string[];
}
type Coverage = { perTest?: Record<string, Record<string, number>> };
const IDS = Symbol.for('epara.mutation.idsByGroup');
const store = globalThis as { [IDS]?: Record<string, Set<string>> };

const injected = inject as (key: string) => unknown;
const mode = injected('mode');
const namespaceName = injected('globalNamespace');
const groups = JSON.parse(process.env['EPARA_MUTATION_RUN_GROUPS'] ?? 'null') as Record<string, RunGroup> | null;
const file = expect.getState().testPath ?? '';

if (mode === 'dry-run' && groups !== null && typeof namespaceName === 'string') {
  afterAll(() => {
    const ns = (globalThis as unknown as Record<string, { mutantCoverage?: Coverage } | undefined>)[namespaceName];
    const perTest = ns?.mutantCoverage?.perTest;
    if (perTest === undefined) return;
    // Read once per dry run, from the instrumented sources of the sandbox (the working directory).
    store[IDS] ??= mutantIdsByGroup(process.cwd(), Object.fromEntries(Object.entries(groups).map(([g, { mutate }]) => [g, mutate]))) as Record<string, Set<string>>;
    const testsOf = Object.fromEntries(Object.entries(groups).map(([g, { tests }]) => [g, tests]));
    dropOtherGroupsCoverage(perTest, relative(process.cwd(), file).split('\\').join('/'), `${file}#`, store[IDS], testsOf);
  });
}
