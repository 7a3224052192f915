import { describe, expect, it } from 'vitest';
import { createManualClock } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import type { DeviceHandle } from '../devices/device-port.js';
import type { WorkItem } from '../batching/work-item.js';
import { DeviceScheduler } from './device-scheduler.js';
import { OVERDUE_GRACE_MS } from './overdue.js';
import { fakeItem, fakeLane } from '../testing/fake-lane.js';

/*
 * A wake-up set for a held batch's give-up moment alone teaches the scheduler nothing about its timers' lag (it
 * comes long after the batch, mostly on an idle device). An expiry asked for at exactly that moment leaves it so:
 * the wake-up is already set, for that moment.
 */

describe("DeviceScheduler: the give-up moment's wake-up", () => {
  it('stays a give-up wake-up when an expiry falls on the same moment, and a late firing of it learns no lag', () => {
    const clock = createManualClock(0);
    const manual = createManualTimers(clock);
    const armed: number[] = [];
    const timers = { ...manual, at: (when: number, fn: () => void) => (armed.push(when), manual.at(when, fn)) };
    let sch!: DeviceScheduler;
    const dropped: WorkItem[] = [];
    const { lane, finish } = fakeLane({ batchSize: 2, runMs: 10, launchWhenIdle: true, freeAt: () => sch, drop: (item) => void dropped.push(item) });
    sch = new DeviceScheduler({ device: { id: 'd0' } as DeviceHandle, clock, timers, onDispatch: () => undefined });
    sch.attach(lane);
    // An item due at 10,110 expires at 10,110 − 10 ms (one item's run) + the launch rule's 0.001 ms: 10,100.001.
    const expiry = 10_110 - 10 + 1e-3;
    // A batch of one runs (the device was idle) and is never answered: given up on at its deadline + the grace,
    // exactly that moment.
    lane.queue.push(fakeItem(expiry - OVERDUE_GRACE_MS));
    sch.pump();
    expect(finish).toHaveLength(1);
    const giveUp = expiry;
    expect(armed).toEqual([giveUp]);
    // The item waiting behind it (a batch of 2 is not full) expires at exactly that moment. The wake-up is already
    // set for then.
    lane.queue.push(fakeItem(10_110));
    sch.pump();
    expect(armed).toEqual([giveUp]);
    // The platform timer fires 40 ms late: the batch is given up on, the item dropped.
    clock.set(giveUp + 40);
    manual.fire(clock.now());
    expect(dropped).toHaveLength(1);
    // From now on the lane waits for full batches: a lone item's wake-up is its expiry, less twice any lag learned.
    (lane as { launchWhenIdle: boolean }).launchWhenIdle = false;
    armed.length = 0;
    lane.queue.push(fakeItem(giveUp + 1000));
    sch.pump();
    // Its expiry, with no lead: the late firing was the give-up wake-up's. Learned, that 40 ms lag (a tenth of it kept,
    // twice that as the lead) would move it 8 ms earlier.
    expect(armed).toHaveLength(1);
    expect(armed[0]).toBeCloseTo(giveUp + 1000 - 10, 1);
  });
});
