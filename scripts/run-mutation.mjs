#!/usr/bin/env node
// `pnpm test:mutation`: runs Stryker once per group of stryker.config.mjs (or only MUTATION_GROUP's), each
// incremental with its own report, prints each group's wall time, then the summary over every group's report.
import { spawnSync } from 'node:child_process';
import { GROUPS } from '../stryker.config.mjs';

const only = process.env.MUTATION_GROUP;
const groups = only ? [only] : Object.keys(GROUPS);
const began = Date.now();
for (const group of groups) {
  const started = Date.now();
  const run = spawnSync('stryker', ['run', ...process.argv.slice(2)], { stdio: 'inherit', env: { ...process.env, MUTATION_GROUP: group }, shell: process.platform === 'win32' });
  console.log(`mutation group ${group}: ${Math.round((Date.now() - started) / 1000)} s, exit ${run.status}`);
  if (run.status !== 0) process.exit(run.status ?? 1);
}
if (groups.length > 1) console.log(`mutation, all groups: ${Math.round((Date.now() - began) / 1000)} s`);
const summary = spawnSync('node', ['scripts/mutation-summary.mjs'], { stdio: 'inherit', env: process.env });
process.exit(summary.status ?? 1);
