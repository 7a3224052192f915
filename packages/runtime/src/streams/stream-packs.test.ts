import { describe, expect, it } from 'vitest';
import { createManualClock } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import type { DeviceHandle } from '../devices/device-port.js';
import type { BatchDone } from '../batching/lane.js';
import type { WorkItem } from '../batching/work-item.js';
import { DeviceScheduler } from '../executor/device-scheduler.js';
import { fakeItem, fakeLane } from '../testing/fake-lane.js';
import { resolveStreamPackPricing } from '../executor/stream-pack-pricing.js';
import { resolveStreamPackForming } from './stream-pack-forming.js';

// One stream service's frames on one device, in virtual time: a multi-frame plan's pack of 1 (one light stream's
// plan), packs of up to 8 fresh, a pack of n running 4 + n ms. While a pack runs, frames of several streams arrive
// one by one; a dynamic batcher runs them together once the device frees (work conserving: as many as wait and
// fit the largest fresh pack), each run paying the device's per-run cost once.

const flush = async (): Promise<void> => {
  for (let i = 0; i < 6; i++) await Promise.resolve();
};

async function packsOf(o: { packsWhenFree?: boolean; arrivals?: number }): Promise<number[]> {
  const clock = createManualClock(0);
  const timers = createManualTimers(clock);
  const sizes: number[] = [];
  const ends: (() => void)[] = [];
  let sch!: DeviceScheduler;
  const { lane } = fakeLane({
    batchSize: 1,
    maxBatchSize: 8,
    runMs: (n) => 4 + n,
    deadlineBudgetMs: 100,
    freeAt: () => sch,
    ...(o.packsWhenFree !== undefined ? { packsWhenFree: o.packsWhenFree } : {}),
    run: (items: WorkItem[], _device: unknown, _startedAt: number, done: BatchDone) => {
      sizes.push(items.length);
      ends.push(() => done.batchEnded(4 + items.length));
    },
  });
  sch = new DeviceScheduler({ device: { id: 'd0' } as DeviceHandle, clock, timers, onDispatch: () => undefined });
  sch.attach(lane);
  const arrive = async (at: number): Promise<void> => {
    clock.set(at);
    const item = fakeItem(at + 100, { frame: true, enqueuedAt: at });
    lane.queue.push(item);
    sch.arrived(lane, item, at);
    await flush();
  };
  await arrive(0); // the device is idle: the frame runs alone
  for (let t = 1; t <= (o.arrivals ?? 5); t++) await arrive(t); // frames arrive one by one while it runs
  for (let k = 0; k < 3 && k < ends.length; k++) {
    clock.set(clock.now() + 4 + sizes[k]!);
    ends[k]!();
    await flush();
  }
  return sizes;
}

describe("a stream lane's packs", () => {
  it('take every frame waiting when the device frees, not a pack of one sent ahead of them', async () => {
    expect(await packsOf({ packsWhenFree: true })).toEqual([1, 5]);
    // Sent ahead at the plan's pack (a lane without the flag, the executor's 'send-ahead'): the next frame went
    // ahead alone, and the four after it waited for a run of their own.
    expect(await packsOf({})).toEqual([1, 1, 4]);
  });

  it('are still sent ahead once they reach the largest fresh pack', async () => {
    expect(await packsOf({ packsWhenFree: true, arrivals: 9 })).toEqual([1, 8, 1]);
  });
});

describe('the executor options of stream packs', () => {
  it('default to forming packs when the device frees and pricing the hand-off once, and name a bad value', () => {
    expect(resolveStreamPackForming(undefined)).toBe('when-free');
    expect(resolveStreamPackForming('send-ahead')).toBe('send-ahead');
    expect(() => resolveStreamPackForming('plan')).toThrow(/streamPackForming.*'when-free' or 'send-ahead'/);
    expect(resolveStreamPackPricing(undefined)).toBe('hand-off-once');
    expect(resolveStreamPackPricing('worst-class')).toBe('worst-class');
    expect(() => resolveStreamPackPricing(2)).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
  });
});
