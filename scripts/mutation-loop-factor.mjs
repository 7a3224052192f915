#!/usr/bin/env node
// Which loop-bound factor (MUTATION_LOOP_FACTOR, test/setup/mutant-loop-bound.ts) a group's mutant runs needed:
// `node scripts/mutation-loop-factor.mjs <run log> <group>`. Each mutant run's line of the log (MUTATION_RUN_LOG) holds,
// per test file, the most one of its tests read the mutant switch past the floor, per the file's dry-run most
// (`loopFactor`); joined with each mutant's status in test/mutation/<group>.incremental.json it says, per status, how
// many runs needed more than each factor. A factor above every Killed and Survived run's leaves their outcomes as they
// are (a lower one ends a loop sooner: less CPU per in-thread timeout). The last line is one JSON object.
import { readFileSync } from 'node:fs';

const [log, group] = process.argv.slice(2);
if (!log || !group) throw new Error('usage: node scripts/mutation-loop-factor.mjs <run log> <group>');
const report = JSON.parse(readFileSync(new URL(`../test/mutation/${group}.incremental.json`, import.meta.url), 'utf8'));
const status = new Map();
for (const { mutants } of Object.values(report.files)) for (const m of mutants) status.set(String(m.id), m.status);
const FACTORS = [2, 5, 10, 20, 50, 100];
const rows = {};
for (const line of readFileSync(log, 'utf8').split('\n')) {
  if (line.trim() === '') continue;
  const run = JSON.parse(line);
  if (run.mode !== 'mutant') continue;
  const s = status.get(String(run.mutant)) ?? 'unknown';
  const need = Math.max(0, ...run.files.map((f) => f.loopFactor ?? 0));
  const row = (rows[s] ??= { runs: 0, most: 0, cpuMs: 0, over: Object.fromEntries(FACTORS.map((f) => [f, 0])) });
  row.runs++;
  row.most = Math.max(row.most, need);
  row.cpuMs += run.cpuMs;
  for (const f of FACTORS) if (need > f) row.over[f]++;
}
for (const [s, r] of Object.entries(rows)) {
  console.log(`${s.padEnd(10)} ${String(r.runs).padStart(4)} runs, ${Math.round(r.cpuMs / 1000)} s CPU, most factor needed ${r.most}; runs needing more than ${FACTORS.map((f) => `${f}: ${r.over[f]}`).join(', ')}`);
}
console.log(JSON.stringify(rows));
