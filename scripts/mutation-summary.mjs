#!/usr/bin/env node
// Reads Stryker's JSON report and prints the mutation figures, overall and per package (and, for runtime and
// mesh, their scoped modules); the last line is one JSON object.
//
// Each group of stryker.config.mjs keeps its results in its incremental file (test/mutation/<group>.incremental.json,
// committed; a full mutation-testing report). With MUTATION_GROUP set (one group, or several separated by commas)
// this reads those groups'; otherwise it adds
// up every group's there (or reports/mutation/all.json, the report of an ungrouped run, when there is none).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = fileURLToPath(new URL('../test/mutation/', import.meta.url));
const group = process.env.MUTATION_GROUP;
const SUFFIX = '.incremental.json';
const grouped = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(SUFFIX)).map((f) => f.slice(0, -SUFFIX.length)).filter((n) => n !== 'all').sort() : [];
const names = group ? group.split(',') : grouped;
const paths = names.length > 0 ? names.map((n) => `${dir}${n}${SUFFIX}`) : [fileURLToPath(new URL('../reports/mutation/all.json', import.meta.url))];
const report = { files: {} };
for (const path of paths) Object.assign(report.files, JSON.parse(readFileSync(path, 'utf8')).files);
console.log(`reports: ${names.length > 0 ? names.join(', ') : 'all'}`);
const blank = () => ({ killed: 0, survived: 0, noCoverage: 0, timeout: 0, compileErrors: 0, ignored: 0, ignoredStatic: 0 });
const total = blank();
const byPackage = {};
const byFile = {};
const survivors = [];
const KEY = { Killed: 'killed', Survived: 'survived', NoCoverage: 'noCoverage', Timeout: 'timeout', CompileError: 'compileErrors', RuntimeError: 'compileErrors', Ignored: 'ignored' };
for (const [file, result] of Object.entries(report.files)) {
  const pkg = /packages\/([^/]+)\//.exec(file.replace(root, ''))?.[1] ?? 'other';
  byPackage[pkg] ??= blank();
  const rel = file.replace(root, '');
  byFile[rel] = blank();
  for (const mutant of result.mutants) {
    const key = KEY[mutant.status];
    if (!key) continue;
    total[key]++;
    byPackage[pkg][key]++;
    byFile[rel][key]++;
    // `ignoreStatic` (stryker.config.mjs): mutants reached only while a module loads are not run. A scope choice
    // the reader must see, so they are counted apart from the message ignorer's.
    if (key === 'ignored' && /^Static mutant/.test(mutant.statusReason ?? '')) {
      total.ignoredStatic++;
      byPackage[pkg].ignoredStatic++;
      byFile[rel].ignoredStatic++;
    }
    if (key === 'survived' || key === 'noCoverage') survivors.push(`${key === 'survived' ? 'survived' : 'no coverage'} ${rel}:${mutant.location.start.line} ${mutant.mutatorName}: ${JSON.stringify(mutant.replacement ?? '')}`);
  }
}
// Stryker's score: detected (killed + timeout) over valid mutants (detected + survived + no coverage).
const score = (c) => {
  const valid = c.killed + c.timeout + c.survived + c.noCoverage;
  return valid === 0 ? null : Math.round((1000 * (c.killed + c.timeout)) / valid) / 10;
};
// Surviving mutants (each is killed by a new test or listed in docs/testing.md as equivalent), then the
// score per file and per package: the figures docs/testing.md reports.
for (const line of survivors) console.log(line);
for (const [file, c] of Object.entries(byFile).sort()) {
  console.log(`${file.padEnd(60)} score ${String(score(c)).padStart(5)}%  killed ${c.killed}  survived ${c.survived}  no coverage ${c.noCoverage}  timeout ${c.timeout}  compile errors ${c.compileErrors}  static (not run) ${c.ignoredStatic}`);
}
for (const [pkg, c] of Object.entries(byPackage)) {
  console.log(`${pkg.padEnd(10)} score ${String(score(c)).padStart(5)}%  killed ${c.killed}  survived ${c.survived}  no coverage ${c.noCoverage}  timeout ${c.timeout}  static (not run) ${c.ignoredStatic}`);
}
const summary = {
  mutationScore: score(total),
  killed: total.killed,
  survived: total.survived,
  noCoverage: total.noCoverage,
  timeout: total.timeout,
  ignoredStatic: total.ignoredStatic,
  byPackage: Object.fromEntries(Object.entries(byPackage).map(([pkg, c]) => [pkg, { mutationScore: score(c), killed: c.killed, survived: c.survived, noCoverage: c.noCoverage, timeout: c.timeout, ignoredStatic: c.ignoredStatic }])),
};
console.log(JSON.stringify(summary));
