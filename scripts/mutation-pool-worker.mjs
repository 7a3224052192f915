// The entry of the kept worker thread of mutation runs (see mutation-pool.mjs). vitest's worker `init` serves one
// session, from its start message to its stop; here each start message that arrives between sessions begins a
// new one, on the same thread and with the runtime already loaded.
import { readFileSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { vi } from 'vitest';
import { init, runBaseTests, setupEnvironment } from 'vitest/worker';

/**
 * `vi.setConfig` saves the worker's config on its first call and `vi.resetConfig` (which vitest calls after every test
 * file) writes that copy back, but the copy lives in vitest's module, which this thread keeps: it was the first run's
 * config, for every later run. After the first file of a run, the rest ran with the first mutant's test-name filter
 * (a setup file, test/setup/mutant-test-timeout.ts, calls `vi.setConfig`), so they ran none or the wrong tests, and a
 * mutant survived without its covering tests (96 of 161 survivors of a core-scheduling run). Here the copy is the
 * current run's, as in a new thread.
 */
let savedConfig;
const workerConfig = () => globalThis.__vitest_worker__.config;
vi.setConfig = (config) => {
  savedConfig ??= { ...workerConfig() };
  Object.assign(workerConfig(), config);
};
vi.resetConfig = () => {
  if (savedConfig) Object.assign(workerConfig(), savedConfig);
};

/** The listeners of the current session (vitest's message handler and its RPC), or undefined between sessions. */
let session;

parentPort.on('message', (message) => {
  if (session === undefined && message?.__vitest_worker_request__ === true && message.type === 'start') begin();
  if (session !== undefined) for (const listener of [...session]) listener(message);
});

function begin() {
  const listeners = new Set();
  session = listeners;
  savedConfig = undefined;
  init({
    post: (response) => parentPort.postMessage(response),
    on: (listener) => listeners.add(listener),
    off: (listener) => listeners.delete(listener),
    // Called by init after it answers the stop message: the session's handlers go, the thread stays.
    teardown: () => {
      listeners.clear();
      if (session === listeners) session = undefined;
    },
    runTests: (state, traces) => forgettingProjectModules(state, () => runBaseTests('run', state, traces)),
    collectTests: (state, traces) => forgettingProjectModules(state, () => runBaseTests('collect', state, traces)),
    setup: setupEnvironment,
  });
}

/**
 * Runs the tests, then forgets what the next run must evaluate afresh: every module Stryker instrumented (its mutants
 * switch on a global namespace that each instrumented module caches, and its module-level state may hold this run's
 * mutant's doing), every test and setup file (vitest registers a file's tests by evaluating it), and every module
 * that imports one of those, directly or not (it holds the old instance's bindings). A project module outside that
 * set — a source file the run does not mutate, importing none that it does (core's errors, clock and model helpers
 * under a runtime or mesh run) — stays evaluated, as it does between files in `pnpm test`'s `units` project, whose
 * modules keep no process-wide state (docs/testing.md). MUTATION_FORGET=all forgets every project module, to compare.
 * Stryker's global namespace goes too (the instrumented modules and the runner's setup file make it again):
 * otherwise this run's mutant would still be active while the next run's modules load, before its setup switches the
 * next mutant on. runBaseTests puts the thread's module cache on `state.evaluatedModules`.
 */
async function forgettingProjectModules(state, run) {
  try {
    return await run();
  } finally {
    const namespace = (state.providedContext ?? state.ctx?.providedContext)?.globalNamespace;
    if (typeof namespace === 'string') delete globalThis[namespace];
    const modules = state.evaluatedModules;
    if (modules !== undefined) for (const node of toForget(modules)) modules.invalidateModule(node);
  }
}

const forgetAll = process.env.MUTATION_FORGET === 'all';
/** Per file: whether Stryker instrumented it (its code calls the mutant switch), read once from the sandbox. */
const instrumented = new Map();
function isInstrumented(file) {
  let known = instrumented.get(file);
  if (known === undefined) {
    try {
      known = readFileSync(file, 'utf8').includes('stryMutAct_9fa48');
    } catch {
      known = true; // unreadable (a virtual module): forget it
    }
    instrumented.set(file, known);
  }
  return known;
}
const mustForget = (file) => forgetAll || /\.test\.[cm]?[jt]s$/.test(file) || file.includes('/test/setup/') || isInstrumented(file);

/** The project's modules to forget: those `mustForget` names, and every module importing one of them. */
function toForget(modules) {
  const out = new Set();
  const pending = [];
  for (const [file, nodes] of modules.fileToModulesMap ?? []) {
    if (file.includes('/node_modules/')) continue;
    for (const node of nodes) if (mustForget(file)) pending.push(node);
  }
  while (pending.length > 0) {
    const node = pending.pop();
    if (out.has(node)) continue;
    out.add(node);
    for (const id of node.importers ?? []) {
      const importer = modules.idToModuleMap.get(id);
      if (importer !== undefined && !out.has(importer) && !(importer.file ?? '').includes('/node_modules/')) pending.push(importer);
    }
  }
  return out;
}
