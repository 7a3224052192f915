#!/usr/bin/env node
// Which test files kill given mutants, without a Stryker run: `node scripts/mutation-try.mjs <group> <id,…|file:line,…>
// <test file…>`. For each mutant of the group's committed results (test/mutation/<group>.incremental.json, by id or by
// `place-services.ts:94` for every surviving or uncovered mutant starting on that line), it writes the mutant's replacement into the source,
// runs the test files once with vitest (`--project units`, FC_RUNS=25 as a mutation run uses), records whether they
// failed, and puts the source back (also on Ctrl-C). For proving a case file kills what a slow file killed before the
// slow file leaves the mutation config, and for a new case file's kills before a run records them. The last line is
// one JSON object: mutant id → 'killed' | 'survived'.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const [group, which, ...testFiles] = process.argv.slice(2);
if (!group || !which || testFiles.length === 0) throw new Error('usage: node scripts/mutation-try.mjs <group> <id,…|file:line,…> <test file…>');
const root = fileURLToPath(new URL('..', import.meta.url));
const report = JSON.parse(readFileSync(`${root}test/mutation/${group}.incremental.json`, 'utf8'));
const wanted = which.split(',');
const chosen = [];
for (const [file, { mutants }] of Object.entries(report.files)) {
  for (const m of mutants) {
    const at = `${file.split('/').pop()}:${m.location.start.line}`;
    if (wanted.includes(String(m.id)) || (wanted.includes(at) && (m.status === 'Survived' || m.status === 'NoCoverage'))) chosen.push({ file, m, at });
  }
}

let restore;
process.on('SIGINT', () => {
  restore?.();
  process.exit(130);
});
/**
 * The replacement as it sits in Stryker's syntax tree. Stryker mutates the tree, so a replacement keeps the place of
 * the node it replaces: `a && b && c` with its first `&&` made `||` is `(a || b) && c`. Pasted as text it would read
 * `a || (b && c)`, another program (a mutant of `ring-sync.ts` survived Stryker's runs yet "failed" when pasted). The
 * operator mutants' replacements go in parentheses; the rest (literals, calls, blocks) cannot bind differently.
 */
const asInTree = (m) => (['LogicalOperator', 'EqualityOperator', 'ArithmeticOperator'].includes(m.mutatorName) ? `(${m.replacement})` : m.replacement);

const out = {};
for (const { file, m, at } of chosen) {
  const path = `${root}${file}`;
  const original = readFileSync(path, 'utf8');
  // The committed source must be the one on disk, or the location names other code.
  if (original !== report.files[file].source) throw new Error(`${file} differs from the source in ${group}'s results: rerun the group first`);
  const lines = original.split('\n');
  const offset = (line, column) => lines.slice(0, line - 1).reduce((s, l) => s + l.length + 1, 0) + column - 1;
  const start = offset(m.location.start.line, m.location.start.column);
  const end = offset(m.location.end.line, m.location.end.column);
  restore = () => writeFileSync(path, original);
  writeFileSync(path, `${original.slice(0, start)}${asInTree(m)}${original.slice(end)}`);
  try {
    const run = spawnSync('npx', ['vitest', 'run', '--project', 'units', '--bail=1', ...testFiles], { cwd: root, encoding: 'utf8', env: { ...process.env, FC_RUNS: process.env.FC_RUNS ?? '25' } });
    out[m.id] = run.status === 0 ? 'survived' : 'killed';
  } finally {
    restore();
    restore = undefined;
  }
  console.log(`${m.id} ${at} ${m.mutatorName} ${JSON.stringify(m.replacement.replace(/\s+/g, ' ').slice(0, 60))} (was ${m.status}): ${out[m.id]}`);
}
console.log(JSON.stringify(out));
