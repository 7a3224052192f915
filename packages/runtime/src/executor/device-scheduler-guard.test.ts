import { describe, expect, it } from 'vitest';
import { createManualClock } from '@epara/core';
import { EdfQueue } from '@epara/core/scheduling';
import { createManualTimers } from '@epara/core/testing';
import type { DeviceHandle } from '../devices/device-port.js';
import type { Lane } from '../batching/lane.js';
import type { WorkItem } from '../batching/work-item.js';
import { DeviceScheduler } from './device-scheduler.js';

let seq = 0;
const item = (deadline: number): WorkItem => ({ seq: seq++, serviceId: 's', inputs: {}, key: 'k', deadline, priority: 0, enqueuedAt: 0, frame: false, settle: () => undefined });
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** A device whose batches (expected `2 + 0.5·n` ms) end when the test says; the scheduler and what it launched. */
function setup(o: { batchSize: number; maxBatchSize: number; arrivalsPerMs?: number }) {
  const clock = createManualClock(0);
  const timers = createManualTimers(clock);
  const launched: WorkItem[][] = [];
  const finish: ((runMs: number) => void)[] = [];
  const dropped: WorkItem[] = [];
  let sch!: DeviceScheduler;
  const lane: Lane = {
    id: 'i',
    serviceId: 's',
    queue: new EdfQueue<WorkItem>(),
    batchSize: o.batchSize,
    maxBatchSize: o.maxBatchSize,
    guardMs: 0,
    launchWhenIdle: false,
    arrivalsPerMs: o.arrivalsPerMs,
    latencyMs: (_d, n) => 2 + 0.5 * n,
    dropLatencyMs: () => 2.5,
    earliestStart: (now) => sch.freeAt(now),
    drop: (it) => void dropped.push(it),
    run: (items) =>
      new Promise<number>((resolve) => {
        launched.push(items);
        finish.push(resolve);
      }),
    onBatchDone: () => undefined,
  };
  sch = new DeviceScheduler({ device: { id: 'd0' } as DeviceHandle, clock, timers, onDispatch: () => undefined });
  sch.attach(lane);
  return { clock, timers, sch, lane, launched, finish, dropped };
}

describe('DeviceScheduler: margins under overload', () => {
  it('with a late head at a backlog, launches a fresher batch below the plan\'s size rather than the head alone', () => {
    // Plan 8: the head (due 2.8) fits only alone (2.5 ≤ 2.8 < 3); seven items due at 100 cannot fill a batch of the
    // plan's size behind it. The shrunk batch is the head alone (0.4 items/ms); the seven together run at
    // 7 / 5.5 = 1.27 items/ms, all on time. Before, the overload rule looked only from the plan's size up. (Few
    // arrivals: neither batch is worth waiting to fill.)
    const { sch, lane, launched } = setup({ batchSize: 8, maxBatchSize: 8, arrivalsPerMs: 0.001 });
    const head = item(2.8);
    const rest = Array.from({ length: 7 }, () => item(100));
    for (const it of [head, ...rest]) lane.queue.push(it);
    sch.pump();
    expect(launched[0]).toEqual(rest);
  });

  it('launches a head that cannot keep its learned margin only as a probe, once no batch confirmed the margin lately', async () => {
    const { clock, timers, sch, lane, launched, finish, dropped } = setup({ batchSize: 1, maxBatchSize: 1 });
    // Ten batches (2.5 ms runs, as predicted) the host hears of 2 ms after their end, but two of them 20 ms
    // after: typically 2 ms late (the median), 20 ms at the high quantile the margin keeps.
    for (let i = 0; i < 10; i++) {
      lane.queue.push(item(clock.now() + 1000));
      sch.pump();
      clock.set(clock.now() + 2.5 + (i < 2 ? 20 : 2));
      finish[i]!(2.5);
      await tick();
    }
    expect(launched).toHaveLength(10);
    expect(sch.learnedGuardMs(lane, 1)).toBeGreaterThan(15);
    expect(sch.typicalLatenessMs(lane, 1)).toBeLessThan(5);
    // Due in 10 ms: probably on time alone (2.5 + 2 ms), but not by the margin (2.5 + 20), and the device is idle.
    // Right after a batch confirmed the margin, it is not launched: it waits and is rejected by its deadline
    // (7.5 ms from now: 10 − 2.5). Launched, it would end late one time in five.
    const tight = item(clock.now() + 10);
    lane.queue.push(tight);
    sch.pump();
    expect(launched).toHaveLength(10);
    timers.advance(8);
    await tick();
    expect(dropped).toEqual([tight]);
    // 300 ms without a batch: the margin may be a stall's that is aging out, and nothing runs to say otherwise.
    // The same request is now launched alone (a probe), not refused until the margin is forgotten.
    clock.set(clock.now() + 300);
    const probe = item(clock.now() + 10);
    lane.queue.push(probe);
    sch.pump();
    expect(launched[10]).toEqual([probe]);
  });
});
