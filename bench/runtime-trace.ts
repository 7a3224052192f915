/**
 * A trace of what the executor's host thread does per request under section 2's load shape (not part of
 * `pnpm bench:runtime`): seeded Poisson arrivals at twice the device's capacity, deadlines 15/50 ms, each input
 * written into a lease, on the fake backend with a model that sleeps `2 + 0.5·b` ms (section 2b's), so that the
 * worker takes no CPU and what is counted is the host's. It prints counts rather than times — a loaded machine
 * moves them little:
 *
 * - what became of the offered requests (served, refused at admission, dropped in the queue) and the batch-size
 *   distribution of the runs;
 * - runs per 1 000 offered and per 1 000 served requests; messages posted to and received from the worker per run;
 * - wall-clock reads per offered request (`Date.now` calls: the runtime's default clock reads it once per reading);
 * - V8 heap bytes allocated per offered and per served request, and GC pauses per 1 000 offered requests.
 *
 *   pnpm build && npx tsx --tsconfig bench/tsconfig.dist.json bench/runtime-trace.ts [rounds] [ratePerSec]
 *
 * - where the requests that did not run went: refused at admission or dropped from the queue, by code, with the
 *   slack they had left (deadline − the clock at the refusal); and the batch sizes of the batches sent to an idle
 *   device against those sent ahead, behind a running one (`plannedStart > at`).
 *
 * `TRACE_PLAN=b` fixes the plan's batch size (default: the executor's, from the profile); `TRACE_MODEL=cls` swaps
 * the model's timing for a flat one like the PP-OCR classifier's (`0.3 + 0.66·b` ms, about 1.5 items/ms).
 *
 * `TRACE_SURVIVORS=dir` writes, per round, V8's allocation sampling of the objects that outlived the young
 * generation (those still live at the end, and those a mark-compact collected — not what scavenges freed): what
 * grows the old generation and so drives the full collections whose pauses reach the event-loop lag's p99.
 *
 * Any build with the same public API can be traced by pointing a tsconfig's paths at its `dist/` folders.
 */
import { loadavg } from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { affineProfile } from '@epara/core';
import { createExecutor, fakeModelBytes } from '@epara/runtime';
import { startAllocMeter } from './lib/alloc-meter.js';
import { inspectorSession } from './lib/inspector.js';
import { poissonLoad, replay } from './lib/runtime-load.js';

const rounds = Number(process.argv[2] ?? 2);
const ratePerSec = Number(process.argv[3] ?? 3400);
const SLOS = [15, 50];
const ITEM = [1, 4];

// Counted on the host thread: messages to and from the device's worker, and wall-clock reads.
let posted = 0;
let received = 0;
let wallReads = 0;
const post = Worker.prototype.postMessage;
Worker.prototype.postMessage = function (this: Worker, ...args: Parameters<Worker['postMessage']>) {
  posted++;
  return post.apply(this, args);
};
const emit = Worker.prototype.emit;
Worker.prototype.emit = function (this: Worker, event: string | symbol, ...args: unknown[]) {
  if (event === 'message') received++;
  return emit.call(this, event, ...args);
} as Worker['emit'];
const dateNow = Date.now;
Date.now = () => {
  wallReads++;
  return dateNow();
};

async function round(seed: number): Promise<Record<string, unknown>> {
  const timing = process.env['TRACE_MODEL'] === 'cls' ? { fixedMs: 0.3, perItemMs: 0.66 } : { fixedMs: 2, perItemMs: 0.5 };
  const profiled = process.env['TRACE_MODEL'] === 'cls' ? timing : { fixedMs: 2.3, perItemMs: 0.5 };
  const model = fakeModelBytes({ inputs: [{ name: 'x', type: 'float32', dims: ['batch', 4] }], outputs: [{ name: 'y', from: 'x' }], ...timing });
  const plan = process.env['TRACE_PLAN'] === undefined ? {} : { plan: { batchSize: Number(process.env['TRACE_PLAN']) } };
  const ex = createExecutor({
    backend: { kind: 'fake' },
    devices: [{ id: 'fake0', ...(process.env['TRACE_DOORBELL'] === undefined ? {} : { doorbellSlotBytes: Number(process.env['TRACE_DOORBELL']) }) }],
    services: [{ id: 's', model, sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: Math.min(...SLOS) }, profile: affineProfile('cpu-1t', { ...profiled, maxBatch: 32 }), ...plan, devices: ['fake0'] }],
  });
  await ex.start();
  // Warm: the first batches teach the learned margins and corrections.
  const warm = poissonLoad({ ratePerSec, durationMs: 500, slosMs: SLOS, inputs: 1, seed: seed + 1000 });
  const submit = (deadline: number): Promise<unknown> => {
    const lease = ex.allocateInput<Float32Array>('s', 'x', ITEM);
    lease.data.fill(1);
    return ex.submit('s', { x: lease }, { deadline });
  };
  await replay(warm, (_a, deadline) => submit(deadline));
  const sizes = new Map<number, number>();
  const onBatch = (e: { size: number; ok: boolean }): void => {
    if (e.ok) sizes.set(e.size, (sizes.get(e.size) ?? 0) + 1);
  };
  ex.on('batchCompleted', onBatch);
  // Where the requests that did not run went, and the sizes of the batches sent to an idle device and sent ahead.
  // (Listeners allocate an event per drop and per batch: this round's bytes include them.)
  const dropped = new Map<string, number>();
  const onDrop = (e: { code: string; atAdmission?: boolean; deadline: number; at: number }): void => {
    const slack = e.deadline - e.at;
    const k = `${e.atAdmission ? 'admission' : 'queue'} ${e.code} slack ${slack < 0 ? '<0' : slack < 5 ? '0-5' : slack < 10 ? '5-10' : slack < 20 ? '10-20' : '20+'} ms`;
    dropped.set(k, (dropped.get(k) ?? 0) + 1);
  };
  const sent = { idle: new Map<number, number>(), ahead: new Map<number, number>() };
  const onDispatch = (e: { size: number; at: number; plannedStart: number }): void => {
    const m = e.plannedStart > e.at ? sent.ahead : sent.idle;
    m.set(e.size, (m.get(e.size) ?? 0) + 1);
  };
  ex.on('requestDropped', onDrop);
  ex.on('batchDispatched', onDispatch);
  const before = ex.stats().services['s']!;
  const arrivals = poissonLoad({ ratePerSec, durationMs: 2500, slosMs: SLOS, inputs: 1, seed });
  let gcs = 0;
  const gcObserver = new PerformanceObserver((list) => void (gcs += list.getEntries().length));
  gcObserver.observe({ entryTypes: ['gc'] });
  const [p0, r0, w0] = [posted, received, wallReads];
  const meter = startAllocMeter();
  const survivors = await sampleSurvivors();
  // TRACE_MARKS=1: marks the measured window in the output, for `--trace-gc-nvp` lines to be read inside it.
  if (process.env['TRACE_MARKS']) console.log('# window start');
  const result = await replay(arrivals, (_a, deadline) => submit(deadline));
  if (process.env['TRACE_MARKS']) console.log('# window end');
  await survivors(`trace-${seed}`);
  const heap = meter();
  gcs += gcObserver.takeRecords().length;
  gcObserver.disconnect();
  const [p1, r1, w1] = [posted, received, wallReads];
  ex.off('batchCompleted', onBatch);
  ex.off('requestDropped', onDrop);
  ex.off('batchDispatched', onDispatch);
  const plannedBatch = ex.instances()[0]?.batchSize;
  const after = ex.stats().services['s']!;
  await ex.close();
  const offered = arrivals.length;
  const runs = [...sizes.values()].reduce((a, b) => a + b, 0);
  const served = after.completed - before.completed;
  const refusedOrDropped = after.dropped - before.dropped;
  const histogram = [...sizes].sort((a, b) => a[0] - b[0]).map(([size, n]) => `${size}:${n}`).join(' ');
  return {
    seed,
    load: +loadavg()[0]!.toFixed(1),
    offered,
    served,
    good: result.good,
    refusedOrDropped,
    runs,
    meanBatch: +(served / Math.max(1, runs)).toFixed(2),
    runsPerKOffered: +((1000 * runs) / offered).toFixed(1),
    runsPerKServed: +((1000 * runs) / Math.max(1, served)).toFixed(1),
    postedPerRun: +((p1 - p0) / Math.max(1, runs)).toFixed(2),
    receivedPerRun: +((r1 - r0) / Math.max(1, runs)).toFixed(2),
    wallReadsPerOffered: +((w1 - w0) / offered).toFixed(2),
    heapBytesPerOffered: Math.round(heap / offered),
    heapBytesPerServed: Math.round(heap / Math.max(1, served)),
    gcPerKOffered: +((1000 * gcs) / offered).toFixed(2),
    batchSizes: histogram,
    plannedBatch,
    dropped: Object.fromEntries([...dropped].sort()),
    sentIdle: summary(sent.idle),
    sentAhead: summary(sent.ahead),
  };
}

/** A batch-size histogram as its count, mean and `size:n` pairs. */
function summary(m: Map<number, number>): string {
  let n = 0;
  let items = 0;
  for (const [size, k] of m) {
    n += k;
    items += size * k;
  }
  const pairs = [...m].sort((a, b) => a[0] - b[0]).map(([size, k]) => `${size}:${k}`).join(' ');
  return `${n} batches, mean ${(items / Math.max(1, n)).toFixed(1)}: ${pairs}`;
}

/** With TRACE_SURVIVORS=dir: sampling of what outlived the young generation (see above). */
async function sampleSurvivors(): Promise<(name: string) => Promise<void>> {
  const dir = process.env['TRACE_SURVIVORS'];
  if (!dir) return async () => undefined;
  const { writeFileSync } = await import('node:fs');
  const { session, post } = inspectorSession();
  await post('HeapProfiler.enable');
  await post('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: false });
  return async (name) => {
    await post('HeapProfiler.collectGarbage'); // what is still live at the end is counted as live, once
    const { profile } = await post('HeapProfiler.stopSampling');
    writeFileSync(`${dir}/${name}.heapprofile`, JSON.stringify(profile));
    session.disconnect();
  };
}

for (let r = 0; r < rounds; r++) console.log(JSON.stringify(await round(7 + r)));
