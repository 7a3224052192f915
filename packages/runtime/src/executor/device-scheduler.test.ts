import { describe, expect, it } from 'vitest';
import { createManualClock } from '@epara/core';
import { EdfQueue } from '@epara/core/scheduling';
import type { DeviceHandle } from '../devices/device-port.js';
import type { Lane } from '../batching/lane.js';
import type { WorkItem } from '../batching/work-item.js';
import { createManualTimers } from '@epara/core/testing';
import { DeviceScheduler } from './device-scheduler.js';

/** A lane whose batches end when the test says so; every batch is expected to take `runMs`. */
function fakeLane(scheduler: () => DeviceScheduler, runMs: number) {
  const finish: (() => void)[] = [];
  const dropped: WorkItem[] = [];
  const lane: Lane = {
    id: 'i',
    serviceId: 's',
    queue: new EdfQueue<WorkItem>(),
    batchSize: 2,
    maxBatchSize: 2,
    guardMs: 0,
    launchWhenIdle: true,
    arrivalsPerMs: undefined,
    latencyMs: () => runMs,
    dropLatencyMs: () => runMs,
    earliestStart: (now) => scheduler().freeAt(now),
    drop: (item) => void dropped.push(item),
    run: () => new Promise<void>((resolve) => finish.push(resolve)),
    onBatchDone: () => undefined,
  };
  return { lane, finish, dropped };
}

let seq = 0;
const item = (deadline: number): WorkItem => ({ seq: seq++, serviceId: 's', inputs: {}, key: 'k', deadline, priority: 0, enqueuedAt: 0, frame: false, settle: () => undefined });
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('DeviceScheduler', () => {
  it('predicts the device free from the last actual end under a steady backlog, not from the dispatch-time guess', async () => {
    const clock = createManualClock(0);
    const sch: DeviceScheduler = new DeviceScheduler({ device: { id: 'd0' } as DeviceHandle, clock, timers: createManualTimers(), onDispatch: () => undefined });
    const { lane, finish } = fakeLane(() => sch, 5);
    sch.attach(lane);
    for (let i = 0; i < 4; i++) lane.queue.push(item(1000));
    sch.pump();
    // One batch running, one full batch sent ahead (expected to start at 5).
    expect(finish).toHaveLength(2);
    expect(sch.freeAt(0)).toBe(10);
    // The first batch overran: it ended at 8, so the second started at 8 and should end near 13, not 10.
    clock.set(8);
    finish[0]!();
    await tick();
    expect(sch.freeAt(8)).toBe(13);
  });

  it('rejects, right after a launch, the items that only the launched batch could have served', () => {
    const clock = createManualClock(0);
    const sch: DeviceScheduler = new DeviceScheduler({ device: { id: 'd0' } as DeviceHandle, clock, timers: createManualTimers(), onDispatch: () => undefined });
    const { lane, dropped } = fakeLane(() => sch, 5);
    sch.attach(lane);
    // Two launch together at 0 (ending at 5); a third due at 7 cannot run after them (5 + 5 > 7).
    const late = item(7);
    for (const it of [item(6), item(6), late]) lane.queue.push(it);
    sch.pump();
    expect(dropped).toEqual([late]);
  });

  it('forgets a learned margin that no batch has confirmed for guardMemoryMs, so a lane refused for it can serve again', async () => {
    const clock = createManualClock(0);
    const sch: DeviceScheduler = new DeviceScheduler({ device: { id: 'd0' } as DeviceHandle, clock, timers: createManualTimers(), onDispatch: () => undefined, guardMemoryMs: 1000 });
    const { lane, finish } = fakeLane(() => sch, 5);
    sch.attach(lane);
    // A bad spell: ten batches of one item, each ending 500 ms later than the 5 ms predicted.
    for (let i = 0; i < 10; i++) {
      lane.queue.push(item(clock.now() + 10_000));
      sch.pump();
      clock.set(clock.now() + 505);
      finish.shift()!();
      await tick();
    }
    expect(sch.learnedGuardMs(lane)).toBeCloseTo(500, 6);
    // The margin makes every request look late, so none is admitted and no batch runs to correct it. It holds
    // while recent…
    clock.set(clock.now() + 900);
    expect(sch.learnedGuardMs(lane)).toBeCloseTo(500, 6);
    // …and is gone once no batch confirmed it for a second: the next requests are admitted and relearn it.
    clock.set(clock.now() + 200);
    expect(sch.learnedGuardMs(lane)).toBe(0);
    lane.queue.push(item(clock.now() + 10_000));
    sch.pump();
    expect(finish).toHaveLength(1);
  });
});
