/**
 * Where a sequential request's time goes (not part of `pnpm bench:runtime`): bench:runtime section 3's load (an
 * add-one model at batch 1, one request at a time) run through each layer in turn, in alternating rounds, so that
 * the differences between layers split the executor's overhead over raw onnxruntime:
 *
 * - `raw`: `session.run` in the main thread, a fresh tensor per request (section 3's baseline);
 * - the floor, no EPARA code (bench/lib/runtime-floor.ts): a bare worker answering by `postMessage` (`msgHop…`) or
 *   woken through a shared counter with `Atomics.waitAsync` on both sides (`hop…`, the doorbell's mechanism),
 *   running nothing (`…Hop…`: the two thread hops) or the session (`…HopRun…`: the floor of running inference off
 *   the host thread that way), the worker idle between requests (parked) or warm (polling 200 µs before it
 *   parks: `…Warm`, `…@200`), each one-way wake-up timed;
 * - `device`: `createDevice` and `runBatch` with known outputs (the device layer, through its doorbell);
 * - `executor`: `submit` (admission, the scheduler, the batch runner), with `overFloorUs`, its p50 over the
 *   `hopRun` of the same poll (EPARA's own share), and `stagesP50P90Us`: per request, the time to each stage of
 *   `REQUEST_STAGES` from the one before (`submit` from the caller's call, `caller` the caller resuming after
 *   `settled`), p50 and p90 (`recordStageMarks`; `OVERHEAD_STAGES=0` turns the marks off).
 *
 *   pnpm build && npx tsx --tsconfig bench/tsconfig.dist.json bench/runtime-overhead.ts [rounds] [perRound]
 *
 * `OVERHEAD_SPIN_US=a,b` (default `0,200`) runs the hop, device and executor layers once per worker poll (µs the
 * worker polls its counter before it parks; 0 parks at once), each a layer of its own in the same alternating
 * rounds. Every layer also reports the CPU time of every thread of the process per request (Linux schedstat) and
 * the V8 heap bytes the host thread allocated per request.
 */
import './lib/no-source-maps.js';
import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createDevice, createExecutor, recordStageMarks, REQUEST_STAGES, type DeviceHandle, type Executor } from '@epara/runtime';
import { loadOrt } from './lib/runtime-deps.js';
import { inspectorSession } from './lib/inspector.js';
import { addOneModel } from './lib/add-one-model.js';
import { startAllocMeter } from './lib/alloc-meter.js';
import { floorLayer, type FloorLayer, type FloorVia } from './lib/runtime-floor.js';

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

interface Layer {
  readonly name: string;
  /** One request; resolves when its answer is on the host. */
  readonly once: (i: number) => Promise<void>;
  readonly close: () => Promise<void>;
  /** Per request, after a round: one-way wake-ups (µs) for the bare worker. */
  readonly wakes?: FloorLayer['hops'];
  /** The doorbell's counts so far (rung batches, worker parks, host notifies of a parked worker, worker notifies of a parked host); the bare worker's too. */
  readonly bell?: () => { rungRuns: number; workerParks: number; ringWakes: number; answerWakes: number } | undefined;
  /** Per request, the time from each stage to the next (µs), for the executor's layers when stages are recorded. */
  readonly stages?: Map<string, number[]>;
}

async function bareLayer(name: string, via: FloorVia, withModel: boolean, spinUs: number): Promise<Layer> {
  const floor = await floorLayer(via, { spinUs, withModel });
  // The bare worker's wake-ups, counted as the device's doorbell counts them (a request is a rung call).
  const bell = via === 'atomics' ? () => ({ ...floor.wakeCounts(), rungRuns: floor.wakeCounts().requests }) : undefined;
  return { name, once: floor.once, close: floor.close, wakes: floor.hops, ...(bell === undefined ? {} : { bell }) };
}

/** What a layer is built from: this build's `@epara/runtime`, or the one `OVERHEAD_BASE` names. */
type Runtime = Pick<typeof import('@epara/runtime'), 'createDevice' | 'createExecutor'>;
const THIS_BUILD: Runtime = { createDevice, createExecutor };

async function deviceLayer(name: string, spinUs: number | undefined, rt: Runtime = THIS_BUILD): Promise<Layer> {
  const device: DeviceHandle = rt.createDevice({ id: 'd', threads: 1, ...(spinUs === undefined ? {} : { doorbellSpinUs: spinUs }) });
  await device.loadModel('add', { bytes: addOneModel() });
  const known = [{ name: 'y', type: 'float32' as const, dims: [1, 4], axis: 0 }];
  const axes = { x: 0 };
  const once = async (i: number): Promise<void> => {
    await device.runBatch!('add', [{ x: { type: 'float32', dims: [1, 4], data: new Float32Array([i, 1, 2, 3]) } }], axes, { knownOutputs: known });
  };
  return { name, once, close: () => device.close(), bell: () => device.inputSlabs?.() as never };
}

async function executorLayer(name: string, spinUs: number | undefined, rt: Runtime = THIS_BUILD): Promise<Layer> {
  const ex: Executor = rt.createExecutor({
    devices: [{ id: 'cpu0', threads: 1, ...(spinUs === undefined ? {} : { doorbellSpinUs: spinUs }) }],
    services: [{ id: 'add', model: addOneModel(), sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 1000 }, plan: { batchSize: 1 }, sampleInputs: { x: { type: 'float32', dims: [1, 4], data: new Float32Array(4) } }, maxBatch: 1, devices: ['cpu0'] }],
  });
  await ex.start();
  // Stages are marked by this build only (another build's marks live in its own module).
  if (marks === undefined || rt !== THIS_BUILD) {
    const once = async (i: number): Promise<void> => {
      await ex.submit('add', { x: { type: 'float32', dims: [1, 4], data: new Float32Array([i, 1, 2, 3]) } });
    };
    return { name, once, close: () => ex.close(), bell: () => ex.stats().devices?.['cpu0']?.inputSlabs as never };
  }
  // Each request's stages: the caller's call to submit, the marks in order, the caller resuming.
  const m = marks;
  const stages = new Map<string, number[]>(STAGE_SPANS.map((s) => [s, []]));
  const spans = STAGE_SPANS.map((s) => stages.get(s)!);
  const once = async (i: number): Promise<void> => {
    m.fill(0);
    const called = performance.timeOrigin + performance.now();
    await ex.submit('add', { x: { type: 'float32', dims: [1, 4], data: new Float32Array([i, 1, 2, 3]) } });
    const resumed = performance.timeOrigin + performance.now();
    if (m.some((t) => t === 0)) return; // a stage not reached (a run by another path): not decomposed
    let last = called;
    for (let k = 0; k < m.length; k++) {
      spans[k]!.push((m[k]! - last) * 1000);
      last = m[k]!;
    }
    spans[m.length]!.push((resumed - last) * 1000);
  };
  return { name, once, close: () => ex.close(), bell: () => ex.stats().devices?.['cpu0']?.inputSlabs as never, stages };
}

/** OVERHEAD_STAGES=0: no stage marks (the executor's layers as they run in production). */
const marks = process.env['OVERHEAD_STAGES'] === '0' ? undefined : recordStageMarks();
/** Each span is named by the stage it ends at (`caller`: the caller resuming after `settled`). */
const STAGE_SPANS = [...REQUEST_STAGES, 'caller'];

const ort = await loadOrt();
const session = await ort.InferenceSession.create(addOneModel(), { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' });
const layers: Layer[] = [
  { name: 'raw', once: async (i) => void (await session.run({ x: new ort.Tensor('float32', new Float32Array([i, 1, 2, 3]), [1, 4]) })), close: () => session.release() },
];
// The floor by postMessage, the worker idle (parked) and warm (polling 200 µs), with and without the model.
for (const spinUs of [0, 200]) {
  const tag = spinUs === 0 ? 'Idle' : 'Warm';
  layers.push(await bareLayer(`msgHop${tag}`, 'message', false, spinUs));
  layers.push(await bareLayer(`msgHopRun${tag}`, 'message', true, spinUs));
}
const spins: (number | undefined)[] = SPINS.length === 0 ? [undefined, 200] : SPINS.map((x) => (x === 0 ? undefined : x));
for (const s of spins) {
  const tag = s === undefined ? '' : `@${s}`;
  layers.push(await bareLayer(`hop${tag}`, 'atomics', false, s ?? 0));
  layers.push(await bareLayer(`hopRun${tag}`, 'atomics', true, s ?? 0));
  layers.push(await deviceLayer(`device${tag}`, s));
  layers.push(await executorLayer(`executor${tag}`, s));
}

/**
 * OVERHEAD_BASE=path: the `dist/index.js` of another build of `@epara/runtime` (a copy of `packages/runtime` with
 * its `package.json`, `dist` and `node_modules`, so that its devices find their own worker): its device and executor
 * run as layers `deviceBase` and `executorBase` (the first poll length) in the same alternating rounds, an A/B of
 * two builds on the same machine load; `baseRatio` is this build's p50 over the base's. Run it with
 * `OVERHEAD_STAGES=0`: only this build's executor marks its stages, and the marks cost it time the base does not pay.
 */
const basePath = process.env['OVERHEAD_BASE'];
if (basePath !== undefined) {
  const base = (await import(basePath)) as Runtime;
  layers.push(await deviceLayer('deviceBase', spins[0], base));
  layers.push(await executorLayer('executorBase', spins[0], base));
}

/** OVERHEAD_ONLY=name,…: run only these layers (with a profiler, one layer's profile). */
const only = process.env['OVERHEAD_ONLY']?.split(',');
if (only !== undefined) {
  // The layers left out are closed at once (their workers would keep the process alive after the figures).
  for (const l of layers.filter((l) => !only.includes(l.name))) await l.close();
  layers.splice(0, layers.length, ...layers.filter((l) => only.includes(l.name)));
}
const times = new Map<string, number[]>(layers.map((l) => [l.name, []]));
const cpu = new Map<string, number>(layers.map((l) => [l.name, 0]));
/** V8 heap bytes the host thread allocated over each layer's blocks (the caller's own included). */
const heap = new Map<string, number>(layers.map((l) => [l.name, 0]));
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
    const meter = startAllocMeter();
    for (let i = 0; i < PER_ROUND; i++) {
      const t0 = performance.now();
      await layer.once(i);
      if (i >= warm) t.push((performance.now() - t0) * 1000);
    }
    heap.set(layer.name, heap.get(layer.name)! + meter());
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
const p90 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)] ?? NaN;
const r1 = (x: number): number => Math.round(x * 10) / 10;
const rawP50 = times.has('raw') ? median(times.get('raw')!) : 0;
const out: Record<string, unknown> = { rounds: ROUNDS, perRound: PER_ROUND };
for (const l of layers) {
  const p50 = median(times.get(l.name)!);
  out[l.name] = {
    p50Us: Math.round(p50 * 10) / 10,
    overRawUs: Math.round((p50 - rawP50) * 10) / 10,
    cpuUsPerRequest: Math.round(cpu.get(l.name)! / 1000 / (ROUNDS * PER_ROUND)),
    heapBytesPerRequest: Math.round(heap.get(l.name)! / (ROUNDS * PER_ROUND)),
    ...perRequest(l.bell?.()),
    ...(/^(device|executor)/.test(l.name) && times.has(`hopRun${l.name.replace(/^(device|executor)/, '')}`) ? { overFloorUs: r1(p50 - median(times.get(`hopRun${l.name.replace(/^(device|executor)/, '')}`)!)) } : {}),
    ...(/^(device|executor)Base$/.test(l.name) && times.has(l.name.replace('Base', '')) ? { baseRatio: Math.round((median(times.get(l.name.replace('Base', ''))!) / p50) * 1000) / 1000 } : {}),
    ...(/^(device|executor)Base$/.test(l.name) && times.has('hopRun') ? { overFloorUs: r1(p50 - median(times.get('hopRun')!)) } : {}),
    ...(l.stages ? { stagesP50P90Us: Object.fromEntries([...l.stages].map(([k, xs]) => [k, [r1(median(xs)), r1(p90(xs))]])) } : {}),
    ...(l.wakes ? { wakeToWorkerP50Us: l.wakes.toWorker.length === 0 ? null : Math.round(median(l.wakes.toWorker) * 10) / 10, wakeToHostP50Us: Math.round(median(l.wakes.toHost) * 10) / 10, ...(l.wakes.run.length > 0 ? { workerRunP50Us: Math.round(median(l.wakes.run) * 10) / 10 } : {}) } : {}),
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
// With OVERHEAD_BASE the process stayed alive after every layer closed (a handle of the second build's module, not
// traced): exit once the figures are out.
if (basePath !== undefined) process.exit(0);
