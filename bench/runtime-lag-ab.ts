/**
 * An A/B of two builds of the runtime on `bench:runtime` section 2's load (not part of the bench): the classifier
 * at twice the raw peak, deadlines 15/50 ms, Poisson arrivals, inputs written into leases. Both builds' executors
 * run in this process, in alternating order, each round on the same seeded arrivals, so the machine's load weighs
 * on both alike; per round it reads each arm's event-loop lag p99, the host thread's CPU and the V8 heap bytes per
 * submitted request, GC pauses and goodput, and prints the per-round ratios (this build over the other) and their
 * medians.
 *
 *   pnpm build && LAG_AB_BASE=/path/to/other/packages/runtime/dist/index.js \
 *     npx tsx --tsconfig bench/tsconfig.dist.json bench/runtime-lag-ab.ts [rounds] [ms]
 */
import './lib/no-source-maps.js';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import type { LatencyProfile, TensorLike } from '@epara/core';
import * as own from '@epara/runtime';
import { models, seededFloats } from '../test/fixtures/models.js';
import { classifierRawProfile } from './lib/runtime-deps.js';
import { poissonLoad, replay } from './lib/runtime-load.js';
import { startAllocMeter } from './lib/alloc-meter.js';

const rounds = Number(process.argv[2] ?? 6);
const loadMs = Number(process.argv[3] ?? 2500);
const basePath = process.env['LAG_AB_BASE'];
if (basePath === undefined) throw new Error('LAG_AB_BASE: the other build’s packages/runtime/dist/index.js');
const base = (await import(pathToFileURL(basePath).href)) as typeof own;
const ITEM = [1, 3, 48, 192] as const;
const ITEM_LEN = 3 * 48 * 192;
const POOL = Array.from({ length: 32 }, (_, i) => seededFloats(ITEM_LEN, i + 1));

function hostCpuNs(): number {
  return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]);
}

interface Arm {
  readonly lagP99Ms: number;
  readonly cpuUsPerSubmit: number;
  readonly heapBytesPerSubmit: number;
  readonly gcCount: number;
  readonly gcMs: number;
  readonly goodputPerSec: number;
}

async function arm(lib: typeof own, profile: LatencyProfile, ratePerSec: number, seed: number): Promise<Arm> {
  const ex = lib.createExecutor({
    devices: [{ id: 'cpu0', threads: 1 }],
    services: [{ id: 'cls', model: models.ocrCls, sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 15 }, profile, devices: ['cpu0'] }],
  });
  await ex.start();
  await ex.submit('cls', { x: { type: 'float32', dims: [...ITEM], data: POOL[0]!.slice() } }, { deadline: Date.now() + 1000 }).catch(() => undefined);
  const leased = (i: number): TensorLike => {
    const lease = ex.allocateInput<Float32Array>('cls', 'x', ITEM);
    lease.data.set(POOL[i % POOL.length]!);
    return lease;
  };
  const arrivals = poissonLoad({ ratePerSec, durationMs: loadMs, slosMs: [15, 50], inputs: POOL.length, seed });
  let gcCount = 0;
  let gcMs = 0;
  const obs = new PerformanceObserver((l) => {
    for (const e of l.getEntries()) {
      gcCount++;
      gcMs += e.duration;
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  const lag = monitorEventLoopDelay({ resolution: 1 });
  lag.enable();
  const cpu0 = hostCpuNs();
  const meter = startAllocMeter();
  const r = await replay(arrivals, (a, deadline) => ex.submit('cls', { x: leased(a.input) }, { deadline }));
  const heap = meter();
  const cpu1 = hostCpuNs();
  lag.disable();
  for (const e of obs.takeRecords()) {
    gcCount++;
    gcMs += e.duration;
  }
  obs.disconnect();
  await ex.close();
  return { lagP99Ms: lag.percentile(99) / 1e6, cpuUsPerSubmit: (cpu1 - cpu0) / 1000 / arrivals.length, heapBytesPerSubmit: heap / arrivals.length, gcCount, gcMs, goodputPerSec: r.goodputPerSec };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const { profile, best } = await classifierRawProfile();
console.log(`raw best ${best.toFixed(0)} items/s; load ${loadavg()[0]!.toFixed(1)}; this build against ${basePath}`);
const ratios = { lag: [] as number[], cpu: [] as number[], heap: [] as number[], goodput: [] as number[] };
const describe = (a: Arm): string =>
  `lag p99 ${a.lagP99Ms.toFixed(2)} ms, ${a.cpuUsPerSubmit.toFixed(1)} µs CPU and ${a.heapBytesPerSubmit.toFixed(0)} heap bytes per submitted request, ${a.gcCount} GC pauses (${a.gcMs.toFixed(1)} ms), goodput ${a.goodputPerSec.toFixed(0)}/s`;
for (let r = 0; r < rounds; r++) {
  const ownFirst = r % 2 === 0;
  const first = await arm(ownFirst ? own : base, profile, 2 * best, 7 + r);
  const second = await arm(ownFirst ? base : own, profile, 2 * best, 7 + r);
  const [a, b] = ownFirst ? [first, second] : [second, first];
  ratios.lag.push(a.lagP99Ms / b.lagP99Ms);
  ratios.cpu.push(a.cpuUsPerSubmit / b.cpuUsPerSubmit);
  ratios.heap.push(a.heapBytesPerSubmit / b.heapBytesPerSubmit);
  if (a.goodputPerSec > 0 && b.goodputPerSec > 0) ratios.goodput.push(a.goodputPerSec / b.goodputPerSec);
  console.log(`round ${r + 1} (${ownFirst ? 'this build' : 'the other'} first, load ${loadavg()[0]!.toFixed(1)}):\n  this build: ${describe(a)}\n  the other:  ${describe(b)}`);
}
const m = (xs: number[]): string => (xs.length === 0 ? 'none' : `${median(xs).toFixed(2)} (${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)})`);
console.log(`this build / the other, per round, median (range): lag p99 ${m(ratios.lag)}, host CPU per submit ${m(ratios.cpu)}, heap per submit ${m(ratios.heap)}, goodput ${m(ratios.goodput)}`);
