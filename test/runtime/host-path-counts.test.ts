import { createHook } from 'node:async_hooks';
import * as v8 from 'node:v8';
import { describe, expect, it } from 'vitest';
import { createExecutor } from '@epara/runtime';
import { doubler, flat, item, values } from './helpers.js';

// What the host thread allocates per request, counted rather than timed: the promises created between
// `submit` and its result (every async step, `then` and pending call costs one or more, with their closures).
// Sequential requests on an idle device in a worker thread, the fake backend computing `2x + 1` at once.

/**
 * V8 heap bytes allocated on this thread while `fn` runs: the growth of the used heap plus what every collection in
 * between freed (as `bench/lib/alloc-meter.ts` counts them). Tensor data lives outside the heap and is not counted.
 */
async function heapBytesDuring(fn: () => Promise<void>): Promise<number> {
  const profiler = new v8.GCProfiler();
  const before = v8.getHeapStatistics().used_heap_size;
  profiler.start();
  let statistics: v8.GCProfilerResult['statistics'] = [];
  try {
    await fn();
  } finally {
    statistics = profiler.stop()?.statistics ?? [];
  }
  let freed = 0;
  for (const gc of statistics) freed += Math.max(0, gc.beforeGC.heapStatistics.usedHeapSize - gc.afterGC.heapStatistics.usedHeapSize);
  return v8.getHeapStatistics().used_heap_size - before + freed;
}

/** Promises created on this thread while `fn` runs. */
async function promisesDuring(fn: () => Promise<void>): Promise<number> {
  let n = 0;
  const hook = createHook({
    init(_id, type) {
      if (type === 'PROMISE') n++;
    },
  });
  hook.enable();
  try {
    await fn();
  } finally {
    hook.disable();
  }
  return n;
}

describe('host path per request', () => {
  it.each([
    ['by message', 0, 4],
    ['through the doorbell', undefined, 6],
  ] as const)('creates a bounded number of promises per request, the caller’s own included (%s)', async (_path, doorbellSlotBytes, bound) => {
    const ex = createExecutor({
      backend: { kind: 'fake' },
      devices: [{ id: 'd0', ...(doorbellSlotBytes === undefined ? {} : { doorbellSlotBytes }) }],
      services: [{ id: 's', model: doubler(), sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 10_000 }, profile: flat(1), plan: { batchSize: 1 }, maxBatch: 1, devices: ['d0'] }],
    });
    await ex.start();
    try {
      for (let i = 0; i < 20; i++) await ex.submit('s', item(i)); // warm: worker started, slabs allocated
      const n = 100;
      let last = 0;
      const promises = await promisesDuring(async () => {
        for (let i = 0; i < n; i++) last = values(await ex.submit('s', item(i)))[0]!;
      });
      expect(last).toBe(2 * 99 + 1);
      // The request's own promise and the caller's await: 2 here (4 when the device call was a promise with a
      // `then`; 6 when the run on the host was an async function and the scheduler chained a `then` onto it; 12
      // when every layer between the scheduler and the device was an async function and a device call built its
      // own chain). Through the doorbell, the wait on the worker's counter is a promise (`Atomics.waitAsync`) and
      // its reaction another: 4, where the message path has a `MessageEvent` instead (more heap bytes, below). And
      // the scheduler's follow-up at each batch end is a reaction to a settled promise, one derived promise per
      // batch: 96 heap bytes where Node's `queueMicrotask` took 250 (its `AsyncResource` and bound callback), so 3.
      // A bound on promises stands for one on allocations: a promise chain or an async function per request trips it.
      expect(promises / n).toBeLessThan(bound); // the test runner adds a few of its own now and then
      // A service of maxBatch 1 runs each request whole; one of size 1 still has outputs of known size, so it rings in.
      const rung = ex.stats().devices['d0']!.inputSlabs!.rungRuns;
      if (doorbellSlotBytes === undefined) expect(rung).toBeGreaterThanOrEqual(n);
      else expect(rung).toBe(0);
    } finally {
      await ex.close();
    }
  });

  it('queues no callback with queueMicrotask per request through the doorbell (each costs an AsyncResource and a bound function)', async () => {
    const ex = createExecutor({
      backend: { kind: 'fake' },
      devices: [{ id: 'd0' }],
      services: [{ id: 's', model: doubler(), sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 10_000 }, profile: flat(1), plan: { batchSize: 1 }, maxBatch: 1, devices: ['d0'] }],
    });
    await ex.start();
    try {
      for (let i = 0; i < 20; i++) await ex.submit('s', item(i));
      // The worker answers the fake model at once: the host often finds the answer there when it comes to wait
      // for it (a wake-up that took it off its core meanwhile), and reads it in a later microtask.
      let queued = 0;
      const hook = createHook({
        init(_id, type) {
          if (type === 'Microtask') queued++;
        },
      });
      const n = 300;
      hook.enable();
      try {
        for (let i = 0; i < n; i++) await ex.submit('s', item(i));
      } finally {
        hook.disable();
      }
      expect(ex.stats().devices['d0']!.inputSlabs!.rungRuns).toBeGreaterThanOrEqual(n);
      expect(queued).toBe(0);
    } finally {
      await ex.close();
    }
  });

  it('allocates a bounded number of heap bytes per request at saturation, batches of 8', async () => {
    const ex = createExecutor({
      backend: { kind: 'fake' },
      devices: [{ id: 'd0' }],
      services: [{ id: 's', model: doubler(), sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 60_000 }, profile: flat(1), plan: { batchSize: 8 }, maxBatch: 8, devices: ['d0'] }],
    });
    await ex.start();
    try {
      const inputs = Array.from({ length: 64 }, (_, i) => item(i));
      // A closed loop of 24 callers, as bench/runtime-hostpath.ts drives it: each submits its next request when
      // its last one is answered, so the device runs batches of 8 back to back.
      const serve = async (requests: number): Promise<void> => {
        let left = requests;
        const caller = async (k: number): Promise<void> => {
          while (left-- > 0) await ex.submit('s', inputs[k]!);
        };
        await Promise.all(Array.from({ length: 24 }, (_, k) => caller(k)));
      };
      await serve(4000); // warm: the worker, the slabs, optimized code
      const n = 8000;
      const bytes = await heapBytesDuring(() => serve(n));
      // 1.63-1.68 KB per request here in three runs at load average 15-20, and 1.62 and 1.88 KB at load average
      // 40 since a batch end stopped making a third planning pass (bytes, which a loaded machine moves little; the
      // callers' own awaits included): the bound is a regression guard with room for the runner's allocations and
      // slower tiering, not a target. A per-request closure would not trip it; a per-request message (about 1.1 KB
      // of Node's messaging alone), structured clone, timer or promise chain would.
      expect(bytes / n).toBeLessThan(3_000);
      expect(ex.stats().services['s']!.completed).toBeGreaterThanOrEqual(n);
    } finally {
      await ex.close();
    }
  });
});
