import { afterEach, describe, expect, it } from 'vitest';
import { createManualClock } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import { createExecutor, type Executor } from '@epara/runtime';
import { codeOf, nextEvent } from '../runtime/helpers.js';
import { addService, CRASH, faultyWorkerUrl, first, HANG, item } from './helpers.js';

/** How long past its deadline a request whose batch the device never answers is given up on (docs/runtime.md). */
const OVERDUE_GRACE_MS = 10_000;

// A device worker that dies or hangs in the middle of onnxruntime-node batches, on real worker threads.
describe('a device worker that dies or hangs mid-batch (onnxruntime-node)', () => {
  let ex: Executor | undefined;
  afterEach(async () => {
    await ex?.close();
    ex = undefined;
  });

  it('fails the requests in flight with WORKER_CRASHED, serves the ones queued behind on the restarted worker, then later ones', async () => {
    ex = createExecutor({
      devices: [{ id: 'cpu0', workerUrl: faultyWorkerUrl, doorbellSlotBytes: 0 }],
      services: [addService({ maxBatch: 2, plan: { batchSize: 2 } })],
    });
    await ex.start();
    const restarted = nextEvent<{ reloadedModels: number }>(ex, 'workerRestarted');
    // Batches of two: the crash takes its pair down; whatever was queued behind runs on the new worker.
    const values = [1, CRASH, 2, 3, 4, 5, 6, 7]; // whole pairs: no batch waits to fill
    const settled = await Promise.all(values.map((v) => ex!.submit('add', item(v)).then(first, (err: { code?: string }) => err.code)));
    expect((await restarted).reloadedModels).toBe(1);
    const crashedAt = values.indexOf(CRASH);
    expect(settled[crashedAt]).toBe('WORKER_CRASHED');
    for (const [i, v] of values.entries()) {
      // Every request settles: with its own answer (never another request's), or typed.
      if (typeof settled[i] === 'number') expect(settled[i]).toBe(v + 1);
      else expect(settled[i]).toBe('WORKER_CRASHED');
    }
    // At most the batches in the worker (the one running and the one sent ahead of it): the rest were queued here.
    expect(settled.filter((s) => s === 'WORKER_CRASHED').length).toBeLessThanOrEqual(4);
    expect(settled.slice(4)).toEqual([5, 6, 7, 8]);
    expect((await Promise.all([ex.submit('add', item(8)), ex.submit('add', item(9))])).map(first)).toEqual([9, 10]);
    expect(ex.stats().devices['cpu0']!.restarts).toBe(1);
  }, 120_000);

  it('a worker stuck in a run: requests queued behind it settle at their deadlines, close() fails the stuck one CLOSED and ends', async () => {
    ex = createExecutor({
      devices: [{ id: 'cpu0', workerUrl: faultyWorkerUrl, doorbellSlotBytes: 0, closeWaitMs: 500 }],
      services: [addService({ maxBatch: 1 })],
    });
    await ex.start();
    const dispatched = nextEvent(ex, 'batchDispatched');
    const stuck = codeOf(ex.submit('add', item(HANG)));
    await dispatched; // the worker is inside the stuck run now
    const behind = [1, 2, 3].map((v) => codeOf(ex!.submit('add', item(v), { deadline: Date.now() + 200 })));
    // The first is sent ahead to the worker (a device holds two batches); the others wait here and expire.
    expect(await Promise.all(behind.slice(1))).toEqual(['DEADLINE_EXCEEDED', 'DEADLINE_EXCEEDED']);
    // A second close while the first waits for the stuck run: both end, after closeWaitMs.
    await Promise.all([ex.close(), ex.close()]);
    expect(await stuck).toBe('CLOSED');
    expect(await behind[0]).toBe('CLOSED'); // in the worker, behind the run that never ends
    expect(await codeOf(ex.submit('add', item(1)))).toBe('CLOSED');
  }, 60_000);

  it('a worker stuck in a run: the stuck request itself settles DEADLINE_EXCEEDED once OVERDUE_GRACE_MS past its deadline, without close()', async () => {
    const clock = createManualClock(1_000_000);
    const timers = createManualTimers(clock);
    ex = createExecutor({
      clock,
      timers,
      devices: [{ id: 'cpu0', workerUrl: faultyWorkerUrl, doorbellSlotBytes: 0, closeWaitMs: 500 }],
      services: [addService({ maxBatch: 1 })],
    });
    await ex.start();
    const dispatched = nextEvent(ex, 'batchDispatched');
    const stuck = ex.submit('add', item(HANG), { deadline: clock.now() + 100 });
    const outcome = stuck.then(
      () => 'answered',
      (err: { code?: string; details?: Record<string, unknown> }) => err,
    );
    await dispatched; // the worker is inside the stuck run now
    timers.advance(100 + OVERDUE_GRACE_MS - 1);
    await new Promise((r) => setImmediate(r));
    let settled = false;
    void outcome.then(() => (settled = true));
    await new Promise((r) => setImmediate(r));
    expect(settled).toBe(false); // not before its give-up time
    timers.advance(1);
    const err = await outcome;
    expect(err).toMatchObject({ code: 'DEADLINE_EXCEEDED', details: { serviceId: 'add', deviceId: 'cpu0' } });
  }, 60_000);
});
