#!/usr/bin/env node
// `pnpm test:mutation`: runs Stryker once per run of stryker.config.mjs (RUNS: several groups in one start), or per
// group or run MUTATION_GROUP or MUTATION_JOB names; each incremental, its results split back into its groups' files;
// prints each run's wall time, then the summary over every group's report (over the groups run, when MUTATION_GROUP or
// MUTATION_JOB names some).
import { spawn, spawnSync } from 'node:child_process';

// MUTATION_GROUP: one group, or several separated by commas; MUTATION_JOB=<n>: the groups of JOBS[n − 1] (one CI job
// of a split run); neither: every group. The config reads MUTATION_GROUP as the one group a Stryker run tests, so it
// is loaded here without it (each run below gets its own).
const named = process.env.MUTATION_GROUP;
delete process.env.MUTATION_GROUP;
const { GROUPS, JOBS, RUNS } = await import('../stryker.config.mjs');
const { mergeReports, splitFile, writeReport } = await import('./mutation-shared.mjs');
const job = process.env.MUTATION_JOB;
if (job !== undefined && JOBS[Number(job) - 1] === undefined) throw new Error(`MUTATION_JOB=${job}: not one of 1…${JOBS.length}`);
const only = job !== undefined ? JOBS[Number(job) - 1].join(',') : named;
// Every run by default (RUNS; a group in none runs alone); a name given may be a group or a run's name.
const inRun = new Set(Object.values(RUNS).flat());
const groups = only ? only.split(',') : [...Object.keys(RUNS), ...Object.keys(GROUPS).filter((g) => !inRun.has(g))];
const committed = (g) => `test/mutation/${g}.incremental.json`;
// MUTATION_PARALLEL=<n>: run n groups at a time (default 1). A group's start — instrumenting, the checker's first
// program, the dry run — keeps one core busy for 40–90 s of CPU while the other waits; two groups at a time fill it
// (each group still runs one checker and one test process: docs/testing.md, "What a from-scratch run costs").
const parallel = Math.max(1, Number(process.env.MUTATION_PARALLEL ?? 1));
const began = Date.now();
const runGroup = (group) =>
  new Promise((resolve) => {
    const started = Date.now();
    // A run's incremental file is made from its groups' committed files, and split back when it ends.
    const shared = RUNS[group];
    const runFile = `reports/mutation/${group}.incremental.json`;
    if (shared !== undefined) writeReport(runFile, mergeReports(shared.map(committed), process.cwd()));
    const split = () => shared !== undefined && splitFile(runFile, Object.fromEntries(shared.map((g) => [g, GROUPS[g]])), committed);
    const run = spawn('stryker', ['run', ...process.argv.slice(2)], { stdio: 'inherit', env: { ...process.env, MUTATION_GROUP: group }, shell: process.platform === 'win32' });
    run.on('error', () => resolve(1));
    run.on('close', (status) => {
      split();
      console.log(`mutation group ${group}: ${Math.round((Date.now() - started) / 1000)} s, exit ${status}`);
      resolve(status ?? 1);
    });
  });
const queue = [...groups];
let failed = 0;
await Promise.all(
  Array.from({ length: Math.min(parallel, queue.length) }, async () => {
    // A failed group stops the run: no further group starts (one already running finishes).
    for (let group = queue.shift(); group !== undefined && failed === 0; group = queue.shift()) {
      const status = await runGroup(group);
      if (status !== 0) failed = status;
    }
  }),
);
if (failed !== 0) process.exit(failed);
if (groups.length > 1) console.log(`mutation, all groups: ${Math.round((Date.now() - began) / 1000)} s`);
const groupsRun = only ? only.split(',').flatMap((g) => RUNS[g] ?? [g]).join(',') : undefined;
const summary = spawnSync('node', ['scripts/mutation-summary.mjs'], { stdio: 'inherit', env: { ...process.env, ...(groupsRun ? { MUTATION_GROUP: groupsRun } : {}) } });
process.exit(summary.status ?? 1);
