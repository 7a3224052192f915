import { describe, expect, it } from 'vitest';
import { createManualClock, type Timers } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import type { DeviceHandle } from '../devices/device-port.js';
import type { WorkItem } from '../batching/work-item.js';
import { DeviceScheduler } from './device-scheduler.js';
import { fakeItem, fakeLane } from '../testing/fake-lane.js';

// What the scheduler does per arrival and per batch on the host thread, counted (never timed): wake-ups armed,
// and plans made (each plan of a lane reads its drop latency once).

const item = (deadline: number): WorkItem => fakeItem(deadline);
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

function counted(timers: Timers): { timers: Timers; armed: () => number } {
  let armed = 0;
  return { timers: { setTimeout: timers.setTimeout, at: (at, fn) => (armed++, timers.at(at, fn)) }, armed: () => armed };
}

function setUp(o: { batchSize: number; runMs: number; arrivalsPerMs?: number; launchWhenIdle?: boolean; onBatchDone?: () => void }) {
  const clock = createManualClock(0);
  const manual = createManualTimers(clock);
  const t = counted(manual);
  let plans = 0;
  const sch: DeviceScheduler = new DeviceScheduler({ device: { id: 'd0' } as DeviceHandle, clock, timers: t.timers, onDispatch: () => undefined });
  const { lane, finish } = fakeLane({
    batchSize: o.batchSize,
    launchWhenIdle: o.launchWhenIdle,
    arrivalsPerMs: o.arrivalsPerMs,
    runMs: o.runMs,
    dropLatencyMs: () => (plans++, o.runMs),
    freeAt: () => sch,
    // As a model instance does: a finished batch pumps every device of the lane but the one it ended on (that one
    // plans by itself), and `onBatchDone` adds what a test asks for.
    onBatchDone: (planner?: object) => {
      if (planner !== sch) sch.pump();
      o.onBatchDone?.();
    },
  });
  sch.attach(lane);
  const arrive = (deadline: number): void => {
    const it = item(deadline);
    lane.queue.push(it);
    sch.arrived(lane, it);
  };
  return { clock, manual, sch, lane, finish, arrive, armed: t.armed, plans: () => plans };
}

describe('DeviceScheduler: host work per arrival and per batch', () => {
  it('plans a device once when a batch ends, though the lane pumps its devices too', async () => {
    const s = setUp({ batchSize: 1, runMs: 1 });
    for (let i = 0; i < 4; i++) s.arrive(1000 + i);
    // One running, one sent ahead, two queued.
    expect(s.finish).toHaveLength(2);
    const before = s.plans();
    s.finish[0]!();
    await tick();
    // The end plans once and sends the third ahead; the launch looks once more (the fourth must wait).
    expect(s.finish).toHaveLength(3);
    expect(s.plans() - before).toBe(2);
  });

  it('plans no third time at a batch end when a caller submitted again in between (a closed loop)', async () => {
    const s = setUp({ batchSize: 1, runMs: 1 });
    for (let i = 0; i < 3; i++) s.arrive(1000 + i);
    expect(s.finish).toHaveLength(2); // one running, one sent ahead, one queued
    const before = s.plans();
    s.finish[0]!();
    // The caller of the batch that ended submits its next request before the end's own pass runs.
    s.arrive(1010);
    await tick();
    // The arrival plans and sends the queued item ahead, the launch looks once more; the end's pass would see the
    // same state, and does not run (it was a third plan per batch).
    expect(s.finish).toHaveLength(3);
    expect(s.plans() - before).toBe(2);
    // Nothing is left waiting for a pass that did not come: the next end launches the fourth item.
    s.finish[1]!();
    await tick();
    expect(s.finish).toHaveLength(4);
    expect(s.lane.queue.size).toBe(0);
  });

  it('still plans after a batch end when a lane asked for a pump while the end was handled', async () => {
    let extra: (() => void) | undefined;
    const s = setUp({ batchSize: 1, runMs: 1, onBatchDone: () => extra?.() });
    for (let i = 0; i < 3; i++) s.arrive(1000 + i);
    const before = s.plans();
    s.finish[0]!();
    s.arrive(1010); // planned at once (the queued item is sent ahead), as in a closed loop
    // While the end is handled, a lane's callback queues one more item and asks for a pump: held, then run.
    extra = () => {
      extra = undefined;
      s.lane.queue.push(item(1011));
      s.sch.pump();
    };
    await tick();
    expect(s.finish).toHaveLength(3);
    expect(s.plans() - before).toBe(3);
  });

  it('keeps the wake-up it has while arrivals on an idle device move the next one later', () => {
    // Arrivals 1 ms apart at an expected 2 items/ms: each moves the expected fill time (the wake-up) ½ ms later.
    const s = setUp({ batchSize: 8, runMs: 2, arrivalsPerMs: 2, launchWhenIdle: false });
    for (let i = 0; i < 4; i++) {
      s.clock.set(i);
      s.arrive(1000 + i);
    }
    expect(s.finish).toHaveLength(0); // still waiting to fill
    // One wake-up, at the earliest moment asked; later ones wait until it fires.
    expect(s.armed()).toBe(1);
  });

  it('arms no wake-up per batch under a steady backlog', async () => {
    const s = setUp({ batchSize: 2, runMs: 1 });
    for (let i = 0; i < 8; i++) s.arrive(1000 + i);
    const armed = s.armed();
    // Each batch that ends lets the next one be sent ahead; the items keep arriving as batches leave.
    for (let b = 0; b < 20; b++) {
      s.finish[b]!();
      await tick();
      s.arrive(1100 + b);
      s.arrive(1100 + b);
    }
    expect(s.finish.length).toBeGreaterThanOrEqual(21);
    // The expiry wake-up set while the first batches ran is kept: a launch no longer drops it to set it again.
    expect(s.armed() - armed).toBe(0);
  });

  it('still wakes, plans and launches when the kept wake-up fires early', () => {
    const s = setUp({ batchSize: 8, runMs: 2, arrivalsPerMs: 0.2, launchWhenIdle: false });
    for (let i = 0; i < 3; i++) {
      s.clock.set(i);
      s.arrive(40);
    }
    // The head's latest start is 40 - 2 = 38: by then the batch of three launches, whatever woke first.
    s.clock.set(3);
    while (s.clock.now() < 38 && s.finish.length === 0) s.manual.advance(1);
    expect(s.finish).toHaveLength(1);
    expect(s.lane.queue.size).toBe(0);
  });
});
