/**
 * Why a worker's `session.run` is slower than raw onnxruntime's (not part of `pnpm bench:runtime`): the add-one
 * model's run, at batch 1, timed in alternating blocks of 200 calls under four conditions sharing the machine's
 * load:
 *
 * - `main`: `session.run` in a loop in the main thread (bench:runtime section 3's baseline);
 * - `loop`: the same loop inside a worker thread (no wake-ups between runs);
 * - `woken`: the worker parked in `Atomics.waitAsync` between runs, woken by the host for each (the doorbell's
 *   shape, without the runtime);
 * - `wokenTwice`: woken the same way, one untimed run first, then the timed one.
 *
 * Each reports the p50 of the whole `session.run` and of its synchronous part (onnxruntime-node defers the binding's
 * call to `setImmediate`; the bench wraps `setImmediate` to time the callback), µs; `woken…` also the host's round
 * trip. Same session options in every thread (`WAKE_RUN_OPTS` as JSON overrides them).
 *
 *   pnpm build && npx tsx --tsconfig bench/tsconfig.dist.json bench/runtime-wake-run.ts [rounds]
 */
import './lib/no-source-maps.js';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { addOneModel } from './lib/add-one-model.js';

const ROUNDS = Number(process.argv[2] ?? 16);
const BLOCK = 200;
const OPTIONS = JSON.parse(process.env['WAKE_RUN_OPTS'] ?? '{"intraOpNumThreads":1,"interOpNumThreads":1,"executionMode":"sequential"}') as Record<string, unknown>;
const ortPath = createRequire(new URL('../packages/runtime/package.json', import.meta.url)).resolve('onnxruntime-node');

/** Shared by both threads (the worker evaluates it as a string): one timed run, its synchronous part too. */
const TIMED_RUN = `
const { performance } = require('node:perf_hooks');
let lastSyncMs = 0;
const immediate = setImmediate;
globalThis.setImmediate = (fn, ...args) => immediate(() => { const t = performance.now(); fn(...args); lastSyncMs = performance.now() - t; });
async function timedRun(ort, session, i, run, sync) {
  const t0 = performance.now();
  await session.run({ x: new ort.Tensor('float32', new Float32Array([i, 1, 2, 3]), [1, 4]) });
  run.push((performance.now() - t0) * 1000);
  sync.push(lastSyncMs * 1000);
}
`;

const WORKER = `${TIMED_RUN}
const { workerData, parentPort } = require('node:worker_threads');
const ort = require(workerData.ortPath);
const w = new Int32Array(workerData.control);
(async () => {
  const session = await ort.InferenceSession.create(workerData.model, workerData.options);
  parentPort.on('message', async (m) => {
    const run = [], sync = [];
    if (m.mode === 'loop') for (let i = 0; i < ${BLOCK}; i++) await timedRun(ort, session, i, run, sync);
    else {
      let seen = m.from;
      for (let i = 0; i < ${BLOCK}; i++) {
        const r = Atomics.waitAsync(w, 0, seen);
        if (r.async) await r.value;
        seen = Atomics.load(w, 0);
        if (m.mode === 'wokenTwice') await timedRun(ort, session, i, [], []);
        await timedRun(ort, session, i, run, sync);
        Atomics.store(w, 1, seen);
        Atomics.notify(w, 1);
      }
    }
    parentPort.postMessage({ run, sync });
  });
  parentPort.postMessage('ready');
})();
`;

interface Session {
  run(feeds: Record<string, unknown>): Promise<unknown>;
}
type TimedRun = (ort: unknown, session: Session, i: number, run: number[], sync: number[]) => Promise<void>;

const require = createRequire(import.meta.url);
const timedRun = new Function('require', `${TIMED_RUN}; return timedRun;`)(require) as TimedRun;
const ort = require(ortPath) as { InferenceSession: { create(m: Uint8Array, o: unknown): Promise<Session & { release(): Promise<void> }> } };
const model = addOneModel();
const session = await ort.InferenceSession.create(model, OPTIONS);
const control = new SharedArrayBuffer(64);
const words = new Int32Array(control);
const worker = new Worker(WORKER, { eval: true, workerData: { model, control, options: OPTIONS, ortPath } });
await new Promise((resolve) => worker.once('message', resolve));
const ask = (msg: object): Promise<{ run: number[]; sync: number[] }> => {
  const answer = new Promise<{ run: number[]; sync: number[] }>((resolve) => worker.once('message', resolve));
  worker.postMessage(msg);
  return answer;
};

const MODES = ['main', 'loop', 'woken', 'wokenTwice'] as const;
const samples = new Map<string, { run: number[]; sync: number[]; roundTrip: number[] }>(MODES.map((m) => [m, { run: [], sync: [], roundTrip: [] }]));
// A pending Atomics.waitAsync does not keep the host's event loop alive.
const keepAlive = setInterval(() => undefined, 1000);
let count = 0;
for (let r = 0; r < ROUNDS; r++) {
  for (const mode of r % 2 === 0 ? MODES : [...MODES].reverse()) {
    const s = samples.get(mode)!;
    const into = r === 0 ? { run: [], sync: [], roundTrip: [] } : s; // round 0 warms every path
    if (mode === 'main') {
      for (let i = 0; i < BLOCK; i++) await timedRun(ort, session, i, into.run, into.sync);
    } else if (mode === 'loop') {
      const o = await ask({ mode });
      into.run.push(...o.run);
      into.sync.push(...o.sync);
    } else {
      const done = ask({ mode, from: count });
      for (let i = 0; i < BLOCK; i++) {
        const t0 = performance.now();
        Atomics.store(words, 0, ++count);
        Atomics.notify(words, 0);
        const wait = (Atomics as unknown as { waitAsync(w: Int32Array, i: number, v: number): { async: boolean; value: Promise<string> } }).waitAsync(words, 1, count - 1);
        if (wait.async) await wait.value;
        into.roundTrip.push((performance.now() - t0) * 1000);
      }
      const o = await done;
      into.run.push(...o.run);
      into.sync.push(...o.sync);
    }
  }
}
clearInterval(keepAlive);
await worker.terminate();
await session.release();

const p50 = (xs: number[]): number | undefined => (xs.length === 0 ? undefined : Math.round([...xs].sort((a, b) => a - b)[xs.length >> 1]! * 10) / 10);
const out: Record<string, unknown> = { rounds: ROUNDS, block: BLOCK };
for (const [mode, s] of samples) out[mode] = { runP50Us: p50(s.run), syncP50Us: p50(s.sync), ...(s.roundTrip.length > 0 ? { roundTripP50Us: p50(s.roundTrip) } : {}) };
console.log(JSON.stringify(out));
