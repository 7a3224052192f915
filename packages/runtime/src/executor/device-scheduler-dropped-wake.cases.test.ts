import { describe, expect, it } from 'vitest';
import type { DeviceWork } from './device-work.js';
import { schedulerCase } from './device-scheduler-cases-fixture.js';
import { fakeItem, fakeLane } from '../testing/fake-lane.js';

/*
 * Cases the virtual-time runs (hold-pricing, estimate-overtaking) were the first to catch in mutation runs: the EDF
 * order of the lanes' candidates, a pass that finds nothing to launch while the device is busy, and a wake-up that
 * a launch dropped before its platform timer fired. Each is a handful of launches on a manual clock.
 */

const setup = schedulerCase;

/** Engine work due at `deadline` taking `ms`, which ends when the test calls `end()`. */
function work(deadline: number, ms: number) {
  let end!: () => void;
  let ran = false;
  const w: DeviceWork = {
    ownerId: 'engine',
    deadline,
    expectedMs: ms,
    run: () => ((ran = true), new Promise<void>((resolve) => (end = resolve))),
    fail: () => undefined,
  };
  return { w, ran: () => ran, end: () => end() };
}

describe('DeviceScheduler: EDF order, a busy pass with nothing due, a dropped wake-up', () => {
  it('launches the earliest head first whatever order its lanes were attached in', async () => {
    const { freeAt, make } = setup();
    const later = fakeLane({ id: 'later', batchSize: 2, freeAt });
    const sooner = fakeLane({ id: 'sooner', batchSize: 2, freeAt });
    const third = fakeLane({ id: 'third', batchSize: 2, freeAt });
    const sch = make();
    sch.attach(later.lane);
    sch.attach(sooner.lane);
    sch.attach(third.lane);
    later.lane.queue.push(fakeItem(500));
    sooner.lane.queue.push(fakeItem(100));
    third.lane.queue.push(fakeItem(300));
    sch.pump();
    // The idle device takes the head due at 100; the others wait (a lone item is no full batch to send ahead).
    expect([later.finish.length, sooner.finish.length, third.finish.length]).toEqual([0, 1, 0]);
    // It ends: the head due at 300 goes next, then the one due at 500.
    sooner.finish[0]!(10);
    await Promise.resolve();
    expect([later.finish.length, third.finish.length]).toEqual([0, 1]);
    third.finish[0]!(10);
    await Promise.resolve();
    expect(later.finish).toHaveLength(1);
  });

  it('launches a batch once: a busy pass with every queue empty launches nothing', () => {
    const { freeAt, make } = setup();
    const { lane, finish } = fakeLane({ batchSize: 1, freeAt });
    const sch = make();
    sch.attach(lane);
    lane.queue.push(fakeItem(100));
    sch.pump();
    sch.pump();
    expect(finish).toHaveLength(1);
    expect(sch.counters().batches).toBe(1);
  });

  it('ignores a platform timer whose wake-up a launch dropped, and keeps planning wake-ups from a sane timer lag', async () => {
    const { armed, fireAt, freeAt, make } = setup();
    const { lane, finish } = fakeLane({ batchSize: 2, launchWhenIdle: false, freeAt });
    const sch = make();
    sch.attach(lane);
    // A lone item due at 310 waits to fill its batch: a wake-up at its latest start, 300.
    const gone = fakeItem(310);
    lane.queue.push(gone);
    sch.pump();
    expect(armed).toHaveLength(1);
    expect(armed[0]).toBeCloseTo(300, 2);
    // It leaves (its caller aborted), and engine work runs: the launch drops the wake-up, and nothing needs one
    // while the work runs (engine work is never given up on).
    lane.queue.remove(gone);
    const step = work(1_000, 5);
    sch.enqueueWork(step.w);
    expect(step.ran()).toBe(true);
    // The dropped wake-up's platform timer fires, 40 ms late: nothing to do, and no lag learned from it.
    fireAt(armed[0]! + 40);
    step.end();
    await new Promise<void>((resolve) => setTimeout(resolve, 0));
    // A new lone item's wake-up is its latest start, 1,000 − 10: no lag moved it, and it is set.
    armed.length = 0;
    lane.queue.push(fakeItem(1_000));
    sch.pump();
    expect(finish).toHaveLength(0);
    expect(armed).toHaveLength(1);
    expect(armed[0]).toBeCloseTo(990, 2);
  });
});
