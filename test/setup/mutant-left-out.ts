/*
 * Mutation runs only (vitest.mutation.config.ts): skips the tests LEFT_OUT_TESTS names (stryker.config.mjs), in the dry
 * run and in every mutant's run, as LEFT_OUT does whole files. Each is a slow test whose kills other tests of its
 * group make too (docs/testing.md, "What keeps a run cheap"); `pnpm test` runs it as ever. A plain vitest run is not
 * touched.
 */
import { beforeEach, expect, inject } from 'vitest';

// Stryker's vitest runner provides `mode` ('dry-run' or 'mutant') to every run; a plain vitest run has none.
const mode = (inject as (key: string) => unknown)('mode');
const file = expect.getState().testPath ?? '';
const listed = JSON.parse(process.env['EPARA_MUTATION_LEFT_OUT_TESTS'] ?? '[]') as { file: string; test: string }[];
const here = listed.filter((t) => file.endsWith(`/${t.file}`)).map((t) => t.test);

if ((mode === 'dry-run' || mode === 'mutant') && here.length > 0) {
  beforeEach((ctx) => {
    if (here.some((name) => ctx.task.name.startsWith(name))) ctx.skip();
  });
}
