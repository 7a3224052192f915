// The test pool of mutation runs (vitest.mutation.config.ts installs it): one worker thread for every run of a
// Stryker test process, instead of a new one per mutant.
//
// Stryker's vitest runner calls `vitest.start(files)` once per mutant, and vitest's pool stops its worker when a
// run's queue is empty: every mutant paid a new thread, vitest's runtime loaded into it again, the environment
// and the module runner set up again, before the first test ran (0.4–0.6 s of CPU, on a run whose tests take
// 0.1 s; docs/testing.md, "What keeps a run cheap"). This pool keeps the thread and its loaded runtime between runs.
//
// What the tests see does not change: after every run the thread forgets each module Stryker instrumented, each
// test and setup file, and each module importing one of them (mutation-pool-worker.mjs), so the next run evaluates
// the mutated sources, their module-level state and the test files afresh, with that run's mutant active, as a new
// worker would. A memo such as a resolved-defaults cache or a WeakMap keyed by a shared fixture cannot carry one
// mutant's result into the next. The test framework, third-party packages and the project modules no mutant reaches
// (they import no instrumented module) stay loaded, as they do between files in `pnpm test`'s units project.
//
// The thread follows vitest's own protocol: each run is a start, run, stop session of vitest's worker `init`
// (`vitest/worker`), and the thread's entry (mutation-pool-worker.mjs) begins a new session on the next start.
// MUTATION_WORKER=fresh puts vitest's own pool back (a new thread per mutant), to compare.
import { Worker } from 'node:worker_threads';

const ENTRY = new URL('./mutation-pool-worker.mjs', import.meta.url);
export const POOL_NAME = 'epara-keepalive';

/** The one thread of this process, kept between runs; undefined before the first run and after it exits. */
let shared;

function sharedThread({ env, execArgv, project }) {
  if (shared) return shared;
  const thread = new Worker(ENTRY, { env, execArgv, stdout: true, stderr: true });
  thread.stdout.pipe(project.vitest.logger.outputStream);
  thread.stderr.pipe(project.vitest.logger.errorStream);
  // The thread must not keep the test process alive once vitest closes (it is terminated then, below).
  thread.unref();
  thread.once('exit', () => {
    if (shared === thread) shared = undefined;
  });
  shared = thread;
  return thread;
}

/** Terminates the kept thread (vitest's close). */
export async function closeSharedThread() {
  const thread = shared;
  shared = undefined;
  await thread?.terminate();
}

/** One run's view of the shared thread: the listeners vitest's PoolRunner adds are removed when the run stops. */
class KeepAlivePoolWorker {
  name = POOL_NAME;
  #options;
  #thread;
  #listeners = [];

  constructor(options) {
    this.#options = options;
  }

  async start() {
    this.#thread = sharedThread(this.#options);
  }

  async stop() {
    for (const [event, callback] of this.#listeners) this.#thread?.off(event, callback);
    this.#listeners = [];
    this.#thread = undefined;
  }

  on(event, callback) {
    this.#listeners.push([event, callback]);
    this.#thread?.on(event, callback);
  }

  off(event, callback) {
    this.#listeners = this.#listeners.filter(([e, c]) => e !== event || c !== callback);
    this.#thread?.off(event, callback);
  }

  send(message) {
    this.#thread?.postMessage(message);
  }

  deserialize(data) {
    return data;
  }

  canReuse() {
    return true;
  }
}

/** vitest's custom pool object (`pool` in a config, `poolRunner` on a resolved project). */
export const keepAlivePool = { name: POOL_NAME, createPoolWorker: (options) => new KeepAlivePoolWorker(options) };

/**
 * A vite plugin that puts the pool on every project after the configuration is resolved. Stryker's runner
 * creates vitest with `pool: 'threads'`, which overrides a `pool` in the config file, so the pool is set here.
 */
export function keepAlivePoolPlugin() {
  return {
    name: 'epara-mutation-pool',
    configureVitest({ project, vitest }) {
      project.config.pool = POOL_NAME;
      project.config.poolRunner = keepAlivePool;
      vitest.onClose(closeSharedThread);
    },
  };
}
