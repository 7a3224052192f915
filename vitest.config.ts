import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** A path under the repository root. */
const here = (file: string): string => fileURLToPath(new URL(`./${file}`, import.meta.url));
const src = (file: string): string => here(`packages/${file}`);

/**
 * The files that run longest, longest first (as a run of the whole suite ranks them). A fresh clone, as in CI,
 * has no record of past durations, so vitest's own order is by file size: the demo (about two minutes on its
 * worker) started after 88 larger files and ran long past the rest. Started first, each of these overlaps the
 * many short files instead; the unit files among them too, which would otherwise come last (units run after the
 * isolated files) and leave one worker idle. A name that no longer exists fails the config (except in a copy of
 * part of the tree, as Stryker's sandbox is: vitest.mutation.config.ts sets EPARA_PARTIAL_TREE).
 */
const LONGEST_FILES = [
  'examples/demo/demo.test.ts',
  'test/packaging/packed-install.test.ts',
  'test/gateway/serve-cluster-outside.test.ts',
  'test/cluster-faults/drain-under-load.test.ts',
  'test/cluster-faults/worker-killed.test.ts',
  'test/dashboard/dashboard-browser.test.ts',
  'test/runtime-faults/lifecycle-faults.test.ts',
  'test/runtime-models/serve-models.test.ts',
  'packages/core/src/placement/milp-reference.test.ts',
  'test/runtime-faults/signals-inputs-faults.test.ts',
  'test/gateway/serve-secrets.test.ts',
  'test/nats/nats-broker-restart.test.ts',
  'test/gateway/serve-config.test.ts',
  'test/mesh/stream-frame-faults.test.ts',
  'test/gateway/serve-cli-outside.test.ts',
  'test/nats/nats-faults.test.ts',
  'packages/core/src/scheduling/scheduler.property.test.ts',
  'test/gateway/real-models-serve.test.ts',
  'test/dashboard/dashboard-tabs.test.ts',
  'test/sim/cli-bin.test.ts',
  'test/mesh/one-way-partition.test.ts',
  'packages/gateway/src/stalled-clients.test.ts',
  'test/gateway/serve-repository.test.ts',
  'test/docs/docs-snippets.test.ts',
  'test/nats/nats-offloader.test.ts',
  'test/dashboard/dashboard-many-services.test.ts',
  'test/runtime-models/pipeline-models.test.ts',
  'test/mesh/frame-faults.test.ts',
];

if (process.env['EPARA_PARTIAL_TREE'] !== '1') for (const file of LONGEST_FILES) if (!existsSync(here(file))) throw new Error(`vitest.config.ts: LONGEST_FILES names ${file}, which does not exist`);

/** The packages' test files that mock a module (`vi.mock`, `vi.doMock`), found by reading them. */
export const MOCKING_FILES = readdirSync(here('packages'), { recursive: true, encoding: 'utf8' })
  .map((file) => `packages/${file.split(sep).join('/')}`)
  .filter((file) => /^packages\/[^/]+\/src\/.*\.test\.ts$/.test(file) && !file.includes('/node_modules/'))
  .filter((file) => /\bvi\.(mock|doMock)\(/.test(readFileSync(here(file), 'utf8')));

/** The integration tests that run in a shared module graph (project `shared`, below), and the demo's unit tests. */
const SHARED_GRAPH_TESTS = [
  ...['runtime', 'runtime-models', 'runtime-faults', 'mesh', 'mesh-wire', 'nats', 'observability', 'sim', 'gateway', 'cluster-faults', 'dashboard'].map((dir) => `test/${dir}/**/*.test.ts`),
  'examples/demo/src/**/*.test.ts',
  ...['core-plan', 'custom-transport', 'http-service', 'nats-cluster', 'sim-report', 'video-client'].map((dir) => `examples/${dir}/*.test.ts`),
];

/** vitest's order (the last recorded durations, or file size), with {@link LONGEST_FILES} moved to the front. */
class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (spec: TestSpecification): number => {
      const i = LONGEST_FILES.indexOf(relative(this.ctx.config.root, spec.moduleId).split(sep).join('/'));
      return i === -1 ? LONGEST_FILES.length : i;
    };
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b)); // a stable sort: the rest keep vitest's order
  }
}

export default defineConfig({
  resolve: {
    // Tests run against sources; the runtime's worker script is loaded from its built dist (see packages/runtime).
    // Exact-match patterns, so `@epara/mesh` does not swallow its subpaths or `@epara/mesh-nats`.
    alias: [
      { find: /^@epara\/core$/, replacement: src('core/src/index.ts') },
      { find: /^@epara\/core\/scheduling$/, replacement: src('core/src/scheduling.ts') },
      { find: /^@epara\/core\/internal$/, replacement: src('core/src/internal.ts') },
      { find: /^@epara\/core\/testing$/, replacement: src('core/src/testing.ts') },
      { find: /^@epara\/runtime$/, replacement: src('runtime/src/index.ts') },
      { find: /^@epara\/mesh$/, replacement: src('mesh/src/index.ts') },
      { find: /^@epara\/mesh\/wire$/, replacement: src('mesh/src/wire.ts') },
      { find: /^@epara\/mesh\/testing$/, replacement: src('mesh/src/testing.ts') },
      { find: /^@epara\/mesh-nats$/, replacement: src('mesh-nats/src/index.ts') },
      { find: /^@epara\/sim$/, replacement: src('sim/src/index.ts') },
      { find: /^@epara\/sim\/engine$/, replacement: src('sim/src/engine.ts') },
      { find: /^@epara\/sim\/analysis$/, replacement: src('sim/src/analysis.ts') },
      { find: /^@epara\/dashboard$/, replacement: src('dashboard/src/index.ts') },
      { find: /^@epara\/gateway$/, replacement: src('gateway/src/index.ts') },
    ],
  },
  test: {
    // Every fast-check property runs from one fixed seed (FC_SEED overrides it); EPARA_CPU_LOG=<file> logs each test
    // file's CPU seconds (test/setup/cpu-log.ts).
    setupFiles: ['test/setup/fast-check.ts', ...(process.env['EPARA_CPU_LOG'] ? ['test/setup/cpu-log.ts'] : [])],
    // One more than the two cores: the suite is mostly waiting on workers, sockets and child processes (the demo's
    // ten, the serve clusters', the NATS broker's), so a third file in flight fills the cores those waits leave idle.
    maxWorkers: 3,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    sequence: { sequencer: LongestFirstSequencer },
    // Three projects (`--project units` runs one), between them every test file; they share the workers.
    projects: [
      // The packages' own unit and property tests share one module graph per worker: they hold no process-wide
      // state, and re-importing the sources for each of their ~240 files was most of their time. Each test file is
      // still evaluated afresh. A file that mocks a module (`vi.mock`) runs isolated: in a shared graph its mock
      // would reach the files after it, and a module already imported would not see it.
      { extends: true, test: { name: 'units', include: ['packages/*/src/**/*.test.ts'], exclude: [...MOCKING_FILES, '**/node_modules/**'], isolate: false } },
      // Integration tests that run in-process (executors and devices, real models, worker faults, mesh clusters,
      // secure wires, NATS clients, tracing, the simulator's CLI) likewise share one module graph per worker:
      // isolated, each file imported most of the sources afresh (about a second of CPU per file). None mocks a
      // module or leaves process-wide state (spies on `Date.now` and `console.log`, and one file's working
      // directory, are restored after their tests), and each closes what it starts (child processes included).
      // Files of test/mesh and test/runtime-models failed in a shared graph on a heavily loaded machine (load 30-50):
      // each failure was a time limit met (a test's 30 s, an event awaited, a request's deadline) or a race a slow
      // machine loses, five of the mesh files failed as well run alone in a fresh process at that load, and files
      // shared long before (test/mesh-wire) failed there too; none showed state left by an earlier file.
      // test/mesh is shared again: its partition test's failure after the heal (PEER_UNAVAILABLE in two full CI runs
      // with it shared) was a dial made into the cut that held the request once the peer was back, in either layout;
      // the node now dials a returning peer afresh (packages/mesh, PeerLinks.peerBack).
      // test/gateway's files mostly drive `epara serve` child processes; isolated, each file's worker imported the
      // sources and grpc-js afresh, two of the three CPU seconds of a file with one server. Each stops its processes
      // and clients after its tests; one sets an environment variable for one start and deletes it.
      // test/cluster-faults (clusters of `epara serve` processes, TCP proxies, gRPC clients, a reference onnxruntime
      // session) and test/dashboard (nodes in-process, a headless browser, a NATS broker) likewise close what each test
      // starts and only read the environment: isolated, each file's fresh process and its imports (grpc-js, the
      // sources) were a third to a half of its own CPU.
      // The examples' tests call each example's main() in-process (its run-directly branch, which exits or listens
      // for Ctrl-C, is not taken) and close what it starts. The demo's own test runs it as a process group (isolated).
      // The demo's unit tests (examples/demo/src) are pure functions of their inputs: isolated, most of each
      // file's CPU was its fresh process.
      { extends: true, test: { name: 'shared', include: SHARED_GRAPH_TESTS, isolate: false } },
      // Integration, examples and docs that start servers and children or set process-wide state (environment
      // variables, process listeners), and the mocking files: each file in a fresh process.
      { extends: true, test: { name: 'isolated', include: ['test/**/*.test.ts', 'examples/**/*.test.ts', ...MOCKING_FILES], exclude: [...SHARED_GRAPH_TESTS, '**/node_modules/**'] } },
    ],
  },
});
