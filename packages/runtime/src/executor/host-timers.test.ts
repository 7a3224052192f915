import { createHook } from 'node:async_hooks';
import { describe, expect, it } from 'vitest';
import { sequentialExecutor, sequentialItem as item } from './sequential-fixture.js';

// Platform timers the host thread creates per request, counted (never timed): a sequential request empties the
// device between batches, and each batch is still watched for a device that never answers it — by the device
// scheduler's own wake-up, not by a timer of its own (one per batch before).

/** Async resources of `type` created on this thread while `fn` runs. */
async function created(type: string, fn: () => Promise<void>): Promise<number> {
  let n = 0;
  const hook = createHook({
    init(_id, t) {
      if (t === type) n++;
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

describe('host timers per request', () => {
  it.each([
    ['by message', 0],
    ['through the doorbell', undefined],
  ] as const)('a sequential request arms no platform timer (%s)', async (_path, doorbellSlotBytes) => {
    const ex = sequentialExecutor(doorbellSlotBytes);
    await ex.start();
    try {
      for (let i = 0; i < 20; i++) await ex.submit('s', item(i)); // warm: the give-up wake-up is armed by now
      const n = 100;
      const outputs: number[] = [];
      const timers = await created('Timeout', async () => {
        for (let i = 0; i < n; i++) outputs.push((await ex.submit('s', item(i))).y!.data[0] as number);
      });
      expect(outputs).toEqual(Array.from({ length: n }, (_, i) => 2 * i + 1));
      // One batch per request, each watched: the wake-up armed for the first batch's give-up moment still serves
      // (a minute away). At most one, should that wake-up have come due meanwhile on a very slow machine.
      expect(timers).toBeLessThanOrEqual(1);
    } finally {
      await ex.close();
    }
  });
});
