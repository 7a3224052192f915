import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
// @ts-expect-error -- a plain .mjs config of the repository, without types
import { GROUPS, RUNS } from '../../stryker.config.mjs';

// Mutation testing covers all of @epara/core (docs/testing.md): a new module must land in a group (stryker.config.mjs,
// GROUPS), or no run mutates it and no figure says so. The placement groups name their files one by one.

const root = fileURLToPath(new URL('../../', import.meta.url));
const globs = Object.values(GROUPS as Record<string, string[]>).flat();
const inScope = (file: string): boolean => globs.some((g) => (g.endsWith('/**/*.ts') ? file.startsWith(g.slice(0, -'**/*.ts'.length)) : file === g));

describe('the mutation scope', () => {
  it("holds every source module of @epara/core (not tests, test helpers, contract suites or the package's entry points)", () => {
    const sources = (readdirSync(`${root}packages/core/src`, { recursive: true }) as string[])
      .map((f) => `packages/core/src/${f.split('\\').join('/')}`)
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.d.ts') && !f.includes('/testing/') && !f.endsWith('-contract.ts'))
      // The entry points (index, internal, scheduling, testing: re-exports) sit at the top of src/.
      .filter((f) => f.slice('packages/core/src/'.length).includes('/'));
    expect(sources.length).toBeGreaterThan(80);
    expect(sources.filter((f) => !inScope(f))).toEqual([]);
  });

  it('runs every group in one run of `pnpm test:mutation` (RUNS)', () => {
    const runs = Object.values(RUNS as Record<string, string[]>).flat();
    expect([...runs].sort()).toEqual(Object.keys(GROUPS as Record<string, string[]>).sort());
  });
});
