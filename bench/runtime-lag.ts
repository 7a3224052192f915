/**
 * A probe of the host's event-loop lag (not part of `pnpm bench:runtime`): `bench:runtime` section 2's
 * saturating load alone (the classifier at twice the raw peak, deadlines 15/50 ms, Poisson arrivals), with the
 * lag decomposed. A 1 ms ticker on the host thread records every stall (a tick more than `STALL_MS` late) with
 * the host thread's own CPU time and run-queue wait inside it (`/proc/self/task/<pid>/schedstat`) and the GC
 * pauses overlapping it, so each stall is attributed to the thread's own work, the collector, or the scheduler
 * running something else. It also prints where the whole process's CPU went, thread by thread.
 *
 *   pnpm build && npx tsx --tsconfig bench/tsconfig.dist.json bench/runtime-lag.ts [copy|shared] [devices] [threads] [rounds]
 *
 * `copy` (the default) makes each request's 110 KB input a fresh copy, as section 2's load generator does;
 * `shared` passes the pool's buffers (the executor copies them into its slab either way). `devices` 1-thread
 * (or `threads`-thread) devices serve the service together.
 */
import './lib/no-source-maps.js';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { monitorEventLoopDelay, PerformanceObserver, performance } from 'node:perf_hooks';
import type { TensorLike } from '@epara/core';
import { createExecutor, type Executor } from '@epara/runtime';
import { models, seededFloats } from '../test/fixtures/models.js';
import { classifierRawProfile } from './lib/runtime-deps.js';
import { poissonLoad, replay } from './lib/runtime-load.js';
import { startAllocMeter } from './lib/alloc-meter.js';
import { describeThreads, startThreadWatch } from './lib/thread-watch.js';
import { inspectorSession } from './lib/inspector.js';

const mode = process.argv[2] === 'shared' || process.argv[2] === 'lease' ? process.argv[2] : 'copy';
const deviceCount = Number(process.argv[3] ?? 1);
const threads = Number(process.argv[4] ?? 1);
const rounds = Number(process.argv[5] ?? 2);
const STALL_MS = 5;
const ITEM = [1, 3, 48, 192] as const;
const ITEM_LEN = 3 * 48 * 192;
const POOL = Array.from({ length: 32 }, (_, i) => seededFloats(ITEM_LEN, i + 1));
const input = (i: number): TensorLike => ({ type: 'float32', dims: [...ITEM], data: mode === 'copy' ? POOL[i % POOL.length]!.slice() : POOL[i % POOL.length]! });
/** Section 2's client: each input written into a lease of the service (`lease` mode). */
const leased = (ex: Executor, i: number): TensorLike => {
  const lease = ex.allocateInput<Float32Array>('cls', 'x', ITEM);
  lease.data.set(POOL[i % POOL.length]!);
  return lease;
};

function hostSchedNs(): [number, number] {
  const [cpu, wait] = readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ');
  return [Number(cpu), Number(wait)];
}

interface Stall {
  readonly at: number;
  readonly ms: number;
  readonly cpuMs: number;
  readonly waitMs: number;
}

/** A 1 ms ticker recording ticks more than STALL_MS late, with the host thread's schedstat across each. */
function startStallWatch(): () => Stall[] {
  const stalls: Stall[] = [];
  let last = performance.now();
  let [lastCpu, lastWait] = hostSchedNs();
  let timer: NodeJS.Timeout | undefined;
  const tick = (): void => {
    const now = performance.now();
    const [cpu, wait] = hostSchedNs();
    if (now - last > 1 + STALL_MS) stalls.push({ at: last, ms: now - last, cpuMs: (cpu - lastCpu) / 1e6, waitMs: (wait - lastWait) / 1e6 });
    [last, lastCpu, lastWait] = [now, cpu, wait];
    timer = setTimeout(tick, 1);
  };
  timer = setTimeout(tick, 1);
  return () => {
    clearTimeout(timer);
    return stalls;
  };
}

/** With LAG_CPUPROF=dir: a CPU profile of the host thread over each round's load alone. */
async function startProfile(): Promise<(name: string) => Promise<void>> {
  const dir = process.env['LAG_CPUPROF'];
  if (!dir) return async () => undefined;
  const { writeFileSync } = await import('node:fs');
  const { session: s, post } = inspectorSession();
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 200 });
  await post('Profiler.start');
  return async (name) => {
    const { profile } = await post('Profiler.stop');
    writeFileSync(`${dir}/${name}.cpuprofile`, JSON.stringify(profile));
    s.disconnect();
  };
}

const { profile, best } = await classifierRawProfile();
console.log(`raw best ${best.toFixed(0)} items/s; profile ${profile.points.map((p) => `${p.batch}: ${p.ms.toFixed(1)}`).join(', ')}; load ${loadavg()[0]!.toFixed(1)}`);
const ids = Array.from({ length: deviceCount }, (_, i) => `cpu${i}`);
for (let round = 0; round < rounds; round++) {
  const ex = createExecutor({
    devices: ids.map((id) => ({ id, threads })),
    services: [{ id: 'cls', model: models.ocrCls, sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 15 }, profile, devices: ids }],
  });
  await ex.start();
  await ex.submit('cls', { x: input(0) }, { deadline: Date.now() + 1000 }).catch(() => undefined);
  const arrivals = poissonLoad({ ratePerSec: 2 * best * deviceCount, durationMs: 2500, slosMs: [15, 50], inputs: POOL.length, seed: 7 + round });
  const gcs: { start: number; ms: number }[] = [];
  const obs = new PerformanceObserver((l) => {
    for (const e of l.getEntries()) gcs.push({ start: e.startTime, ms: e.duration });
  });
  obs.observe({ entryTypes: ['gc'] });
  const lag = monitorEventLoopDelay({ resolution: 1 });
  lag.enable();
  const elu0 = performance.eventLoopUtilization();
  const threadsWatch = startThreadWatch();
  const stallWatch = startStallWatch();
  const meter = startAllocMeter();
  const load0 = loadavg()[0]!;
  const stopProfile = await startProfile();
  const result = await replay(arrivals, (a, deadline) => ex.submit('cls', { x: mode === 'lease' ? leased(ex, a.input) : input(a.input) }, { deadline }));
  const heap = meter();
  await stopProfile(`${mode}-${deviceCount}x${threads}-r${round + 1}`);
  const stalls = stallWatch();
  const t = threadsWatch();
  const elu = performance.eventLoopUtilization(elu0);
  lag.disable();
  for (const e of obs.takeRecords()) gcs.push({ start: e.startTime, ms: e.duration });
  obs.disconnect();
  const served = result.good + result.late;
  const gcMs = gcs.reduce((s, g) => s + g.ms, 0);
  console.log(
    `round ${round + 1} (${mode}, ${deviceCount}×${threads} threads, load ${load0.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}): offered ${arrivals.length}, good ${result.good}, late ${result.late}, rejected ${result.rejected}; lag p50 ${(lag.percentile(50) / 1e6).toFixed(2)} p99 ${(lag.percentile(99) / 1e6).toFixed(2)} max ${(lag.max / 1e6).toFixed(1)} ms`,
  );
  console.log(`  host thread: event loop ${(100 * elu.utilization).toFixed(0)}% busy; ${((t?.main.cpuMs ?? NaN) * 1000 / arrivals.length).toFixed(1)} µs CPU per submitted request, ${((t?.main.cpuMs ?? NaN) * 1000 / Math.max(1, served)).toFixed(1)} per served; heap ${(heap / arrivals.length).toFixed(0)} B per submitted request`);
  console.log(`  GC: ${gcs.length} pauses (${((1000 * gcs.length) / arrivals.length).toFixed(1)} per 1000 requests), total ${gcMs.toFixed(1)} ms, longest ${Math.max(0, ...gcs.map((g) => g.ms)).toFixed(1)} ms`);
  console.log(`  ${describeThreads(t)}`);
  // Each stall: how much of it the host thread ran, waited for a CPU, or spent in a GC pause.
  let [sMs, sCpu, sWait, sGc] = [0, 0, 0, 0];
  for (const s of stalls) {
    sMs += s.ms;
    sCpu += s.cpuMs;
    sWait += s.waitMs;
    for (const g of gcs) sGc += Math.max(0, Math.min(s.at + s.ms, g.start + g.ms) - Math.max(s.at, g.start));
  }
  console.log(
    `  stalls > ${STALL_MS} ms: ${stalls.length}, ${sMs.toFixed(0)} ms in all — host thread on CPU ${sCpu.toFixed(0)} ms (GC pauses ${sGc.toFixed(0)} ms of it), waiting for a CPU ${sWait.toFixed(0)} ms, neither (sleeping) ${(sMs - sCpu - sWait).toFixed(0)} ms`,
  );
  // Stalls the host thread's own CPU time alone makes longer than STALL_MS: what remains on an idle machine.
  const own = stalls.filter((s) => s.cpuMs > STALL_MS);
  const ownGc = own.filter((s) => gcs.some((g) => g.start < s.at + s.ms && g.start + g.ms > s.at && g.ms > 1));
  console.log(`  stalls with more than ${STALL_MS} ms of the host thread's own CPU: ${own.length} (${ownGc.length} of them overlapping a GC pause over 1 ms), own CPU ${own.map((s) => s.cpuMs.toFixed(1)).join(', ')}`);
  const worst = [...stalls].sort((a, b) => b.ms - a.ms).slice(0, 5);
  console.log(`  longest: ${worst.map((s) => `${s.ms.toFixed(1)} ms (cpu ${s.cpuMs.toFixed(1)}, wait ${s.waitMs.toFixed(1)})`).join(', ')}`);
  await ex.close();
}
