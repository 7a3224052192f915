import { describe, expect, it } from 'vitest';
import type { WorkItem } from '../batching/work-item.js';
import type { Lane } from '../batching/lane.js';
import { schedulerCase } from './device-scheduler-cases-fixture.js';
import { OVERDUE_GRACE_MS } from './overdue.js';
import { fakeItem, fakeLane } from '../testing/fake-lane.js';

/*
 * The device scheduler's one wake-up: the moment it is armed for, whether it is a give-up wake-up (whose late firing
 * teaches no timer lag) or an expiry's (whose late firing does), and the held batches' give-up moment it carries.
 * Each case watches the moments the platform timers are armed for (a manual clock and timers).
 */

const setup = schedulerCase;

const setLaunchWhenIdle = (lane: Lane, on: boolean): void => {
  (lane as { launchWhenIdle: boolean }).launchWhenIdle = on;
};

describe('DeviceScheduler: the wake-up', () => {
  it("forgets an ended batch's give-up moment: the next batch's wake-up is its own give-up moment", async () => {
    const { armed, fireAt, freeAt, make } = setup();
    const { lane, finish } = fakeLane({ batchSize: 2, runMs: 10, launchWhenIdle: true, freeAt });
    const sch = make();
    sch.attach(lane);
    // A lone item due at 100 runs at once (the device is idle); its batch is given up on at 100 + the grace.
    lane.queue.push(fakeItem(100));
    sch.pump();
    expect(finish).toHaveLength(1);
    expect(armed).toEqual([100 + OVERDUE_GRACE_MS]);
    // It ends: nothing is held any more.
    finish[0]!(10);
    await Promise.resolve();
    // A lone item due at 8,010 waits to fill its batch until its latest start, 8,000: the wake-up moves earlier.
    setLaunchWhenIdle(lane, false);
    lane.queue.push(fakeItem(8_010));
    sch.pump();
    expect(armed).toHaveLength(2);
    expect(armed[1]).toBeCloseTo(8_000, 2);
    // At 8,000 it runs. Its batch's give-up moment (8,010 + the grace) is the only one held: the wake-up is armed
    // for it, not for the ended batch's 10,100.
    fireAt(armed[1]!);
    expect(finish).toHaveLength(2);
    expect(armed).toHaveLength(3);
    expect(armed[2]).toBe(8_010 + OVERDUE_GRACE_MS);
  });

  it('takes an expiry at exactly the held batch\'s give-up moment as an expiry: its late firing teaches the lag', () => {
    const { armed, fireAt, freeAt, make } = setup();
    const dropped: WorkItem[] = [];
    const first = fakeLane({ batchSize: 2, runMs: 10, launchWhenIdle: true, freeAt });
    const second = fakeLane({ batchSize: 2, runMs: 10, launchWhenIdle: false, freeAt, drop: (item) => void dropped.push(item) });
    const sch = make();
    sch.attach(first.lane);
    sch.attach(second.lane);
    // The second lane's lone item due at 10,110 expires at 10,110 − 10 ms (one item's run) + the launch rule's
    // 0.001 ms; the first lane's item runs at once and is given up on at its deadline + the grace: the same moment.
    const moment = 10_110 - 10 + 1e-3;
    first.lane.queue.push(fakeItem(moment - OVERDUE_GRACE_MS));
    second.lane.queue.push(fakeItem(10_110));
    sch.pump();
    expect(first.finish).toHaveLength(1);
    // The launch dropped the wake-up; the pass after it sets one for the waiting item's expiry, which is the give-up
    // moment too.
    expect(armed).toEqual([moment]);
    // The timer fires 40 ms late: the batch is given up on, the item dropped, and the lag learned (an expiry's
    // wake-up, whatever else falls on its moment).
    fireAt(moment + 40);
    expect(dropped).toHaveLength(1);
    // The next lone item's wake-up comes twice the learned lag (a tenth of 40 ms) before its expiry.
    armed.length = 0;
    second.lane.queue.push(fakeItem(moment + 1000));
    sch.pump();
    expect(armed).toHaveLength(1);
    expect(armed[0]).toBeCloseTo(moment + 1000 - 10 - 8, 1);
  });

  it('keeps an earlier wake-up when the item it was for leaves the queue, and its late firing teaches the lag', () => {
    const { armed, fireAt, freeAt, make } = setup();
    const { lane, finish } = fakeLane({ batchSize: 4, runMs: 10, launchWhenIdle: false, freeAt });
    const sch = make();
    sch.attach(lane);
    // A lone item due at 310 waits to fill its batch until its latest start, 300.
    const gone = fakeItem(310);
    lane.queue.push(gone);
    sch.pump();
    expect(armed).toHaveLength(1);
    expect(armed[0]).toBeCloseTo(300, 2);
    // It leaves the queue (its caller aborted), and one due at 510 comes: the wake-up set for 300 stays (a pass then
    // finds nothing due and sets the next one).
    lane.queue.remove(gone);
    lane.queue.push(fakeItem(510));
    sch.pump();
    expect(armed).toHaveLength(1);
    // It fires 40 ms late: the lag is learned (a tenth of it), and the wake-up for the item due at 510 comes twice
    // that before its latest start, 500.
    fireAt(armed[0]! + 40);
    expect(finish).toHaveLength(0);
    expect(armed).toHaveLength(2);
    expect(armed[1]).toBeCloseTo(500 - 8, 1);
  });

  it('on a device holding all it may, drops an item that can no longer make its deadline behind the batches held', () => {
    const { freeAt, make } = setup();
    const dropped: WorkItem[] = [];
    const { lane, finish } = fakeLane({ batchSize: 1, runMs: 10, launchWhenIdle: true, freeAt, drop: (item) => void dropped.push(item) });
    const sch = make();
    sch.attach(lane);
    // Two batches of one: the first runs, the second is sent ahead behind it. The device is free again at 20.
    lane.queue.push(fakeItem(1_000));
    lane.queue.push(fakeItem(1_000));
    sch.pump();
    expect(finish).toHaveLength(2);
    expect(sch.freeAt(0)).toBe(20);
    // An item due at 25 would make it from now (0 + 10 ms) but not from when the device frees (20 + 10 ms): the pass
    // drops it at once.
    const hopeless = fakeItem(25);
    lane.queue.push(hopeless);
    sch.pump();
    expect(dropped).toEqual([hopeless]);
    expect(lane.queue.size).toBe(0);
  });
  it('on a device stuck in both batches it holds, every one given up on, still wakes for a new item and drops it', () => {
    const { armed, fireAt, freeAt, make } = setup();
    const dropped: WorkItem[] = [];
    const givenUp: unknown[] = [];
    const { lane, finish } = fakeLane({ batchSize: 1, runMs: 10, launchWhenIdle: true, freeAt, drop: (item) => void dropped.push(item) });
    const sch = make();
    sch.attach(lane);
    // Two batches of one, never answered: the first runs, the second waits behind it.
    for (let i = 0; i < 2; i++) lane.queue.push(fakeItem(100, { settle: (r) => void givenUp.push(r) }));
    sch.pump();
    expect(finish).toHaveLength(2);
    expect(armed).toEqual([100 + OVERDUE_GRACE_MS]);
    // Both are given up on at their deadline + the grace; the device still holds both batches: the watchdog looks
    // again a grace later (a batch run again on a restarted worker may hold it as long).
    fireAt(100 + OVERDUE_GRACE_MS);
    expect(givenUp).toHaveLength(2);
    expect(armed).toEqual([100 + OVERDUE_GRACE_MS, 100 + 2 * OVERDUE_GRACE_MS]);
    // A new item arrives at the full device: its expiry (its deadline − one item's run) is armed, and it is dropped then.
    const next = fakeItem(20_000);
    lane.queue.push(next);
    sch.arrived(lane, next);
    expect(armed).toHaveLength(3);
    expect(armed[2]).toBeCloseTo(20_000 - 10, 1);
    fireAt(armed[2]!);
    expect(dropped).toEqual([next]);
  });
  it('on a device holding all it may, wakes for the earliest expiry of any lane, not the last lane\'s', () => {
    const { armed, freeAt, make } = setup();
    const full = fakeLane({ id: 'full', batchSize: 1, runMs: 10, launchWhenIdle: true, freeAt });
    const sooner = fakeLane({ id: 'sooner', batchSize: 2, runMs: 10, launchWhenIdle: false, freeAt });
    const later = fakeLane({ id: 'later', batchSize: 2, runMs: 10, launchWhenIdle: false, freeAt });
    const sch = make();
    for (const l of [full, sooner, later]) sch.attach(l.lane);
    // Two batches of one fill the device (one runs, one is sent ahead).
    for (let i = 0; i < 2; i++) full.lane.queue.push(fakeItem(1_000));
    sch.pump();
    expect(full.finish).toHaveLength(2);
    // Lone items of two more lanes, due at 300 and 500, wait: the wake-up is the first one's expiry, before 300.
    sooner.lane.queue.push(fakeItem(300));
    later.lane.queue.push(fakeItem(500));
    sch.pump();
    expect(armed.at(-1)).toBeLessThan(300);
  });
});
