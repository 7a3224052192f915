import { describe, expect, it } from 'vitest';
import type { WorkItem } from '../batching/work-item.js';
import type { Lane } from '../batching/lane.js';
import { DeviceScheduler } from './device-scheduler.js';
import { schedulerCase } from './device-scheduler-cases-fixture.js';
import { fakeItem, fakeLane } from '../testing/fake-lane.js';

/*
 * What the late-service runs (device-scheduler-late.test.ts: a saturated device on a stalling host, in virtual time)
 * were the first to catch in mutation runs, as cases of a few launches: arrivals at a full device plan nothing, and a
 * platform timer armed for a wake-up that moved later only re-arms (it teaches no lag).
 */

const setup = schedulerCase;

/**
 * A lone item due at `at + 10` (its latest start `at`) whose wake-up fires 40 ms late, at `at + 40`, where it is
 * dropped as hopeless: the scheduler learns a tenth of that lag, 4 ms (twice it, 8 ms, as its timers' margin).
 */
function learnLag(sch: DeviceScheduler, lane: Lane & { queue: { push(i: WorkItem): void } }, fireAt: (t: number) => void, at: number): void {
  lane.queue.push(fakeItem(at + 10));
  sch.pump();
  fireAt(at + 40);
}

describe('DeviceScheduler: full-device arrivals, a re-armed timer', () => {
  it('plans nothing for arrivals at a device holding all the batches it may (only their expiry is looked at)', () => {
    const { freeAt, make } = setup();
    let plans = 0;
    const { lane, finish } = fakeLane({ batchSize: 1, freeAt, latencyMs: () => (plans++, 10) });
    const sch = make();
    sch.attach(lane);
    // Two batches of one: one runs, one is sent ahead. The device is full.
    for (let i = 0; i < 2; i++) lane.queue.push(fakeItem(1_000));
    sch.pump();
    expect(finish).toHaveLength(2);
    plans = 0;
    for (let i = 0; i < 5; i++) {
      const item = fakeItem(2_000 + i);
      lane.queue.push(item);
      sch.arrived(lane, item);
    }
    expect(plans).toBe(0);
    expect(lane.queue.size).toBe(5);
  });

  it('a platform timer armed for a wake-up that a launch dropped and a later one replaced re-arms, and teaches no lag', () => {
    const { armed, fireAt, freeAt, make } = setup();
    const first = fakeLane({ batchSize: 2, launchWhenIdle: false, freeAt });
    const second = fakeLane({ batchSize: 2, launchWhenIdle: false, freeAt });
    const third = fakeLane({ batchSize: 2, launchWhenIdle: false, freeAt });
    const sch = make();
    for (const l of [first, second, third]) sch.attach(l.lane);
    learnLag(sch, first.lane, fireAt, 300);
    // Now 340. A lone item waits to fill its batch until its latest start: 1,000 − 10 − the 8 ms margin.
    armed.length = 0;
    first.lane.queue.push(fakeItem(1_000));
    sch.pump();
    expect(armed).toHaveLength(1);
    expect(armed[0]).toBeCloseTo(982, 1);
    // A second item fills the batch: it runs, and the wake-up is dropped (its platform timer stays). An item of
    // another lane waits behind it: its wake-up, at its expiry (about 4,982), is later, and reuses that timer.
    first.lane.queue.push(fakeItem(1_000));
    sch.pump();
    expect(first.finish).toHaveLength(1);
    second.lane.queue.push(fakeItem(5_000));
    sch.pump();
    expect(armed).toHaveLength(1);
    // The timer fires (on time) for the dropped wake-up: it only re-arms for the later one — no pass, no lag sample.
    fireAt(armed[0]!);
    expect(armed).toHaveLength(2);
    expect(armed[1]).toBeGreaterThan(4_980);
    // An item of a third lane due at 4,000 expires at 4,000 − 10 ms less twice the lag learned at 340, faded over the
    // 642 ms since (half-life 250 ms): a 0 ms sample now would have kept nine tenths of it unfaded.
    third.lane.queue.push(fakeItem(4_000));
    sch.pump();
    expect(armed).toHaveLength(3);
    expect(armed[2]).toBeCloseTo(4_000 - 10 + 1e-3 - 2 * 4 * 0.5 ** ((982 - 340) / 250), 1);
  });
});
