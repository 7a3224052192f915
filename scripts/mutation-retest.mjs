#!/usr/bin/env node
// Makes the next incremental run of a group test some mutants again: `node scripts/mutation-retest.mjs <group>
// [status…]` (default `Survived`) drops the group's mutants of those statuses from its committed results
// (test/mutation/<group>.incremental.json); Stryker reuses every other result and tests the dropped ones as new. For
// results that a fault of the run itself may have decided — survivors of runs made before the kept worker thread
// stopped losing test files (docs/testing.md, "What keeps a run cheap") — or a timeout seen on a loaded
// machine. `WaitedOut` names the timeouts Stryker's wall-clock timeout ended (no "Hit limit" reason): the ones the loop
// bound (test/setup/mutant-loop-bound.ts) may now end in the thread. `KilledBy:<test file>` names the mutants a test of that
// file killed: after a faster file that kills them was added, whose kills a run records only for mutants it tests anew.
// The last line is one JSON object: the mutants dropped per status.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { GROUPS } from '../stryker.config.mjs';

const [group, ...given] = process.argv.slice(2);
if (!group || !(group in GROUPS)) throw new Error(`usage: node scripts/mutation-retest.mjs <${Object.keys(GROUPS).join('|')}> [status…]`);
const statuses = new Set(given.length > 0 ? given : ['Survived']);
const file = fileURLToPath(new URL(`../test/mutation/${group}.incremental.json`, import.meta.url));
const report = JSON.parse(readFileSync(file, 'utf8'));
const killers = [...statuses].filter((s) => s.startsWith('KilledBy:')).map((s) => s.slice('KilledBy:'.length));
/** Test id → its file. */
const fileOfTest = new Map(Object.entries(report.testFiles ?? {}).flatMap(([f, { tests }]) => tests.map((t) => [String(t.id), f])));
const killedByListed = (m) => m.status === 'Killed' && (m.killedBy ?? []).some((id) => killers.includes(fileOfTest.get(String(id))));
const dropped = {};
for (const entry of Object.values(report.files)) {
  entry.mutants = entry.mutants.filter((m) => {
    const waitedOut = m.status === 'Timeout' && !(m.statusReason ?? '').startsWith('Hit limit');
    const status = statuses.has(m.status) ? m.status : waitedOut && statuses.has('WaitedOut') ? 'WaitedOut' : killedByListed(m) ? 'KilledBy' : undefined;
    if (status === undefined) return true;
    dropped[status] = (dropped[status] ?? 0) + 1;
    return false;
  });
}
writeFileSync(file, JSON.stringify(report, null, 2));
console.log(JSON.stringify({ group, dropped }));
