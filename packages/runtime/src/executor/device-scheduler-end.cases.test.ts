import { describe, expect, it, vi } from 'vitest';
import { createManualClock } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import type { DeviceHandle } from '../devices/device-port.js';
import type { WorkItem } from '../batching/work-item.js';
import { DeviceScheduler } from './device-scheduler.js';
import { fakeItem, fakeLane } from '../testing/fake-lane.js';

/*
 * The device scheduler at a batch's end and at the edge of the EDF slack: submissions made while the lanes handle
 * an end are planned together once they return; a run time that is not a number counts as none; a later batch due
 * now goes first when the one due before it still starts exactly at its latest start.
 */

const flush = async (): Promise<void> => {
  for (let i = 0; i < 4; i++) await Promise.resolve();
};

function setup() {
  const clock = createManualClock(0);
  const timers = createManualTimers(clock);
  let sch!: DeviceScheduler;
  const make = () => {
    sch = new DeviceScheduler({ device: { id: 'd0' } as DeviceHandle, clock, timers, onDispatch: () => undefined });
    return sch;
  };
  return { clock, make, at: () => sch };
}

describe('DeviceScheduler at the end of a batch', () => {
  it('plans what the lanes submit while they handle the end once they return: the most urgent goes first', async () => {
    const { make, at } = setup();
    const ran: number[] = [];
    let onDone = (): void => undefined;
    const { lane, finish } = fakeLane({
      batchSize: 1,
      freeAt: at,
      run: (items: WorkItem[], _d, _s, done) => {
        ran.push(items[0]!.deadline);
        finish.push((ms) => done.batchEnded(ms));
      },
      onBatchDone: () => onDone(),
    });
    const sch = make();
    sch.attach(lane);
    lane.queue.push(fakeItem(2000));
    sch.pump();
    expect(ran).toEqual([2000]);
    // At the end, the lane's callers submit one due at 1000, then one due at 500: neither launches alone before the
    // other is queued, so the one due at 500 runs first and the other is sent behind it.
    onDone = () => {
      onDone = () => undefined;
      for (const deadline of [1000, 500]) {
        const item = fakeItem(deadline);
        lane.queue.push(item);
        sch.arrived(lane, item);
      }
    };
    finish[0]!(5);
    await flush();
    expect(ran).toEqual([2000, 500, 1000]);
    sch.close();
  });

  it('counts a run time that is not a number (a worker answering without one) as unknown: no hold is learned from it', async () => {
    const { make, at } = setup();
    const observeHold = vi.fn();
    const { lane, finish } = fakeLane({ batchSize: 1, freeAt: at, observeHold });
    const sch = make();
    sch.attach(lane);
    lane.queue.push(fakeItem(2000));
    sch.pump();
    finish[0]!(null as unknown as number);
    await flush();
    expect(observeHold).not.toHaveBeenCalled();
    lane.queue.push(fakeItem(2000));
    sch.pump();
    finish[1]!(4);
    await flush();
    expect(observeHold).toHaveBeenCalledTimes(1);
    sch.close();
  });
});

describe('DeviceScheduler: the EDF slack at its edge', () => {
  it('sends a later batch due now first when the earlier one, waiting to fill, then starts exactly at its latest start', () => {
    const { make, at } = setup();
    const ran: string[] = [];
    const record = (id: string) => (items: WorkItem[]) => void ran.push(`${id}×${items.length}`);
    // `a` waits to fill (batches of 2, not launched alone): its one item is due at 20 and runs 10 ms, so it must start
    // by 10. `b` has a full batch due at 100, also 10 ms: run first (0–10), it leaves `a` exactly its latest start.
    const a = fakeLane({ id: 'a', serviceId: 'a', batchSize: 2, launchWhenIdle: false, runMs: 10, freeAt: at, run: record('a') });
    const b = fakeLane({ id: 'b', serviceId: 'b', batchSize: 2, runMs: 10, freeAt: at, run: record('b') });
    const sch = make();
    sch.attach(a.lane);
    sch.attach(b.lane);
    a.lane.queue.push(fakeItem(20, { serviceId: 'a' }));
    b.lane.queue.push(fakeItem(100, { serviceId: 'b' }));
    b.lane.queue.push(fakeItem(100, { serviceId: 'b' }));
    sch.pump(0);
    expect(ran[0]).toBe('b×2');
    sch.close();
  });
});
