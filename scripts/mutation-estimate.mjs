#!/usr/bin/env node
// What a from-scratch run of each group would cost, from counts and recorded test times rather than from the wall
// clock of a loaded machine: `node scripts/mutation-estimate.mjs [group…]`.
//
// For each mutant of a group's committed results (test/mutation/<group>.incremental.json) it adds up the dry-run
// time of the tests that mutant's run runs — a survivor every test that covers it (`coveredBy`); a killed mutant its
// covering tests file by file in the order vitest.mutation.config.ts's sequencer uses (fastest file first), up to and
// including the test that killed it (`killedBy`). A test's recorded time is its dry-run time scaled by that dry run's
// CPU over its tests' time (under load a test's time runs ahead of its CPU), kept in test/mutation/test-times.json and
// written from run logs with `node scripts/mutation-estimate.mjs --record <log>…` (MUTATION_RUN_LOG=<log>: each dry
// run's line names every test's time). The fixed costs per group start, checked mutant, mutant run and timeout are
// measured CPU (COSTS below; docs/testing.md, "What a from-scratch run costs"). MUTATION_LEAVE_OUT=<file,…>
// estimates a run without those test files (a killed mutant whose killer is left out counts as a survivor: an upper
// figure). `--calibrate <log> <group>` compares a run log's measured CPU with what the estimate says of those runs.
// The last line is one JSON object.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { GROUPS, LEFT_OUT, LEFT_OUT_TESTS, RUNS } from '../stryker.config.mjs';
import { sameTyping } from './stryker-typescript-checker.mjs';

// MUTATION_RESULTS_DIR=<dir>: read the groups' results from there instead (to estimate from another set of results).
const dir = process.env.MUTATION_RESULTS_DIR ? `${process.env.MUTATION_RESULTS_DIR.replace(/\/$/, '')}/` : fileURLToPath(new URL('../test/mutation/', import.meta.url));
const timesFile = fileURLToPath(new URL('../test/mutation/test-times.json', import.meta.url));
// MUTATION_FILL_FROM=<dir>: a group part-way (a run stopped before its end) is filled from the results there (a
// complete earlier set, e.g. `git show <commit>:test/mutation/<group>.incremental.json` into <dir>): each mutant the
// group's results lack, the same mutator, replacement and original text, counts with its result there.
const fillDir = process.env.MUTATION_FILL_FROM ? `${process.env.MUTATION_FILL_FROM.replace(/\/$/, '')}/` : undefined;

/** The original text of a mutant in its file's source. */
function textOf(source, m) {
  const lines = source.split('\n');
  const at = (p) => lines.slice(0, p.line - 1).reduce((s, l) => s + l.length + 1, 0) + p.column - 1;
  return source.slice(at(m.location.start), at(m.location.end));
}
/** A file's mutants by mutator, replacement and original text (the n-th of equal ones numbered). */
function keysOf({ source, mutants }) {
  const seen = new Map();
  return mutants.map((m) => {
    const k = `${m.mutatorName}|${m.replacement}|${textOf(source, m)}`;
    const n = (seen.get(k) ?? 0) + 1;
    seen.set(k, n);
    return `${k}#${n}`;
  });
}
/** `report` with each mutant it lacks taken from `earlier` (and the tests those name). */
function filled(report, earlier) {
  const ids = new Set(Object.values(report.testFiles ?? {}).flatMap((f) => f.tests.map((t) => String(t.id))));
  report.testFiles ??= {};
  for (const [file, entry] of Object.entries(earlier.testFiles ?? {})) {
    report.testFiles[file] ??= { source: entry.source, tests: [] };
    for (const t of entry.tests) if (!ids.has(String(t.id))) (report.testFiles[file].tests.push(t), ids.add(String(t.id)));
  }
  for (const [file, entry] of Object.entries(earlier.files)) {
    const now = report.files[file];
    if (now === undefined) {
      report.files[file] = entry;
      continue;
    }
    const have = new Set(keysOf(now));
    keysOf(entry).forEach((k, i) => {
      if (!have.has(k)) now.mutants.push({ ...entry.mutants[i], id: `earlier-${entry.mutants[i].id}` });
    });
  }
  return report;
}

/**
 * CPU seconds of what a test's recorded time does not cover, measured under load (docs/testing.md, "What a
 * from-scratch run costs"), besides a run's start (START_S below): the checker per mutant it checks; a mutant run's own cost beyond its
 * tests (the kept thread evaluating the sources and test files afresh, Stryker's messages: fitted with `--calibrate`
 * on the runtime group's run logs, 0.36 s in device-scheduler runs and 0.13 s in batching and streams ones; core's
 * from core-scheduling's measured runs; mesh's taken as the batching runs', not measured); and a timeout the loop
 * bound or the hung-test bound ends in the thread, or one Stryker's clock ends (the timeout and a restarted process).
 */
const COSTS = (group) => {
  const core = group.startsWith('core-');
  // An in-thread timeout: 3.3 s measured in runs that still loaded the runtime's simulations (a loop bound reached
  // inside a 9 s run), no longer used; 0.86 s in the runtime group's run without them and the
  // virtual-time runs (24 timeouts, CPU of the run and between runs, under load: docs/testing.md, "What a
  // from-scratch run costs"), at the loop factor of 100; 1.1 s in core-placement-search's retest of its timeouts at today's factor
  // of 10 (12 of them: docs/testing.md, "What keeps a run cheap"); 0.79 s in mesh-sync's rerun (8 of them, with the CPU
  // between runs, under load).
  // runS: the fitted costs (runtime 0.3 s, core 0.1 s, mesh 0.13 s) scaled by what the kept thread's keeping the modules
  // no mutant touches saved of a killed mutant's run in an A/B of MUTATION_FORGET (same mutants, same statuses, under
  // load): ×0.60 in runtime (estimate-completion.ts), ×0.65 in core (core-routing's entry-list.ts), ×0.87 in mesh
  // (mesh-sync's token-ops.ts).
  // checkS: a mutant checked alone; CHECK_GROUPED below scales it for the checker's groups.
  return { checkS: (core ? 0.05 : 0.09) * CHECK_GROUPED(group), runS: group === 'runtime' ? 0.18 : core ? 0.065 : 0.113, inThreadTimeoutS: group === 'runtime' ? 0.86 : core ? 1.1 : 0.79, waitedOutS: core ? 17 : 25 };
};
/**
 * CPU seconds of a run's start outside its dry run's tests: Stryker's own start, reading the incremental file,
 * instrumenting, the sandbox, the checker's programs, vitest's start, and the merge of its groups' files before it and
 * the split after. Measured with `--dryRunOnly` (all of that but the mutants: the whole process tree's CPU less the dry
 * run's test process's), under load 10–25, so upper figures: core-support 18, core-allocation 19, core-routing 21,
 * core-scheduling with core-profiles 22, core-placement 34 (its four groups' 44 MB of results merged and split), mesh-sync 23,
 * mesh-offload 29, runtime 30; the runs of several groups core-allocation-support 22 (its groups apart: 37),
 * core-scheduling-routing 29 (42), edge 55 (81): one Stryker, one vitest, the checker's programs sharing the files they
 * read. Each run also gets END_S: the report written at the end, the summary, and a second test process started once
 * the checker is done (Stryker gives the checker's core to tests then): not measured apart, taken as 10 s.
 */
const START_S = { 'core-placement': 34, 'core-scheduling-routing': 29, 'core-allocation-support': 22, edge: 55 };
const END_S = 10;
const startOf = (run) => (START_S[run] ?? (run.startsWith('core-') ? 20 : 30)) + END_S;
/**
 * The checker's CPU with its groups over checking each mutant alone, measured by checking the committed mutants both
 * ways (same verdicts, under load). Across files only: core-support 0.56, core-allocation 0.60, runtime 0.79 (the 615
 * of its files unchanged since their results), mesh-sync 0.64 (500 of its mutants). With one file's functions grouped
 * too, over across files only: core-support 0.52, core-allocation 0.75 (core: 0.58 × 0.63), mesh-sync 0.32 (the mesh:
 * 0.64 × 0.32), runtime 0.52 (0.79 × 0.52, its 536 mutants of files unchanged since their results).
 */
const CHECK_GROUPED = (group) => (group.startsWith('core-') ? 0.37 : group === 'runtime' ? 0.41 : 0.2);
/**
 * The share of a test's recorded dry-run CPU that it takes in a mutant's run: the dry run records per-test coverage,
 * and its CPU, spread over its tests, holds its imports too. Fitted with `--calibrate` on the runtime group's run
 * log (killed and surviving mutants' runs: their CPU against run overhead + share × the tests' recorded CPU).
 */
const TEST_SHARE = 0.45;
/** The share of its recorded time a killing test runs before it fails (it stops at its first failed expectation). */
const KILLER_SHARE = 1;

const args = process.argv.slice(2);
if (args[0] === '--record') {
  // Each dry-run line (mode 'dry-run') of the logs: per test file, each test's time, scaled to CPU by that dry run's
  // CPU over its tests' time (under load a test's time runs ahead of the CPU it used; the dry run's CPU also holds
  // its imports, so the figures are upper ones).
  const times = existsSync(timesFile) ? JSON.parse(readFileSync(timesFile, 'utf8')) : { dryRuns: {}, files: {} };
  for (const log of args.slice(1)) {
    for (const line of readFileSync(log, 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      const run = JSON.parse(line);
      if (run.mode !== 'dry-run') continue;
      const testMs = run.files.reduce((s, f) => s + Object.values(f.tests ?? {}).reduce((t, ms) => t + ms, 0), 0);
      const ratio = run.cpuMs / Math.max(1, testMs);
      for (const f of run.files) {
        if (f.tests === undefined) continue;
        times.files[f.file] = Object.fromEntries(Object.entries(f.tests).map(([name, ms]) => [name, Math.round(10 * ms * ratio) / 10]));
      }
      const key = run.files.map((f) => f.file).sort()[0] ?? '';
      times.dryRuns[key] = { files: run.files.length, cpuMs: run.cpuMs, testMs: Math.round(testMs) };
    }
  }
  writeFileSync(timesFile, `${JSON.stringify(times, null, 1)}\n`);
  console.log(`${Object.keys(times.files).length} test files, ${Object.keys(times.dryRuns).length} dry runs in ${timesFile}`);
  process.exit(0);
}

const times = JSON.parse(readFileSync(timesFile, 'utf8'));
// The files a mutation run leaves out (LEFT_OUT: a results file keeps listing the tests of files its last dry run no
// longer loaded), and MUTATION_LEAVE_OUT's.
const leaveOut = new Set([...LEFT_OUT, ...(process.env.MUTATION_LEAVE_OUT ?? '').split(',').filter((f) => f !== '')]);

/**
 * A group's results read for estimating: per mutant, the recorded CPU of the tests its run runs (ms) — a survivor's
 * every covering test; a killed mutant's covering tests file by file, fastest file first as the sequencer orders
 * them, the killer's file up to the test that killed it — charged per test file in `byFile`.
 */
function readGroup(group, missing = new Set()) {
  const read = (d) => JSON.parse(readFileSync(`${d}${group}.incremental.json`, 'utf8'));
  const report = fillDir !== undefined && existsSync(`${fillDir}${group}.incremental.json`) ? filled(read(dir), read(fillDir)) : read(dir);
  /** Test id → { file, ms, index in its file }. */
  const tests = new Map();
  for (const [file, { tests: list }] of Object.entries(report.testFiles ?? {})) {
    const recorded = times.files[file];
    if (recorded === undefined) missing.add(file);
    // A test LEFT_OUT_TESTS names is not run (nor charged in the dry run below).
    list.forEach((t, index) => {
      if (!LEFT_OUT_TESTS.some((x) => x.file === file && t.name.includes(x.test))) tests.set(t.id, { file, index, ms: recorded?.[t.name] ?? 0 });
    });
  }
  const fileMs = (file) => Object.values(times.files[file] ?? {}).reduce((s, ms) => s + ms, 0);
  const dryFiles = new Set(Object.keys(report.testFiles ?? {}).filter((f) => !leaveOut.has(f)));
  const mutants = new Map();
  for (const { mutants: list, source } of Object.values(report.files)) {
    const lines = source.split('\n');
    const at = (p) => lines.slice(0, p.line - 1).reduce((s, l) => s + l.length + 1, 0) + p.column - 1;
    for (const m of list) {
      const covering = (m.coveredBy ?? []).map((id) => tests.get(id)).filter((t) => t !== undefined && !leaveOut.has(t.file));
      const killedBy = (m.killedBy ?? []).map((id) => tests.get(id)).filter((t) => t !== undefined && !leaveOut.has(t.file));
      const byFile = {};
      let beforeMs = 0;
      let killerMs = 0;
      let survivedMs = 0;
      if (m.status === 'Killed' && killedBy.length > 0) {
        const killer = killedBy[0];
        const files = [...new Set(covering.map((t) => t.file))].sort((a, b) => fileMs(a) - fileMs(b));
        for (const file of files) {
          for (const t of covering) {
            if (t.file !== file || (file === killer.file && t.index > killer.index)) continue;
            if (t === killer) killerMs += t.ms;
            else beforeMs += t.ms;
            byFile[file] = (byFile[file] ?? 0) + t.ms;
          }
          if (file === killer.file) break;
        }
      } else {
        for (const t of covering) (survivedMs += t.ms), (byFile[t.file] = (byFile[t.file] ?? 0) + t.ms);
      }
      // The checker passes an operator swap TypeScript types alike without a program (its `sameTyping`).
      const unchecked = sameTyping(m.mutatorName, source.slice(at(m.location.start), at(m.location.end)), m.replacement);
      mutants.set(String(m.id), { status: m.status, unchecked, reason: m.statusReason ?? '', killed: m.status === 'Killed' && killedBy.length > 0, beforeMs, killerMs, survivedMs, byFile });
    }
  }
  return { dryFiles, mutants };
}

if (args[0] === '--calibrate') {
  // Measured against estimated, on a run log and the group's results of that run: the CPU of each mutant run
  // (`cpuMs` of its line) beside the recorded CPU of the tests the estimate says it ran.
  const [, log, group] = args;
  const { mutants } = readGroup(group);
  const sums = { killed: { runs: 0, cpuMs: 0, beforeMs: 0, killerMs: 0 }, other: { runs: 0, cpuMs: 0, testsMs: 0 } };
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const run = JSON.parse(line);
    const m = run.mode === 'mutant' ? mutants.get(String(run.mutant)) : undefined;
    if (m === undefined || m.status === 'Timeout') continue;
    const row = m.killed ? sums.killed : sums.other;
    row.runs++;
    row.cpuMs += run.cpuMs + run.cpuBetweenMs;
    if (m.killed) (row.beforeMs += m.beforeMs), (row.killerMs += m.killerMs);
    else row.testsMs += m.survivedMs;
  }
  console.log(JSON.stringify(sums));
  process.exit(0);
}

/** The recorded CPU of a dry run of these test files (ms): every test of each, but those LEFT_OUT_TESTS names. */
function dryMsOf(files) {
  let ms = 0;
  for (const file of files) {
    for (const [name, t] of Object.entries(times.files[file] ?? {})) if (!LEFT_OUT_TESTS.some((x) => x.file === file && name.includes(x.test))) ms += t;
  }
  return ms;
}

const wanted = args;
const out = {};
const missing = new Set();
const results = {};
for (const group of Object.keys(GROUPS)) {
  if (wanted.length > 0 && !wanted.includes(group)) continue;
  if (existsSync(`${dir}${group}.incremental.json`)) results[group] = readGroup(group, missing);
}
for (const [group, { mutants }] of Object.entries(results)) {
  const c = { checked: 0, runs: 0, killedMs: 0, survivedMs: 0, inThread: 0, waitedOut: 0, byFile: {} };
  for (const m of mutants.values()) {
    if (m.status === 'Pending' || m.status === 'Ignored' || m.status === 'NoCoverage') continue;
    if (!m.unchecked) c.checked++;
    if (m.status === 'CompileError' || m.status === 'RuntimeError') continue;
    if (m.status === 'Timeout') {
      if (m.reason.startsWith('Hit limit')) c.inThread++;
      else c.waitedOut++;
      continue;
    }
    c.runs++;
    c.killedMs += m.beforeMs + KILLER_SHARE * m.killerMs;
    c.survivedMs += m.survivedMs;
    for (const [file, ms] of Object.entries(m.byFile)) c.byFile[file] = (c.byFile[file] ?? 0) + ms;
  }
  const cpu = (ms) => (TEST_SHARE * ms) / 1000;
  // The groups of a run (RUNS) share one start and one dry run (of all their test files), counted with the first.
  const runName = Object.keys(RUNS).find((r) => RUNS[r].includes(group));
  const runGroups = runName === undefined ? [group] : RUNS[runName];
  const dryFiles = new Set(runGroups.flatMap((g) => [...(results[g]?.dryFiles ?? [])]));
  const row = {
    startS: runGroups[0] !== group ? 0 : Math.round(startOf(runName ?? group) + dryMsOf(dryFiles) / 1000),
    checkerS: Math.round(c.checked * COSTS(group).checkS),
    runsS: Math.round(c.runs * COSTS(group).runS),
    killedTestsS: Math.round(cpu(c.killedMs)),
    survivorTestsS: Math.round(cpu(c.survivedMs)),
    timeoutsS: Math.round(c.inThread * COSTS(group).inThreadTimeoutS + c.waitedOut * COSTS(group).waitedOutS),
  };
  row.totalS = Object.values(row).reduce((s, x) => s + x, 0);
  row.topFiles = Object.entries(c.byFile)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([f, ms]) => `${f.split('/').pop()} ${Math.round(cpu(ms))} s`);
  out[group] = row;
  console.log(
    `${group.padEnd(22)} ${String(row.totalS).padStart(5)} CPU s: start ${row.startS}, checker ${row.checkerS}, runs ${row.runsS}, killed mutants' tests ${row.killedTestsS}, survivors' tests ${row.survivorTestsS}, timeouts ${row.timeoutsS}; dearest files: ${row.topFiles.join(', ')}`,
  );
}
const total = Object.values(out).reduce((s, r) => s + r.totalS, 0);
if (missing.size > 0) console.log(`no recorded times (counted as 0): ${[...missing].join(', ')}`);
const runs = Object.fromEntries(
  Object.entries(RUNS)
    .map(([run, gs]) => [run, gs.reduce((sum, g) => sum + (out[g]?.totalS ?? 0), 0)])
    .filter(([, cpuS]) => cpuS > 0),
);
for (const [run, cpuS] of Object.entries(runs)) console.log(`run ${run}: ${cpuS} CPU s`);
console.log(`all: ${total} CPU s, ${Math.round(total / 120)} min on two cores`);
console.log(JSON.stringify({ totalCpuS: total, minutesOnTwoCores: Math.round(total / 120), runs, groups: Object.fromEntries(Object.entries(out).map(([g, r]) => [g, r.totalS])) }));
