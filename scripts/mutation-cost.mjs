#!/usr/bin/env node
// What a from-scratch run of each group costs, in counts that do not depend on the machine: read from the committed
// results (test/mutation/<group>.incremental.json) — how many mutants the checker alone settles (compile errors),
// how many run tests, and how many tests each runs (`testsCompleted`: a killed mutant stops at its first failing
// test; a survivor runs every test that covers it, `coveredBy`). docs/testing.md turns these into minutes with the
// CPU per check and per test run it measured. Timeouts are split: those Stryker's hit limit ended at once, and those
// waited out to Stryker's timeout (each costs that timeout and a restart of the test process); and the killed mutants
// whose test hung and failed at the mutant-run test timeout (test/setup/mutant-test-timeout.ts) are counted. `node scripts/mutation-cost.mjs [group…]`; the last line is one JSON
// object. A group still part-way counts the mutants settled so far, and its `settled` says how many that is.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { GROUPS } from '../stryker.config.mjs';

const dir = fileURLToPath(new URL('../test/mutation/', import.meta.url));
const wanted = process.argv.slice(2);
const out = {};
for (const group of Object.keys(GROUPS)) {
  if (wanted.length > 0 && !wanted.includes(group)) continue;
  const path = `${dir}${group}.incremental.json`;
  if (!existsSync(path)) {
    console.log(`${group.padEnd(22)} no results committed`);
    continue;
  }
  const report = JSON.parse(readFileSync(path, 'utf8'));
  const files = report.files;
  // A test's id is `file#name` in newer reports, a number in older ones: its file is where testFiles lists it.
  const fileOf = new Map();
  for (const [file, { tests }] of Object.entries(report.testFiles ?? {})) for (const t of tests) fileOf.set(t.id, file);
  const c = { settled: 0, compileErrors: 0, ignored: 0, noCoverage: 0, killed: 0, timeout: 0, waitedOut: 0, hungTests: 0, survived: 0, killedTests: 0, survivorTests: 0, survivorFiles: 0 };
  for (const { mutants } of Object.values(files)) {
    for (const m of mutants) {
      if (m.status === 'Pending') continue;
      c.settled++;
      if (m.status === 'CompileError' || m.status === 'RuntimeError') c.compileErrors++;
      else if (m.status === 'Ignored') c.ignored++;
      else if (m.status === 'NoCoverage') c.noCoverage++;
      else if (m.status === 'Killed') {
        c.killed++;
        c.killedTests += m.testsCompleted ?? 1;
        // A test that hung and failed at the mutant-run test timeout (test/setup/mutant-test-timeout.ts).
        if (/timed out in/i.test(m.statusReason ?? '')) c.hungTests++;
      } else if (m.status === 'Timeout') {
        c.timeout++;
        // Ended by Stryker's hit limit at once, or waited out to Stryker's timeout (then the test process restarts).
        if (!(m.statusReason ?? '').startsWith('Hit limit')) c.waitedOut++;
      }
      else if (m.status === 'Survived') {
        c.survived++;
        const covering = m.coveredBy ?? [];
        c.survivorTests += m.testsCompleted ?? covering.length;
        c.survivorFiles += new Set(covering.map((id) => fileOf.get(id) ?? id.split('#')[0])).size;
      }
    }
  }
  const per = (n, d) => (d === 0 ? null : Math.round((10 * n) / d) / 10);
  out[group] = {
    settled: c.settled,
    compileErrors: c.compileErrors,
    ignored: c.ignored,
    noCoverage: c.noCoverage,
    killed: c.killed,
    timeout: c.timeout,
    timeoutWaitedOut: c.waitedOut,
    killedByHungTest: c.hungTests,
    survived: c.survived,
    testsPerKilled: per(c.killedTests, c.killed),
    testsPerSurvivor: per(c.survivorTests, c.survived),
    filesPerSurvivor: per(c.survivorFiles, c.survived),
  };
  const o = out[group];
  console.log(
    `${group.padEnd(22)} settled ${String(o.settled).padStart(5)}  checker only ${String(o.compileErrors).padStart(4)} (${Math.round((100 * o.compileErrors) / Math.max(1, o.settled))} %)  ignored ${o.ignored}  no coverage ${o.noCoverage}  killed ${o.killed} (${o.testsPerKilled} tests each)  timeout ${o.timeout} (${o.timeoutWaitedOut} waited out)  hung-test kills ${o.killedByHungTest}  survived ${o.survived} (${o.testsPerSurvivor} tests, ${o.filesPerSurvivor} files each)`,
  );
}
console.log(JSON.stringify(out));
