// The entry of the kept worker thread of mutation runs (see mutation-pool.mjs). vitest's worker `init` serves one
// session, from its start message to its stop; here each start message that arrives between sessions begins a
// new one, on the same thread and with the runtime already loaded.
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
 * Runs the tests, then forgets every evaluated module of the project (a file outside node_modules): the next run
 * evaluates the sources and their module-level state again, with its own mutant active, as a new thread would.
 * runBaseTests puts the thread's module cache on `state.evaluatedModules`. Stryker's global namespace goes too
 * (the instrumented modules and the runner's setup file make it again): otherwise this run's mutant would still be
 * active while the next run's modules load, before its setup switches the next mutant on.
 */
async function forgettingProjectModules(state, run) {
  try {
    return await run();
  } finally {
    const namespace = (state.providedContext ?? state.ctx?.providedContext)?.globalNamespace;
    if (typeof namespace === 'string') delete globalThis[namespace];
    const modules = state.evaluatedModules;
    for (const [file, nodes] of modules?.fileToModulesMap ?? []) {
      if (file.includes('/node_modules/')) continue;
      for (const node of nodes) modules.invalidateModule(node);
    }
  }
}
