import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
// @ts-expect-error -- a plain .mjs script of the repository, without types
import { mergeReports, splitReport } from '../../scripts/mutation-shared.mjs';

// Groups that share a test set run as one Stryker run (SHARED in stryker.config.mjs) while their results stay one file
// per group: the run's incremental file is merged from the groups' files, and its results split back into them.

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
