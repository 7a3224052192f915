import { createHook } from 'node:async_hooks';
import { describe, expect, it } from 'vitest';
import { createExecutor } from '@epara/runtime';
import { doubler, flat, item, values } from './helpers.js';

// What the host thread allocates per request, counted rather than timed: the promises created between
// `submit` and its result (every async step, `then` and pending call costs one or more, with their closures).
// Sequential requests on an idle device in a worker thread, the fake backend computing `2x + 1` at once.

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
  it('creates a bounded number of promises per request, the caller’s own included', async () => {
    const ex = createExecutor({
      backend: { kind: 'fake' },
      devices: [{ id: 'd0' }],
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
      // own chain).
      expect(promises / n).toBeLessThan(3); // the test runner adds a few of its own now and then
    } finally {
      await ex.close();
    }
  });
});
