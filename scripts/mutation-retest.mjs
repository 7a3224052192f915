#!/usr/bin/env node
// Makes the next incremental run of a group test some mutants again: `node scripts/mutation-retest.mjs <group>
// [status…]` (default `Survived`) drops the group's mutants of those statuses from its committed results
// (test/mutation/<group>.incremental.json); Stryker reuses every other result and tests the dropped ones as new. For
// results that a fault of the run itself may have decided — survivors of runs made before the kept worker thread
// stopped losing test files (docs/testing.md, "What keeps a run cheap") — or a timeout seen on a loaded
// machine. `WaitedOut` names the timeouts Stryker's wall-clock timeout ended (no "Hit limit" reason): the ones the loop
// bound (test/setup/mutant-loop-bound.ts) may now end in the thread. The last line is one JSON object: the mutants
// dropped per status.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { GROUPS } from '../stryker.config.mjs';

const [group, ...given] = process.argv.slice(2);
if (!group || !(group in GROUPS)) throw new Error(`usage: node scripts/mutation-retest.mjs <${Object.keys(GROUPS).join('|')}> [status…]`);
const statuses = new Set(given.length > 0 ? given : ['Survived']);
const file = fileURLToPath(new URL(`../test/mutation/${group}.incremental.json`, import.meta.url));
const report = JSON.parse(readFileSync(file, 'utf8'));
const dropped = {};
for (const entry of Object.values(report.files)) {
  entry.mutants = entry.mutants.filter((m) => {
    const waitedOut = m.status === 'Timeout' && !(m.statusReason ?? '').startsWith('Hit limit');
    const status = statuses.has(m.status) ? m.status : waitedOut && statuses.has('WaitedOut') ? 'WaitedOut' : undefined;
    if (status === undefined) return true;
    dropped[status] = (dropped[status] ?? 0) + 1;
    return false;
  });
}
writeFileSync(file, JSON.stringify(report, null, 2));
console.log(JSON.stringify({ group, dropped }));
