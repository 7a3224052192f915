/**
 * A micro-harness for the executor's host path (not part of `pnpm bench:runtime`): one executor driven at
 * saturation by a closed-loop client, reporting per served request the V8 heap bytes allocated and the main
 * thread's CPU time, and the sequential round-trip overhead on a trivial model. Use it with
 * `node --cpu-prof` or `--heap-prof` to see what the host thread does per request:
 *
 *   pnpm build && npx tsx --tsconfig bench/tsconfig.dist.json bench/runtime-hostpath.ts [fake|ort] [ms]
 *
 * The fake backend's model computes `x + 0` with no sleep, so the device answers as fast as the host sends:
 * every microsecond measured is the host's (and the worker's messaging). Inputs share one buffer (the
 * executor copies them into its slab), so the client allocates only its request objects; `HOSTPATH_INPUT=lease`
 * writes each into a lease instead (`executor.allocateInput`), `HOSTPATH_INPUT=copy` into a fresh array. The
 * saturated runs also count GC pauses per 1000 requests.
 */
import './lib/no-source-maps.js';
import { readFileSync } from 'node:fs';
import { performance, PerformanceObserver } from 'node:perf_hooks';
import { affineProfile, type NamedTensors } from '@epara/core';
import { createExecutor, createGraphBuilder, fakeModelBytes, type Executor } from '@epara/runtime';
import { startAllocMeter } from './lib/alloc-meter.js';
import { models } from '../test/fixtures/models.js';
import { inspectorSession } from './lib/inspector.js';

const kind = (['ort', 'cls'] as const).find((k) => k === process.argv[2]) ?? 'fake';
const ms = Number(process.argv[3] ?? 3000);

function mainThreadCpuUs(): number {
  const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

function model(): Uint8Array | string {
  if (kind === 'cls') return models.ocrCls;
  // HOSTPATH_FIXED_MS: the fake model holds the worker that long per batch (section 1's rate at batch 8 is ~6 ms).
  if (kind === 'fake') return fakeModelBytes({ inputs: [{ name: 'x', type: 'float32', dims: ['batch', 4] }], outputs: [{ name: 'y', from: 'x' }], fixedMs: Number(process.env['HOSTPATH_FIXED_MS'] ?? 0) });
  const g = createGraphBuilder({ name: 'add-one', seed: 1 });
  g.input('x', 'float32', ['batch', 4]);
  g.node('Add', ['x', g.constant('one', 'float32', [1], [1])], ['y']);
  g.output('y', 'float32', ['batch', 4]);
  return g.toBytes();
}

const ITEM = kind === 'cls' ? [1, 3, 48, 192] : [1, 4];
/** HOSTPATH_SLAB=bytes: the devices' input slab size (default: the executor's). */
const slabOption = {
  ...(process.env['HOSTPATH_SLAB'] === undefined ? {} : { inputSlabBytes: Number(process.env['HOSTPATH_SLAB']) }),
  /** HOSTPATH_DOORBELL=bytes: the devices' doorbell slot size (0: every batch by message). */
  ...(process.env['HOSTPATH_DOORBELL'] === undefined ? {} : { doorbellSlotBytes: Number(process.env['HOSTPATH_DOORBELL']) }),
  /** HOSTPATH_SPIN_US=µs: how long the device's worker polls its doorbell before it parks. */
  ...(process.env['HOSTPATH_SPIN_US'] === undefined ? {} : { doorbellSpinUs: Number(process.env['HOSTPATH_SPIN_US']) }),
};
const data = new Float32Array(ITEM.reduce((a, b) => a * b, 1));
/** HOSTPATH_INPUT: `lease`, `copy` or `shared`; by default the classifier's inputs are fresh copies, as in bench:runtime section 1's copy path. */
const inputPath = process.env['HOSTPATH_INPUT'] ?? (kind === 'cls' ? 'copy' : 'shared');
const input = (ex?: Executor): NamedTensors => {
  if (inputPath === 'lease' && ex !== undefined) {
    const lease = ex.allocateInput<Float32Array>('s', 'x', ITEM);
    lease.data.set(data);
    return { x: lease };
  }
  return { x: { type: 'float32', dims: [...ITEM], data: inputPath === 'copy' ? data.slice() : data } };
};

async function saturate(batch: number): Promise<void> {
  const ex = createExecutor({
    ...(kind === 'fake' ? { backend: { kind: 'fake' as const } } : {}),
    devices: [{ id: 'd0', threads: 1, ...slabOption }],
    services: [
      {
        id: 's',
        model: model(),
        sensitivity: 'latency',
        slo: { kind: 'latency', deadlineMs: 60_000 },
        profile: affineProfile('cpu-1t', { fixedMs: 0.05, perItemMs: 0.005, maxBatch: batch }),
        plan: { batchSize: batch },
        maxBatch: batch,
        devices: ['d0'],
      },
    ],
  });
  await ex.start();
  let done = 0;
  let stop = false;
  const loop = async (): Promise<void> => {
    while (!stop) {
      await ex.submit('s', input(ex));
      done++;
    }
  };
  const loops = Array.from({ length: 3 * batch }, loop);
  // HOSTPATH_WARM_MS: how long the loop runs before the window (V8's optimizing compiler runs meanwhile).
  await new Promise((r) => setTimeout(r, Number(process.env['HOSTPATH_WARM_MS'] ?? 300)));
  const d0 = done;
  const c0 = mainThreadCpuUs();
  const t0 = performance.now();
  const meter = startAllocMeter();
  let gcCount = 0;
  const gcObserver = new PerformanceObserver((list) => void (gcCount += list.getEntries().length));
  gcObserver.observe({ entryTypes: ['gc'] });
  const sampling = await startSampling();
  await new Promise((r) => setTimeout(r, ms));
  await sampling(`b${batch}`);
  const heap = meter();
  gcCount += gcObserver.takeRecords().length;
  gcObserver.disconnect();
  const n = done - d0;
  const cpu = mainThreadCpuUs() - c0;
  const el = performance.now() - t0;
  stop = true;
  await Promise.all(loops);
  const leases = ex.stats().services['s']?.inputLeases?.['x'];
  const bell = ex.stats().devices?.['d0']?.inputSlabs;
  const bellCounts = bell === undefined ? {} : { rungRuns: bell.rungRuns, workerParks: bell.workerParks, ringWakes: bell.ringWakes };
  await ex.close();
  console.log(
    JSON.stringify({ kind, input: inputPath, batch, reqPerSec: Math.round((n * 1000) / el), heapBytesPerRequest: Math.round(heap / n), gcPerKRequests: +((1000 * gcCount) / n).toFixed(2), hostCpuUsPerRequest: +(cpu / n).toFixed(2), leases, ...bellCounts }),
  );
}

async function sequential(): Promise<void> {
  const ex = createExecutor({
    ...(kind === 'fake' ? { backend: { kind: 'fake' as const } } : {}),
    devices: [{ id: 'd0', threads: 1, ...slabOption }],
    services: [{ id: 's', model: model(), sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 1000 }, plan: { batchSize: 1 }, sampleInputs: input(), maxBatch: 1, devices: ['d0'] }],
  });
  await ex.start();
  let runMs = 0;
  ex.on('batchCompleted', (e) => (runMs = e.runMs));
  const over: number[] = [];
  const gcs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcKinds[(e as unknown as { detail: { kind: number } }).detail.kind] = (gcKinds[(e as unknown as { detail: { kind: number } }).detail.kind] ?? 0) + 1;
  });
  const gcKinds: Record<number, number> = {};
  gcs.observe({ entryTypes: ['gc'] });
  const N = Number(process.env['HOSTPATH_SEQ_N'] ?? 4000);
  // Warm the path first (a tenth of the requests), then measure (and sample, with HOSTPATH_SAMPLE) the rest.
  for (let i = 0; i < N / 10; i++) await ex.submit('s', input(ex));
  const sampling = await startSampling();
  const meter = startAllocMeter();
  const c0 = mainThreadCpuUs();
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    await ex.submit('s', input(ex));
    over.push((performance.now() - t0 - runMs) * 1000);
  }
  const heap = meter();
  await sampling('seq');
  const cpu = mainThreadCpuUs() - c0;
  gcs.disconnect();
  const rung = ex.stats().devices?.['d0'];
  await ex.close();
  over.sort((a, b) => a - b);
  console.log(
    JSON.stringify({ kind, sequentialOverheadUsP50: Math.round(over[over.length >> 1]!), p99: Math.round(over[Math.floor(over.length * 0.99)]!), heapBytesPerRequest: Math.round(heap / N), hostCpuUsPerRequest: +(cpu / N).toFixed(2), gcByKind: gcKinds, slabs: rung?.inputSlabs }),
  );
}

/** With HOSTPATH_SAMPLE=dir: V8's allocation sampling over the window, collected objects included. */
async function startSampling(): Promise<(name: string) => Promise<void>> {
  const dir = process.env['HOSTPATH_SAMPLE'];
  if (!dir) return async () => undefined;
  const { writeFileSync } = await import('node:fs');
  const { session: s, post } = inspectorSession();
  await post('HeapProfiler.enable');
  await post('HeapProfiler.startSampling', { samplingInterval: Number(process.env["HOSTPATH_SAMPLE_BYTES"] ?? 256), includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  return async (name) => {
    const { profile } = await post('HeapProfiler.stopSampling');
    writeFileSync(`${dir}/${name}.heapprofile`, JSON.stringify(profile));
    s.disconnect();
  };
}

const what = process.argv[4] ?? 'all';
const batches = (process.env['HOSTPATH_BATCHES'] ?? '1,8').split(',').map(Number);
if (what === 'all' || what === 'sat') for (const b of batches) await saturate(b);
if (what === 'all' || what === 'seq') await sequential();
