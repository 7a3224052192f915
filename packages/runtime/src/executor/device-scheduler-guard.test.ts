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
    drop: () => undefined,
    run: (items) =>
      new Promise<number>((resolve) => {
        launched.push(items);
        finish.push(resolve);
      }),
    onBatchDone: () => undefined,
  };
  sch = new DeviceScheduler({ device: { id: 'd0' } as DeviceHandle, clock, timers, onDispatch: () => undefined });
  sch.attach(lane);
  return { clock, sch, lane, launched, finish };
}

/** Thirty batches of one (2.5 ms runs, as predicted), heard of 2 ms after their end, two of them 20 ms after. */
async function learnTail(t: ReturnType<typeof setup>): Promise<void> {
  for (let i = 0; i < 30; i++) {
    t.lane.queue.push(item(t.clock.now() + 1000));
    t.sch.pump();
    t.clock.set(t.clock.now() + 2.5 + (i < 2 ? 20 : 2));
    t.finish[i]!(2.5);
    await tick();
  }
  // The margin keeps the tail (20 ms); nine batches in ten ended 2 ms late.
  expect(t.sch.learnedGuardMs(t.lane, 1)).toBeGreaterThan(15);
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

  it('on an idle device where nothing keeps the margin, runs the batch on time nine times in ten, not the head alone', async () => {
    const t = setup({ batchSize: 1, maxBatchSize: 4 });
    await learnTail(t);
    // Four requests due in 12 ms: none keeps the 20 ms margin even alone. Before, the EDF head ran alone (and
    // the three others expired behind it); now the four run together, 4 + 2 ms ≤ 12 ms by the 0.9 quantile.
    const four = Array.from({ length: 4 }, () => item(t.clock.now() + 12));
    for (const it of four) t.lane.queue.push(it);
    t.sch.pump();
    expect(t.launched[30]).toEqual(four);
  });

  it('sends nothing ahead behind a running batch that cannot keep its margin', async () => {
    const t = setup({ batchSize: 1, maxBatchSize: 4 });
    await learnTail(t);
    const now = t.clock.now();
    t.lane.queue.push(item(now + 1000));
    t.sch.pump();
    expect(t.launched).toHaveLength(31);
    // Due 12 ms from now, behind the batch running until 2.5: 2.5 + 2.5 + 20 > 12. Before, it was sent ahead
    // at once (a full batch of the plan's one). Now it waits; the device frees, and it runs as above.
    const tight = item(now + 12);
    t.lane.queue.push(tight);
    t.sch.pump();
    expect(t.launched).toHaveLength(31);
    t.clock.set(now + 2.5);
    t.finish[30]!(2.5);
    await tick();
    expect(t.launched[31]).toEqual([tight]);
  });
});
