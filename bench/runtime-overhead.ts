/**
 * Where a sequential request's time goes (not part of `pnpm bench:runtime`): bench:runtime section 3's load (an
 * add-one model at batch 1, one request at a time) run through each layer in turn, in alternating rounds, so that
 * the differences between layers split the executor's overhead over raw onnxruntime:
 *
 * - `raw`: `session.run` in the main thread, a fresh tensor per request (section 3's baseline);
 * - `hop`: a bare worker woken through a shared counter with `Atomics.waitAsync` on both sides, running nothing
 *   (two thread hops through the event loops: the doorbell's floor), with each one-way wake-up timed;
 * - `hopRun`: the same worker running the session on inputs copied from shared memory (the floor of running
 *   inference off the host thread this way);
 * - `device`: `createDevice` and `runBatch` with known outputs (the device layer, through its doorbell);
 * - `executor`: `submit` (admission, the scheduler, the batch runner).
 *
 *   pnpm build && npx tsx --tsconfig bench/tsconfig.dist.json bench/runtime-overhead.ts [rounds] [perRound]
 *
 * `OVERHEAD_SPIN_US=a,b` runs the hop, device and executor layers once per worker spin (µs the worker polls its
 * counter before it parks; 0 parks at once), each a layer of its own in the same alternating rounds. Every layer
 * also reports the CPU time of every thread of the process per request (Linux schedstat).
 */
import './lib/no-source-maps.js';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { createDevice, createExecutor, type DeviceHandle, type Executor } from '@epara/runtime';
import { loadOrt } from './lib/runtime-deps.js';
import { inspectorSession } from './lib/inspector.js';
import { addOneModel } from './lib/add-one-model.js';

const ROUNDS = Number(process.argv[2] ?? 6);
const PER_ROUND = Number(process.argv[3] ?? 1000);
const SPINS = (process.env['OVERHEAD_SPIN_US'] ?? '').split(',').filter((s) => s !== '').map(Number);

/** CPU ns of every thread of this process (Linux; empty elsewhere). */
function threadsNs(): number {
  let sum = 0;
  try {
    for (const tid of readdirSync('/proc/self/task')) sum += Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    return NaN;
  }
  return sum;
}

/*
 * The bare worker: words[0] the host's count, words[1] the worker's, words[2] "worker parked", words[3] "host
 * parked" (the doorbell's protocol, marks simplified to 1: one request at a time); f64[4] the worker's wake-up
 * time, f64[5] the time it bumped its count (absolute ms, performance.timeOrigin + now()). With a model it runs it
 * on the four floats at byte 64 and writes y behind them.
 */
const BARE_WORKER = `
const { workerData, parentPort } = require('node:worker_threads');
const { performance } = require('node:perf_hooks');
const w = new Int32Array(workerData.control);
const f = new Float64Array(workerData.control);
const io = new Float32Array(workerData.control, 64, 8);
const spinMs = workerData.spinUs / 1000;
let seen = 0;
let session, ort, input;
async function main() {
  if (workerData.ortPath) {
    ort = require(workerData.ortPath);
    session = await ort.InferenceSession.create(workerData.model, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' });
    input = new Float32Array(4);
  }
  parentPort.postMessage('ready');
  park();
}
function now() { return performance.timeOrigin + performance.now(); }
function park() {
  if (spinMs > 0) {
    const until = performance.now() + spinMs;
    while (performance.now() < until) if (Atomics.load(w, 0) !== seen) return void serve(true);
  }
  Atomics.store(w, 2, 1);
  const r = Atomics.waitAsync(w, 0, seen);
  if (!r.async) return void queueMicrotask(() => serve(false));
  r.value.then(() => serve(false));
}
async function serve(spun) {
  f[4] = spun ? 0 : now();
  Atomics.store(w, 2, 0);
  seen = Atomics.load(w, 0);
  if (session) {
    input.set(io.subarray(0, 4));
    f[6] = now();
    const out = await session.run({ x: new ort.Tensor('float32', input, [1, 4]) });
    f[7] = now();
    io.set(out.y.data, 4);
  }
  f[5] = now();
  Atomics.store(w, 1, seen);
  if (Atomics.compareExchange(w, 3, 1, 0) === 1) Atomics.notify(w, 1);
  park();
}
// A listener keeps the worker's event loop alive (a pending Atomics.waitAsync does not).
parentPort.on('message', () => undefined);
void main();
`;

interface Layer {
  readonly name: string;
  /** One request; resolves when its answer is on the host. */
  readonly once: (i: number) => Promise<void>;
  readonly close: () => Promise<void>;
  /** Per request, after a round: one-way wake-ups (µs) for the bare worker. */
  readonly wakes?: { toWorker: number[]; toHost: number[]; run: number[] };
  /** The device's doorbell counts so far (rung batches, worker parks, host notifies of a parked worker). */
  readonly bell?: () => { rungRuns: number; workerParks: number; ringWakes: number; answerWakes: number } | undefined;
}

async function bareLayer(name: string, withModel: boolean, spinUs: number): Promise<Layer> {
  const control = new SharedArrayBuffer(128);
  const w = new Int32Array(control);
  const f = new Float64Array(control);
  const io = new Float32Array(control, 64, 8);
  const req = createRequire(new URL('../packages/runtime/package.json', import.meta.url));
  const worker = new Worker(BARE_WORKER, {
    eval: true,
    workerData: { control, spinUs, ...(withModel ? { ortPath: req.resolve('onnxruntime-node'), model: addOneModel() } : {}) },
  });
  await new Promise((resolve) => worker.once('message', resolve));
  let count = 0;
  const wakes = { toWorker: [] as number[], toHost: [] as number[], run: [] as number[] };
  const now = (): number => performance.timeOrigin + performance.now();
  const once = (i: number): Promise<void> => {
    io[0] = i;
    const sent = now();
    Atomics.store(w, 0, ++count);
    if (Atomics.compareExchange(w, 2, 1, 0) === 1) Atomics.notify(w, 0);
    const answered = (): void => {
      const heard = now();
      if (f[4]! > 0) wakes.toWorker.push((f[4]! - sent) * 1000);
      wakes.toHost.push((heard - f[5]!) * 1000);
      if (f[7]! > 0) wakes.run.push((f[7]! - f[6]!) * 1000);
    };
    Atomics.store(w, 3, 1);
    const r = (Atomics as unknown as { waitAsync(w: Int32Array, i: number, v: number): { async: boolean; value: Promise<string> } }).waitAsync(w, 1, count - 1);
    if (!r.async) {
      Atomics.store(w, 3, 0);
      answered();
      return Promise.resolve();
    }
    return r.value.then(() => {
      Atomics.store(w, 3, 0);
      answered();
    });
  };
  return { name, once, close: async () => void (await worker.terminate()), wakes };
}

async function deviceLayer(name: string, spinUs: number | undefined): Promise<Layer> {
  const device: DeviceHandle = createDevice({ id: 'd', threads: 1, ...(spinUs === undefined ? {} : { doorbellSpinUs: spinUs }) });
  await device.loadModel('add', { bytes: addOneModel() });
  const known = [{ name: 'y', type: 'float32' as const, dims: [1, 4], axis: 0 }];
  const axes = { x: 0 };
  const once = async (i: number): Promise<void> => {
    await device.runBatch!('add', [{ x: { type: 'float32', dims: [1, 4], data: new Float32Array([i, 1, 2, 3]) } }], axes, { knownOutputs: known });
  };
  return { name, once, close: () => device.close(), bell: () => device.inputSlabs?.() as never };
}

async function executorLayer(name: string, spinUs: number | undefined): Promise<Layer> {
  const ex: Executor = createExecutor({
    devices: [{ id: 'cpu0', threads: 1, ...(spinUs === undefined ? {} : { doorbellSpinUs: spinUs }) }],
    services: [{ id: 'add', model: addOneModel(), sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 1000 }, plan: { batchSize: 1 }, sampleInputs: { x: { type: 'float32', dims: [1, 4], data: new Float32Array(4) } }, maxBatch: 1, devices: ['cpu0'] }],
  });
  await ex.start();
  const once = async (i: number): Promise<void> => {
    await ex.submit('add', { x: { type: 'float32', dims: [1, 4], data: new Float32Array([i, 1, 2, 3]) } });
  };
  return { name, once, close: () => ex.close(), bell: () => ex.stats().devices?.['cpu0']?.inputSlabs as never };
}

const ort = await loadOrt();
const session = await ort.InferenceSession.create(addOneModel(), { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' });
const layers: Layer[] = [
  { name: 'raw', once: async (i) => void (await session.run({ x: new ort.Tensor('float32', new Float32Array([i, 1, 2, 3]), [1, 4]) })), close: () => session.release() },
];
const spins: (number | undefined)[] = SPINS.length === 0 ? [undefined] : SPINS;
for (const s of spins) {
  const tag = s === undefined ? '' : `@${s}`;
  layers.push(await bareLayer(`hop${tag}`, false, s ?? 0));
  layers.push(await bareLayer(`hopRun${tag}`, true, s ?? 0));
  layers.push(await deviceLayer(`device${tag}`, s));
  layers.push(await executorLayer(`executor${tag}`, s));
}

/** OVERHEAD_ONLY=name,…: run only these layers (with a profiler, one layer's profile). */
const only = process.env['OVERHEAD_ONLY']?.split(',');
if (only !== undefined) layers.splice(0, layers.length, ...layers.filter((l) => only.includes(l.name)));
const times = new Map<string, number[]>(layers.map((l) => [l.name, []]));
const cpu = new Map<string, number>(layers.map((l) => [l.name, 0]));
const warm = Math.floor(PER_ROUND / 10);
/** OVERHEAD_CPUPROF=dir: the host thread's CPU profile over the rounds (`host.cpuprofile`). */
const profDir = process.env['OVERHEAD_CPUPROF'];
const prof = profDir === undefined ? undefined : inspectorSession();
if (prof) {
  await prof.post('Profiler.enable');
  await prof.post('Profiler.setSamplingInterval', { interval: 50 });
  await prof.post('Profiler.start');
}
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 === 0 ? layers : [...layers].reverse();
  for (const layer of order) {
    const t = times.get(layer.name)!;
    const c0 = threadsNs();
    for (let i = 0; i < PER_ROUND; i++) {
      const t0 = performance.now();
      await layer.once(i);
      if (i >= warm) t.push((performance.now() - t0) * 1000);
    }
    cpu.set(layer.name, cpu.get(layer.name)! + (threadsNs() - c0));
  }
}

if (prof) {
  const { profile } = await prof.post('Profiler.stop');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(`${profDir}/host.cpuprofile`, JSON.stringify(profile));
  prof.session.disconnect();
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? NaN;
const rawP50 = times.has('raw') ? median(times.get('raw')!) : 0;
const out: Record<string, unknown> = { rounds: ROUNDS, perRound: PER_ROUND };
for (const l of layers) {
  const p50 = median(times.get(l.name)!);
  out[l.name] = {
    p50Us: Math.round(p50 * 10) / 10,
    overRawUs: Math.round((p50 - rawP50) * 10) / 10,
    cpuUsPerRequest: Math.round(cpu.get(l.name)! / 1000 / (ROUNDS * PER_ROUND)),
    ...perRequest(l.bell?.()),
    ...(l.wakes ? { wakeToWorkerP50Us: Math.round(median(l.wakes.toWorker) * 10) / 10, wakeToHostP50Us: Math.round(median(l.wakes.toHost) * 10) / 10, ...(l.wakes.run.length > 0 ? { workerRunP50Us: Math.round(median(l.wakes.run) * 10) / 10 } : {}) } : {}),
  };
}
/** The doorbell's counts per rung request: parks of the worker (1 − it: requests its poll caught), notifies each way. */
function perRequest(b: ReturnType<NonNullable<Layer['bell']>>): Record<string, number> {
  if (b === undefined || b.rungRuns === 0) return {};
  const per = (n: number): number => Math.round((n / b.rungRuns) * 1000) / 1000;
  return { parksPerRequest: per(b.workerParks), ringWakesPerRequest: per(b.ringWakes), answerWakesPerRequest: per(b.answerWakes) };
}
for (const l of layers) await l.close();
console.log(JSON.stringify(out));
