#!/usr/bin/env node
// Which test files kill given mutants, without a Stryker run: `node scripts/mutation-try.mjs <group> <id,…|file:line,…>
// <test file…>`. For each mutant of the group's committed results (test/mutation/<group>.incremental.json, by id or by
// `place-services.ts:94` for every surviving or uncovered mutant starting on that line), it writes the mutant's
// replacement into the source, runs the test files once with vitest (`--project units`, FC_RUNS=25 as a mutation run
// uses), and puts the source back. For proving a case file kills what a slow file killed before the slow file leaves
// the mutation config, and for a new case file's kills before a run records them. The last line is one JSON object:
// mutant id → its status:
// - 'killed': a test failed;
// - 'survived': every test ran and passed;
// - 'timeout': the run did not end within MUTATION_TRY_TIMEOUT_MS (120 s): a loop. Its process group is killed;
// - 'error': no test failed yet the run did not pass — a file failed to load (the pasted mutant does not parse, or
//   throws on import) or no test ran. Not a kill: Stryker would have settled such a mutant otherwise or run it anew.
//
// The source is always put back: after each mutant, on Ctrl-C, SIGTERM or SIGHUP, and on an error. Before it writes a
// mutant it records the original in `.tmp/mutation-try/journal.json`; a run killed outright (SIGKILL) leaves that
// journal, and the next run (or `node scripts/mutation-try.mjs --restore`) writes the original back first.
//
// MUTATION_TRY_ROOT=<dir> and MUTATION_TRY_PROJECT=<name> name another project root and vitest project (the test of this
// script, test/mutation/mutation-try.test.ts, runs it on a fixture).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const root = process.env.MUTATION_TRY_ROOT ? `${resolve(process.env.MUTATION_TRY_ROOT)}/` : repo;
const project = process.env.MUTATION_TRY_PROJECT ?? 'units';
const timeoutMs = Number(process.env.MUTATION_TRY_TIMEOUT_MS ?? 120_000);
const journalDir = join(root, '.tmp', 'mutation-try');
const journal = join(journalDir, 'journal.json');

/**
 * Writes back a source a killed run left mutated (the journal names it), ends the test run it left (its process group,
 * which may loop), and removes the journal.
 */
function restoreFromJournal() {
  if (!existsSync(journal)) return false;
  const { path, original, testRun } = JSON.parse(readFileSync(journal, 'utf8'));
  // Only while that pid still runs vitest (a pid is reused once its process ends).
  const cmdline = `/proc/${testRun}/cmdline`;
  if (testRun !== undefined && existsSync(cmdline) && readFileSync(cmdline, 'utf8').includes('vitest')) {
    try {
      process.kill(-testRun, 'SIGKILL');
    } catch {
      // the group has ended
    }
  }
  writeFileSync(path, original);
  rmSync(journal, { force: true });
  console.log(`mutation-try: restored ${path}, left mutated by an earlier run`);
  return true;
}

if (process.argv[2] === '--restore') {
  restoreFromJournal();
  process.exit(0);
}
restoreFromJournal();

const [group, which, ...testFiles] = process.argv.slice(2);
if (!group || !which || testFiles.length === 0) throw new Error('usage: node scripts/mutation-try.mjs <group> <id,…|file:line,…> <test file…>');
const report = JSON.parse(readFileSync(`${root}test/mutation/${group}.incremental.json`, 'utf8'));
const wanted = which.split(',');
const chosen = [];
for (const [file, { mutants }] of Object.entries(report.files)) {
  for (const m of mutants) {
    const at = `${file.split('/').pop()}:${m.location.start.line}`;
    if (wanted.includes(String(m.id)) || (wanted.includes(at) && (m.status === 'Survived' || m.status === 'NoCoverage'))) chosen.push({ file, m, at });
  }
}

/** The source written now and its original, or undefined; and the test run's process group. */
let mutated;
let running;
const restore = () => {
  if (mutated === undefined) return;
  writeFileSync(mutated.path, mutated.original);
  rmSync(journal, { force: true });
  mutated = undefined;
};
const stopRun = () => {
  if (running === undefined) return;
  try {
    process.kill(-running.pid, 'SIGKILL');
  } catch {
    // the group has ended
  }
};
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]]) {
  process.on(signal, () => {
    stopRun();
    restore();
    process.exit(code);
  });
}
process.on('exit', () => {
  stopRun();
  restore();
});

/**
 * The replacement as it sits in Stryker's syntax tree. Stryker mutates the tree, so a replacement keeps the place of
 * the node it replaces: `a && b && c` with its first `&&` made `||` is `(a || b) && c`. Pasted as text it would read
 * `a || (b && c)`, another program (a mutant of `ring-sync.ts` survived Stryker's runs yet "failed" when pasted). The
 * operator mutants' replacements go in parentheses; the rest (literals, calls, blocks) cannot bind differently.
 */
const asInTree = (m) => (['LogicalOperator', 'EqualityOperator', 'ArithmeticOperator'].includes(m.mutatorName) ? `(${m.replacement})` : m.replacement);

/**
 * Runs the test files once in their own process group (so a loop in a worker dies with it) and reads vitest's JSON
 * report: 'killed', 'survived', 'timeout' or 'error' (above).
 */
function runTests(id, reportFile) {
  return new Promise((settle) => {
    const args = [join(repo, 'node_modules/vitest/vitest.mjs'), 'run', '--project', project, '--bail=1', '--reporter=json', `--outputFile=${reportFile}`, ...testFiles];
    const child = spawn(process.execPath, args, { cwd: root, detached: true, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, FC_RUNS: process.env.FC_RUNS ?? '25' } });
    running = child;
    // A run killed outright leaves this journal: the next one ends this group (it may loop) and restores the source.
    writeFileSync(journal, JSON.stringify({ ...mutated, testRun: child.pid }));
    console.log(`mutation-try: ${id} written into ${mutated.path}, its tests running (process group ${child.pid})`);
    let stderr = '';
    child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      stopRun();
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      stopRun();
      running = undefined;
      if (timedOut) return settle({ status: 'timeout' });
      if (!existsSync(reportFile)) return settle({ status: 'error', detail: `exit ${code}, no report: ${stderr.trim().split('\n').slice(-3).join(' / ')}` });
      const r = JSON.parse(readFileSync(reportFile, 'utf8'));
      rmSync(reportFile, { force: true });
      const failedTests = r.testResults.flatMap((f) => f.assertionResults).filter((t) => t.status === 'failed');
      if (failedTests.length > 0) return settle({ status: 'killed', detail: failedTests[0].fullName });
      const broken = r.testResults.find((f) => f.status === 'failed');
      if (broken !== undefined) return settle({ status: 'error', detail: `${broken.name}: ${String(broken.message).split('\n')[0]}` });
      if (code === 0 && r.numPassedTests > 0) return settle({ status: 'survived' });
      return settle({ status: 'error', detail: `exit ${code}, ${r.numPassedTests} tests passed` });
    });
  });
}

const out = {};
const scratch = mkdtempSync(join(tmpdir(), 'mutation-try-'));
try {
  for (const { file, m, at } of chosen) {
    const path = `${root}${file}`;
    const original = readFileSync(path, 'utf8');
    // The committed source must be the one on disk, or the location names other code.
    if (original !== report.files[file].source) throw new Error(`${file} differs from the source in ${group}'s results: rerun the group first`);
    const lines = original.split('\n');
    const offset = (line, column) => lines.slice(0, line - 1).reduce((s, l) => s + l.length + 1, 0) + column - 1;
    const start = offset(m.location.start.line, m.location.start.column);
    const end = offset(m.location.end.line, m.location.end.column);
    mkdirSync(journalDir, { recursive: true });
    writeFileSync(journal, JSON.stringify({ path, original }));
    mutated = { path, original };
    writeFileSync(path, `${original.slice(0, start)}${asInTree(m)}${original.slice(end)}`);
    let result;
    try {
      result = await runTests(m.id, join(scratch, `${m.id}.json`));
    } finally {
      restore();
    }
    out[m.id] = result.status;
    console.log(`${m.id} ${at} ${m.mutatorName} ${JSON.stringify(m.replacement.replace(/\s+/g, ' ').slice(0, 60))} (was ${m.status}): ${result.status}${result.detail ? ` (${result.detail})` : ''}`);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
console.log(JSON.stringify(out));
