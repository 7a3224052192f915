import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
// @ts-expect-error -- a plain .mjs script of the repository, without types
import { dropOtherGroupsCoverage, mergeReports, mutantIdsByGroup, splitReport } from '../../scripts/mutation-shared.mjs';

// The groups of a run (RUNS in stryker.config.mjs) are one Stryker run while their results stay one file per group: the
// run's incremental file is merged from the groups' files, and its results split back into them. Each mutant runs only
// its own group's tests: the dry run's coverage loses what other groups' tests reached of it.

interface Mutant {
  id: string;
  status: string;
  coveredBy?: string[];
  killedBy?: string[];
}
interface Report {
  files: Record<string, { source: string; mutants: Mutant[] }>;
  testFiles: Record<string, { source: string; tests: { id: string; name: string }[] }>;
}

let root = '';
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'epara-mutation-shared-'));
  mkdirSync(join(root, 'src'), { recursive: true });
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const write = (name: string, report: Report): string => {
  const path = join(root, name);
  writeFileSync(path, JSON.stringify(report));
  return path;
};

describe('mergeReports', () => {
  it('names every test by file and name, and keeps each report’s references to the tests it shares', () => {
    writeFileSync(join(root, 'src/a.test.ts'), 'A');
    const a = write('a.json', {
      files: { 'src/a.ts': { source: 'a', mutants: [{ id: '1', status: 'Killed', coveredBy: ['0', '1'], killedBy: ['1'] }] } },
      testFiles: { 'src/a.test.ts': { source: 'A', tests: [{ id: '0', name: 'first' }, { id: '1', name: 'second' }] } },
    });
    const b = write('b.json', {
      files: { 'src/b.ts': { source: 'b', mutants: [{ id: '1', status: 'Survived', coveredBy: ['7'] }] } },
      testFiles: { 'src/a.test.ts': { source: 'A', tests: [{ id: '7', name: 'first' }] } },
    });
    const merged = mergeReports([a, b, join(root, 'missing.json')], root) as Report;
    expect(merged.testFiles['src/a.test.ts']!.tests).toEqual([
      { id: 'src/a.test.ts#first', name: 'first' },
      { id: 'src/a.test.ts#second', name: 'second' },
    ]);
    expect(merged.files['src/a.ts']!.mutants[0]).toMatchObject({ coveredBy: ['src/a.test.ts#first', 'src/a.test.ts#second'], killedBy: ['src/a.test.ts#second'] });
    expect(merged.files['src/b.ts']!.mutants[0]).toMatchObject({ status: 'Survived', coveredBy: ['src/a.test.ts#first'] });
  });

  it('keeps the version of a test file that is current, and drops the references a report made to another version', () => {
    writeFileSync(join(root, 'src/a.test.ts'), 'NEW');
    const old = write('old.json', {
      files: { 'src/a.ts': { source: 'a', mutants: [{ id: '1', status: 'Killed', coveredBy: ['0'], killedBy: ['0'] }] } },
      testFiles: { 'src/a.test.ts': { source: 'OLD', tests: [{ id: '0', name: 'first' }] } },
    });
    const current = write('current.json', {
      files: { 'src/b.ts': { source: 'b', mutants: [{ id: '1', status: 'Killed', coveredBy: ['3'], killedBy: ['3'] }] } },
      testFiles: { 'src/a.test.ts': { source: 'NEW', tests: [{ id: '3', name: 'first' }] } },
    });
    const merged = mergeReports([old, current], root) as Report;
    expect(merged.testFiles['src/a.test.ts']!.source).toBe('NEW');
    // Stryker tests a killed mutant again when its killing test is gone, as it would in its own group's run, where
    // the test file's change changed each of its tests.
    expect(merged.files['src/a.ts']!.mutants[0]).toMatchObject({ status: 'Killed', coveredBy: [], killedBy: [] });
    expect(merged.files['src/b.ts']!.mutants[0]).toMatchObject({ coveredBy: ['src/a.test.ts#first'], killedBy: ['src/a.test.ts#first'] });
  });
});

describe('splitReport', () => {
  it('writes each group the files its globs name, and every test', () => {
    const report = {
      files: { 'src/x/a.ts': { source: 'a', mutants: [] }, 'src/x/deep/b.ts': { source: 'b', mutants: [] }, 'src/y.ts': { source: 'y', mutants: [] } },
      testFiles: { 'src/a.test.ts': { source: 'A', tests: [] } },
    };
    splitReport(report, { xs: ['src/x/**/*.ts'], y: ['src/y.ts'] }, (g: string) => join(root, `${g}.json`));
    const read = (g: string) => JSON.parse(readFileSync(join(root, `${g}.json`), 'utf8')) as Report;
    expect(Object.keys(read('xs').files)).toEqual(['src/x/a.ts', 'src/x/deep/b.ts']);
    expect(Object.keys(read('y').files)).toEqual(['src/y.ts']);
    expect(read('y').testFiles).toEqual(report.testFiles);
  });
});

describe('a run of groups with different tests', () => {
  it("reads each group's mutant ids from the instrumented sources of its files, not from other files", () => {
    mkdirSync(join(root, 'src/x/deep'), { recursive: true });
    writeFileSync(join(root, 'src/x/a.ts'), 'if (stryMutAct_9fa48("1") ? false : (stryCov_9fa48("1", "2"), a)) f(stryMutAct_9fa48("2") ? 0 : 1);');
    writeFileSync(join(root, 'src/x/deep/b.ts'), 'stryCov_9fa48("3"); g(stryMutAct_9fa48("3") ? "" : "b");');
    writeFileSync(join(root, 'src/x/plain.ts'), 'export const plain = 1;');
    writeFileSync(join(root, 'src/y.ts'), 'stryCov_9fa48("14"); h(stryMutAct_9fa48("14") ? 1 : 2);');
    const ids = mutantIdsByGroup(root, { xs: ['src/x/**/*.ts'], y: ['src/y.ts'], none: ['src/z/**/*.ts'] }) as Record<string, Set<string>>;
    expect([...ids['xs']!].sort()).toEqual(['1', '2', '3']);
    expect([...ids['y']!]).toEqual(['14']);
    expect(ids['none']!.size).toBe(0);
  });

  it("keeps of each test's coverage only the mutants of groups whose tests hold its file, and no other file's tests", () => {
    const perTest: Record<string, Record<string, number>> = {
      '/sandbox/src/x/a.test.ts#first': { '1': 3, '14': 1 },
      '/sandbox/src/x/a.test.ts#second': { '14': 2 },
      '/sandbox/src/y.test.ts#third': { '1': 1, '14': 1 },
    };
    const ids = { xs: new Set(['1', '2']), y: new Set(['14']) };
    const testsOf = { xs: ['src/x/**/*.test.ts'], y: ['src/y.test.ts', 'src/x/**/*.test.ts'] };
    // Both groups hold src/x's tests: nothing goes.
    expect(dropOtherGroupsCoverage(perTest, 'src/x/a.test.ts', '/sandbox/src/x/a.test.ts#', ids, testsOf)).toBe(0);
    // y's test reached a mutant of xs, whose tests it is not one of.
    expect(dropOtherGroupsCoverage(perTest, 'src/y.test.ts', '/sandbox/src/y.test.ts#', ids, testsOf)).toBe(1);
    expect(perTest).toEqual({
      '/sandbox/src/x/a.test.ts#first': { '1': 3, '14': 1 },
      '/sandbox/src/x/a.test.ts#second': { '14': 2 },
      '/sandbox/src/y.test.ts#third': { '14': 1 },
    });
    // With src/x's tests y's no longer, their coverage of y's mutant goes, and only theirs.
    expect(dropOtherGroupsCoverage(perTest, 'src/x/a.test.ts', '/sandbox/src/x/a.test.ts#', ids, { ...testsOf, y: ['src/y.test.ts'] })).toBe(2);
    expect(perTest['/sandbox/src/x/a.test.ts#first']).toEqual({ '1': 3 });
    expect(perTest['/sandbox/src/x/a.test.ts#second']).toEqual({});
    expect(perTest['/sandbox/src/y.test.ts#third']).toEqual({ '14': 1 });
  });
});
