import { describe, expect, it } from 'vitest';
import { createManualClock } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import type { DeviceHandle } from '../devices/device-port.js';
import type { WorkItem } from '../batching/work-item.js';
import { DeviceScheduler } from './device-scheduler.js';
import { fakeItem, fakeLane } from '../testing/fake-lane.js';

// What a device scheduler reports about its own work — busy time, batch count, the expected run time of a
// dispatched batch, which lanes it serves — on a manual clock, with batches that end when the test says.

const item = (deadline: number, costScale?: number): WorkItem => fakeItem(deadline, costScale === undefined ? {} : { costScale });
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

function setup(runMs = 5) {
  const clock = createManualClock(0);
  const dispatched: { items: number; expectedMs: number; at: number }[] = [];
  let sch!: DeviceScheduler;
  const { lane, finish } = fakeLane({ runMs, freeAt: () => sch });
  sch = new DeviceScheduler({
    device: { id: 'd0' } as DeviceHandle,
    clock,
    timers: createManualTimers(),
    onDispatch: (e) => void dispatched.push({ items: e.items.length, expectedMs: e.expectedMs, at: e.at }),
  });
  sch.attach(lane);
  return { clock, sch, lane, finish, dispatched };
}

describe('DeviceScheduler accounting', () => {
  it('counts batches, and busy time once from the first start to the device going idle', async () => {
    const { clock, sch, lane, finish } = setup(5);
    expect(sch.counters()).toEqual({ busyMs: 0, batches: 0 });
    expect(sch.busy).toBe(false);
    for (let i = 0; i < 4; i++) lane.queue.push(item(1000));
    sch.pump();
    expect(sch.counters().batches).toBe(2); // one running, one full batch sent ahead
    expect(sch.busy).toBe(true);
    clock.set(5);
    finish[0]!();
    await tick();
    expect(sch.counters().busyMs).toBe(0); // still busy with the second
    // A batch dispatched while busy does not restart the busy period.
    lane.queue.push(item(1000));
    lane.queue.push(item(1000));
    sch.pump();
    expect(sch.counters().batches).toBe(3);
    clock.set(12);
    finish[1]!();
    await tick();
    expect(sch.counters().busyMs).toBe(0);
    clock.set(14);
    finish[2]!();
    await tick();
    expect(sch.busy).toBe(false);
    expect(sch.counters()).toEqual({ busyMs: 14, batches: 3 });
    // Idle from 14 to 20 is not busy time.
    clock.set(20);
    lane.queue.push(item(1000));
    sch.pump();
    clock.set(26);
    finish[3]!();
    await tick();
    expect(sch.counters()).toEqual({ busyMs: 20, batches: 4 });
  });

  it("expects a batch to take the profile's time scaled by its largest input, and plans the device busy that long", () => {
    const { sch, lane, dispatched } = setup(5);
    lane.queue.push(item(1000, 3));
    lane.queue.push(item(1000, 0.5));
    sch.pump();
    expect(dispatched).toEqual([{ items: 2, expectedMs: 15, at: 0 }]);
    expect(sch.freeAt(0)).toBe(15);
  });

  it('a batch of inputs no larger than profiled is expected at the profile time', () => {
    const { sch, lane, dispatched } = setup(5);
    lane.queue.push(item(1000, 0.5));
    lane.queue.push(item(1000));
    sch.pump();
    expect(dispatched[0]!.expectedMs).toBe(5);
  });

  it('a detached lane is no longer served', () => {
    const { sch, lane, dispatched } = setup(5);
    sch.detach(lane);
    expect(sch.lanes.has(lane)).toBe(false);
    lane.queue.push(item(1000));
    sch.pump();
    expect(dispatched).toEqual([]);
    expect(sch.learnedGuardMs(lane)).toBe(0);
  });

  it('a closed scheduler dispatches nothing more', () => {
    const { sch, lane, dispatched } = setup(5);
    sch.close();
    lane.queue.push(item(1000));
    sch.pump();
    expect(dispatched).toEqual([]);
  });
});
