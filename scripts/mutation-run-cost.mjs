#!/usr/bin/env node
// Where a mutation run's test CPU went, from the log MUTATION_RUN_LOG=<file> makes (scripts/mutation-run-log.mjs):
// `node scripts/mutation-run-cost.mjs <log> [report.json]`. Per source file (with a report: Stryker's JSON report or
// a group's incremental file, which names each mutant's file and status) and per test file: the mutant runs, the
// CPU of the test process in them and between them, and the tests run. The last line is one JSON object.
import { readFileSync } from 'node:fs';

const [logFile, reportFile] = process.argv.slice(2);
if (!logFile) throw new Error('usage: node scripts/mutation-run-cost.mjs <log> [report.json]');
const runs = readFileSync(logFile, 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l));

/** Mutant id → { file, status }, from the report when one is given. */
const mutants = new Map();
if (reportFile) {
  const report = JSON.parse(readFileSync(reportFile, 'utf8'));
  for (const [file, { mutants: list }] of Object.entries(report.files)) for (const m of list) mutants.set(String(m.id), { file, status: m.status });
}

const add = (map, key, run, tests) => {
  const row = map.get(key) ?? { runs: 0, cpuS: 0, betweenS: 0, tests: 0, testS: 0, byStatus: {} };
  row.runs++;
  row.cpuS += run.cpuMs / 1000;
  row.betweenS += run.cpuBetweenMs / 1000;
  row.tests += tests;
  row.testS += run.files.reduce((s, f) => s + f.testMs, 0) / 1000;
  const status = mutants.get(String(run.mutant))?.status;
  if (status) row.byStatus[status] = (row.byStatus[status] ?? 0) + 1;
  map.set(key, row);
};
const bySource = new Map();
const byTestFile = new Map();
const total = { dryRuns: 0, dryCpuS: 0, mutantRuns: 0, cpuS: 0, betweenS: 0, tests: 0, files: 0 };
for (const run of runs) {
  if (run.mode !== 'mutant') {
    total.dryRuns++;
    total.dryCpuS += run.cpuMs / 1000;
    continue;
  }
  const tests = run.files.reduce((s, f) => s + f.ran, 0);
  total.mutantRuns++;
  total.cpuS += run.cpuMs / 1000;
  total.betweenS += run.cpuBetweenMs / 1000;
  total.tests += tests;
  total.files += run.files.length;
  add(bySource, mutants.get(String(run.mutant))?.file ?? '(no report)', run, tests);
  // A run's CPU is charged to its test files in proportion to their test time (the rest evenly).
  for (const f of run.files) add(byTestFile, f.file, { ...run, files: [f], cpuMs: run.cpuMs / run.files.length, cpuBetweenMs: 0 }, f.ran);
}
const r1 = (x) => Math.round(10 * x) / 10;
const print = (title, map) => {
  console.log(title);
  for (const [key, row] of [...map].sort((a, b) => b[1].cpuS - a[1].cpuS)) {
    console.log(
      `  ${key.padEnd(60)} runs ${String(row.runs).padStart(4)}  cpu ${r1(row.cpuS).toFixed(1).padStart(6)} s (${(row.cpuS / row.runs).toFixed(2)} a run)  tests ${r1(row.tests / row.runs)} a run, ${r1(row.testS)} s  ${JSON.stringify(row.byStatus)}`,
    );
  }
};
print('by source file (mutant runs):', bySource);
print('by test file (runs that loaded it; CPU shared evenly among a run\'s files):', byTestFile);
const out = {
  dryRuns: total.dryRuns,
  dryRunCpuS: r1(total.dryCpuS),
  mutantRuns: total.mutantRuns,
  runCpuS: r1(total.cpuS),
  betweenCpuS: r1(total.betweenS),
  cpuPerRunS: total.mutantRuns ? Math.round((1000 * total.cpuS) / total.mutantRuns) / 1000 : null,
  testsPerRun: total.mutantRuns ? r1(total.tests / total.mutantRuns) : null,
  filesPerRun: total.mutantRuns ? r1(total.files / total.mutantRuns) : null,
};
console.log(JSON.stringify(out));
