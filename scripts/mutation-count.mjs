#!/usr/bin/env node
// Counts the mutants of each group of stryker.config.mjs with Stryker's own instrumenter, without running a test:
// per group and per mutator, and how many the `epara-messages` ignorer leaves out. It measures where a run's
// time would go (each counted mutant costs a checker pass and, if it compiles, a test run). `node
// scripts/mutation-count.mjs [group…]`; the last line is one JSON object.
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { GROUPS } from '../stryker.config.mjs';
import { messageIgnoreReason } from './stryker-ignore-messages.mjs';

const require = createRequire(import.meta.url);
const core = require.resolve('@stryker-mutator/core/package.json');
const { Instrumenter } = await import(createRequire(core).resolve('@stryker-mutator/instrumenter'));
const quiet = { isDebugEnabled: () => false, debug() {}, info() {}, warn() {}, error() {}, isTraceEnabled: () => false, trace() {} };
const instrumenter = new Instrumenter(quiet);

// The groups' globs are folders (`dir/**/*.ts`) or single files.
const expand = (glob) => (glob.endsWith('/**/*.ts') ? readdirSync(glob.slice(0, -8), { recursive: true }).map((f) => `${glob.slice(0, -8)}/${f}`).filter((f) => f.endsWith('.ts')) : [glob]);
const skip = (f) => f.endsWith('.test.ts') || f.includes('/testing/') || /core\/src\/(index|internal)\.ts$/.test(f);
const wanted = process.argv.slice(2);
const out = {};
for (const [group, globs] of Object.entries(GROUPS)) {
  if (wanted.length > 0 && !wanted.includes(group)) continue;
  const files = [...new Set(globs.flatMap(expand))].filter((f) => !skip(f)).sort();
  const input = files.map((name) => ({ name, mutate: true, content: readFileSync(name, 'utf8') }));
  const counted = async (ignorers) => (await instrumenter.instrument(input, { ignorers, plugins: null, excludedMutations: [] })).mutants;
  const all = await counted([]);
  const kept = (await counted([{ shouldIgnore: messageIgnoreReason }])).filter((m) => m.status !== 'Ignored');
  const byMutator = {};
  for (const m of kept) byMutator[m.mutatorName] = (byMutator[m.mutatorName] ?? 0) + 1;
  out[group] = { files: files.length, mutants: all.length, afterIgnorer: kept.length, byMutator };
  console.log(`${group.padEnd(16)} files ${String(files.length).padStart(3)}  mutants ${String(all.length).padStart(5)}  after the message ignorer ${String(kept.length).padStart(5)}  ${JSON.stringify(byMutator)}`);
}
const sum = (k) => Object.values(out).reduce((s, g) => s + g[k], 0);
console.log(JSON.stringify({ mutants: sum('mutants'), afterIgnorer: sum('afterIgnorer'), groups: Object.fromEntries(Object.entries(out).map(([g, v]) => [g, { mutants: v.mutants, afterIgnorer: v.afterIgnorer }])) }));
