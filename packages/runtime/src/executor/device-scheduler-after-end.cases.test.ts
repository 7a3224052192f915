import { describe, expect, it } from 'vitest';
import { createManualClock } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import type { BatchDone } from '../batching/lane.js';
import type { WorkItem } from '../batching/work-item.js';
import type { DeviceHandle } from '../devices/device-port.js';
import { DeviceScheduler } from './device-scheduler.js';
import { fakeItem, fakeLane } from '../testing/fake-lane.js';

/*
 * What follows a batch's end waits for one microtask queued at the end, after the reactions of the batch's callers:
 * a second end before that pass ran joins it, and queues no pass of its own. A pass queued per end ran the later
 * end's pass (the lane's `onBatchDone`, the next launch) before that end's callers saw their outputs.
 */

describe('DeviceScheduler: the pass after a batch ends', () => {
  it('runs after the callers of the batch that ended, also when two batches ended before the last pass', async () => {
    const clock = createManualClock(0);
    const timers = createManualTimers(clock);
    const order: string[] = [];
    const finish: (() => void)[] = [];
    let sch!: DeviceScheduler;
    const { lane } = fakeLane({
      batchSize: 1,
      freeAt: () => sch,
      // The third batch ends at once, as a batch that fails inside `run` does: its callers' reaction first, as the
      // batch runner queues them, then the end.
      run: (items: WorkItem[], _device: unknown, _startedAt: number, done: BatchDone) => {
        const name = String(items[0]!.deadline);
        order.push(`run ${name}`);
        if (name === '1003') {
          queueMicrotask(() => order.push(`callers ${name}`));
          done.batchEnded(undefined);
        } else finish.push(() => done.batchEnded(undefined));
      },
      onBatchDone: () => void order.push('after-end pass'),
    });
    sch = new DeviceScheduler({ device: { id: 'd0' } as DeviceHandle, clock, timers, onDispatch: () => undefined });
    sch.attach(lane);
    // One batch runs and a second is sent ahead; the third waits for the device.
    for (const deadline of [1001, 1002, 1003]) {
      lane.queue.push(fakeItem(deadline));
      sch.pump();
    }
    expect(order).toEqual(['run 1001', 'run 1002']);
    // Both end before any pass ran: one pass for both; it launches the third, which ends at once.
    finish[0]!();
    finish[1]!();
    for (let i = 0; i < 10; i++) await Promise.resolve();
    expect(order).toEqual(['run 1001', 'run 1002', 'after-end pass', 'after-end pass', 'run 1003', 'callers 1003', 'after-end pass']);
  });
});
