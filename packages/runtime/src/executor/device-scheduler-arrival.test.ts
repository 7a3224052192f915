import { describe, expect, it } from 'vitest';
import { createManualClock } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import type { DeviceHandle } from '../devices/device-port.js';
import type { WorkItem } from '../batching/work-item.js';
import type { DeviceWork } from './device-work.js';
import { DeviceScheduler, type DispatchInfo } from './device-scheduler.js';
import { fakeItem, fakeLane, type FakeLaneOptions } from '../testing/fake-lane.js';

/** A scheduler on a manual clock and timers, recording every launch (lane, time, size, planned start). */
function setup() {
  const clock = createManualClock(0);
  const timers = createManualTimers(clock);
  const launches: [string, number, number, number][] = [];
  const sch = new DeviceScheduler({ device: { id: 'd0' } as DeviceHandle, clock, timers, onDispatch: (d: DispatchInfo) => void launches.push([d.lane.id, d.at, d.items.length, d.plannedStart]) });
  const lane = (o: FakeLaneOptions = {}) => {
    const dropped: WorkItem[] = [];
    const made = fakeLane({ freeAt: () => sch, drop: (i) => void dropped.push(i), ...o });
    sch.attach(made.lane);
    const arrive = (deadline: number): WorkItem => {
      const item = fakeItem(deadline);
      made.lane.queue.push(item);
      sch.arrived(made.lane, item);
      return item;
    };
    return { ...made, dropped, arrive };
  };
  return { clock, timers, sch, launches, lane };
}

/** Engine work that runs until the test ends it (`end()`), logging its start. */
function work(deadline: number, expectedMs: number, log: string[], o: { followUpDeadline?: number; id?: string } = {}) {
  let end!: () => void;
  const done = new Promise<void>((r) => (end = r));
  const w: DeviceWork = {
    ownerId: o.id ?? `w${deadline}`,
    deadline,
    expectedMs,
    ...(o.followUpDeadline === undefined ? {} : { followUpDeadline: o.followUpDeadline }),
    run: () => (log.push(w.ownerId), done),
    fail: () => void log.push(`${w.ownerId} failed`),
  };
  return { w, end: () => end() };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('DeviceScheduler: arrivals', () => {
  it('launches an arrival on an idle device at once', () => {
    const { sch, launches, lane } = setup();
    const a = lane({ batchSize: 1 });
    a.arrive(100);
    expect(launches).toEqual([['i', 0, 1, 0]]);
    expect(sch.busy).toBe(true);
  });

  it('sends an arriving partial batch ahead at once behind engine work alone', () => {
    const { sch, launches, lane } = setup();
    const log: string[] = [];
    const step = work(50, 5, log);
    sch.enqueueWork(step.w);
    expect(log).toEqual(['w50']);
    // The device runs only engine work (a short step): a lane that launches when idle sends its one item behind it.
    const a = lane({ batchSize: 2, runMs: 10 });
    a.arrive(100);
    expect(launches).toEqual([['i', 0, 1, 5]]);
  });

  it('wakes a saturated device to reject an arriving item by its deadline, not when a batch ends', () => {
    const { clock, timers, launches, lane } = setup();
    const a = lane({ batchSize: 1, runMs: 10 });
    a.arrive(1000);
    a.arrive(1000);
    expect(launches).toHaveLength(2); // one running, one sent ahead: the device holds all it may
    clock.set(1);
    // Due at 60, then at 40: both could still start at 20 and end by their deadlines. Nothing ends; the second, due
    // first, becomes hopeless past 40 − 10 and is rejected then by the wake-up its arrival set.
    const later = a.arrive(60);
    const sooner = a.arrive(40);
    timers.advance(28);
    expect(a.dropped).toEqual([]);
    timers.advance(3);
    expect(a.dropped).toEqual([sooner]);
    expect(clock.now()).toBeLessThan(sooner.deadline);
    timers.advance(20);
    expect(a.dropped).toEqual([sooner, later]);
    expect(launches).toHaveLength(2);
    // The wake-up that emptied the queue is spent: the next arrival sets its own, and is rejected by it too.
    const next = a.arrive(100); // at 52: hopeless past 100 − 10
    timers.advance(37);
    expect(a.dropped).toEqual([sooner, later]);
    timers.advance(10);
    expect(a.dropped).toEqual([sooner, later, next]);
    expect(clock.now()).toBeLessThan(next.deadline);
  });
});

describe('DeviceScheduler: an arrival while engine work waits', () => {
  it('replans on a device that holds all it may: what expired meanwhile is rejected and the waiting step launches', () => {
    const { clock, sch, launches, lane } = setup();
    const log: string[] = [];
    const a = lane({ batchSize: 1, runMs: 10 });
    a.arrive(1000);
    a.arrive(1000);
    expect(launches).toHaveLength(2); // one running, one sent ahead
    const head = a.arrive(30);
    // Due later than the lane's head: the step waits behind it (the head's batch cannot be sent ahead).
    sch.enqueueWork(work(500, 5, log).w);
    expect(log).toEqual([]);
    // The head's expiry wake-up (at 20) comes late: the next arrival finds it hopeless, and the step first.
    clock.set(25);
    a.arrive(1000);
    expect(a.dropped).toEqual([head]);
    expect(log).toEqual(['w500']);
  });
});

describe('DeviceScheduler: a lane on several devices', () => {
  it('sends no batch ahead to this busy device when another device of the lane frees sooner', () => {
    const { launches, lane } = setup();
    // Its other device is free now: the full batch waits for it rather than queue behind this device's run.
    const a = lane({ batchSize: 1, runMs: 10, earliestStart: (now) => now });
    a.arrive(1000);
    a.arrive(1000);
    expect(launches).toEqual([['i', 0, 1, 0]]);
  });
});

describe('DeviceScheduler: a head that cannot keep its guard', () => {
  it('leaves the idle device to an item that keeps its guard, rather than run alone inside its own', () => {
    const { sch, lane } = setup();
    const ran: WorkItem[][] = [];
    // Due at 12 with 10 ms of run and a 5 ms guard: on time alone, but inside its guard (ends at 10 > 12 − 5).
    const a = lane({ batchSize: 1, runMs: 10, guardMs: 5, run: (items) => void ran.push([...items]) });
    const head = fakeItem(12);
    const keeps = fakeItem(100);
    a.lane.queue.push(head);
    a.lane.queue.push(keeps);
    sch.pump();
    expect(ran).toEqual([[keeps]]);
    expect(a.dropped).toEqual([head]); // behind that run it cannot make its deadline: rejected now
  });
});

describe('DeviceScheduler: attach, detach, close', () => {
  it('arms no wake-up for an arrival once closed, even on a device that holds all it may', () => {
    const { sch, timers, launches, lane } = setup();
    const a = lane({ batchSize: 1, runMs: 10 });
    a.arrive(1000);
    a.arrive(1000);
    expect(launches).toHaveLength(2);
    sch.close();
    a.arrive(50);
    expect(timers.pending).toBe(0);
    expect(launches).toHaveLength(2);
  });

  it('frees the device once for a batch whose end is reported twice', async () => {
    const { launches, lane } = setup();
    const a = lane({ batchSize: 1, runMs: 10 });
    for (let i = 0; i < 4; i++) a.arrive(1000);
    expect(launches).toHaveLength(2);
    a.finish[0]!();
    a.finish[0]!();
    await tick();
    expect(launches).toHaveLength(3); // one ended: one more sent ahead behind the one still running
  });

  it('detaching a lane never attached leaves the attached ones scheduled', () => {
    const { sch, launches, lane } = setup();
    lane({ id: 'a', batchSize: 1 });
    const b = lane({ id: 'b', batchSize: 1 });
    sch.detach(fakeLane({ id: 'stranger' }).lane);
    b.arrive(100);
    expect(launches).toEqual([['b', 0, 1, 0]]);
  });

  it('a lane attached twice is scheduled once, and one detach takes it off the device', () => {
    const { sch, launches, lane } = setup();
    const a = lane({ id: 'a', batchSize: 1 });
    sch.attach(a.lane);
    sch.detach(a.lane);
    a.arrive(100);
    expect(launches).toEqual([]);
  });
});

describe('DeviceScheduler: lanes sharing a device', () => {
  it('launches the earliest-deadline lane early enough that the next one, with its guard, still makes its deadline', async () => {
    const { clock, timers, launches, lane } = setup();
    // Neither lane launches a partial batch while it can wait: alone, a would start at 90 and b at 92 (10 ms of
    // run and b's 3 ms guard before 105). Together b must run after a: a starts by 105 − 3 − 10 − 10 = 82.
    const a = lane({ id: 'a', batchSize: 4, runMs: 10, launchWhenIdle: false });
    const b = lane({ id: 'b', batchSize: 4, runMs: 10, launchWhenIdle: false, guardMs: 3 });
    a.arrive(100);
    b.arrive(105);
    expect(launches).toEqual([]);
    timers.advance(81.9);
    expect(launches).toEqual([]);
    timers.advance(0.1);
    expect(launches).toEqual([['a', 82, 1, 82]]);
    clock.set(92);
    a.finish[0]!();
    await tick();
    expect(launches).toEqual([
      ['a', 82, 1, 82],
      ['b', 92, 1, 92],
    ]);
    expect([...a.dropped, ...b.dropped]).toEqual([]);
  });
  it('starts the first lane earlier by twice the timer lag it measured, so the next one keeps its deadline', () => {
    const { clock, timers, launches, lane } = setup();
    // A wake-up that comes 10 ms late (due at 40 for c's partial batch, run at 50): the lag learned is 0.1 × 10.
    const c = lane({ id: 'c', batchSize: 4, runMs: 10, launchWhenIdle: false });
    const late = c.arrive(50);
    clock.set(50);
    timers.fire(50);
    expect(c.dropped).toEqual([late]);
    // As in the case above, 50 ms on: a starts by 155 − 3 − 10 − 10 = 132 less twice the lag. Each wake-up that
    // comes on time learns a lag of 0 (the lag decays by 0.9), so the start creeps toward 132, never past it.
    const a = lane({ id: 'a', batchSize: 4, runMs: 10, launchWhenIdle: false });
    const b = lane({ id: 'b', batchSize: 4, runMs: 10, launchWhenIdle: false, guardMs: 3 });
    a.arrive(150);
    b.arrive(155);
    timers.advance(79.9);
    expect(launches).toEqual([]);
    timers.advance(2.1);
    expect(launches.map(([id]) => id)).toEqual(['a']);
    expect(launches[0]![1]).toBeGreaterThanOrEqual(130);
    expect(launches[0]![1]).toBeLessThanOrEqual(132);
  });

  it('orders the lanes by their heads’ deadlines, whatever order they were attached in', () => {
    const { timers, launches, lane } = setup();
    const a = lane({ id: 'a', batchSize: 4, runMs: 10, launchWhenIdle: false });
    const b = lane({ id: 'b', batchSize: 4, runMs: 10, launchWhenIdle: false });
    a.arrive(105);
    b.arrive(100);
    // b first (due 100), then a: b starts by 105 − 10 − 10 = 85.
    timers.advance(84.9);
    expect(launches).toEqual([]);
    timers.advance(0.1);
    expect(launches).toEqual([['b', 85, 1, 85]]);
  });

  it('launches lanes whose heads are due at the same time in the order they were attached', () => {
    const { sch, launches, lane } = setup();
    const a = lane({ id: 'a', batchSize: 1, runMs: 10 });
    const b = lane({ id: 'b', batchSize: 1, runMs: 10 });
    b.lane.queue.push(fakeItem(100));
    a.lane.queue.push(fakeItem(100));
    sch.pump();
    // a now, b sent ahead behind it.
    expect(launches).toEqual([
      ['a', 0, 1, 0],
      ['b', 0, 1, 10],
    ]);
  });

  it('counts, in that start, the margin the later lane learned', async () => {
    const { clock, timers, sch, launches, lane } = setup();
    const a = lane({ id: 'a', batchSize: 4, runMs: 10, launchWhenIdle: false });
    const b = lane({ id: 'b', batchSize: 4, runMs: 10, launchWhenIdle: false, guardMs: 3 });
    // Ten full batches of b, each handed back 4 ms after its predicted end: b learns a 4 ms margin. Then ten pairs
    // of full batches whose second, sent ahead, ends on time: no margin for batches sent ahead, which the slack below
    // (a batch that starts on an idle device) must not use.
    let f = 0;
    for (let k = 0; k < 20; k++) {
      clock.set(k * 100);
      for (let i = 0; i < (k < 10 ? 4 : 8); i++) b.arrive(k * 100 + 90);
      clock.set(k * 100 + 14);
      b.finish[f++]!(10);
      await tick();
      if (k < 10) continue;
      clock.set(k * 100 + 20);
      b.finish[f++]!(10);
      await tick();
    }
    expect(sch.learnedGuardMs(b.lane, 1)).toBeCloseTo(4);
    expect(sch.learnedGuardMs(b.lane, 1, true)).toBe(0);
    launches.length = 0;
    clock.set(2000);
    a.arrive(2100);
    b.arrive(2105);
    // a starts by 2105 − (3 + 4) − 10 − 10 = 2078.
    timers.advance(77.9);
    expect(launches).toEqual([]);
    timers.advance(0.1);
    expect(launches).toEqual([['a', 2078, 1, 2078]]);
  });
});

describe('DeviceScheduler: learned margins', () => {
  it('keeps apart what batches started on an idle device and batches sent ahead ended late, and reads the first by default', async () => {
    const { clock, sch, lane } = setup();
    const a = lane({ batchSize: 1, runMs: 10 });
    let f = 0;
    // Ten batches alone on the device, each handed back 4 ms after its predicted end.
    for (let k = 0; k < 10; k++) {
      clock.set(k * 100);
      a.arrive(k * 100 + 90);
      clock.set(k * 100 + 14);
      a.finish[f++]!(10);
      await tick();
    }
    // Ten pairs: the first runs 4 ms late again, the second, sent ahead (planned to start at 10), ends at 20: on time.
    for (let k = 10; k < 20; k++) {
      clock.set(k * 100);
      a.arrive(k * 100 + 90);
      a.arrive(k * 100 + 90);
      clock.set(k * 100 + 14);
      a.finish[f++]!(10);
      await tick();
      clock.set(k * 100 + 20);
      a.finish[f++]!(10);
      await tick();
    }
    expect(sch.learnedGuardMs(a.lane, 1)).toBeCloseTo(4);
    expect(sch.learnedGuardMs(a.lane, 1, true)).toBe(0);
    expect(sch.typicalLatenessMs(a.lane)).toBeCloseTo(4);
    expect(sch.typicalLatenessMs(a.lane, 1, true)).toBe(0);
  });
});

describe('DeviceScheduler: wake-ups', () => {
  it('wakes when a waiting batch should have filled, and launches it then if it cannot fill before its latest start', () => {
    const { timers, launches, lane } = setup();
    // One item due at 95 (latest start 85), arrivals 0.1/ms: three more expected by 30. The scheduler looks again at
    // 30 and at 60; at 60 the batch would fill only at 90, past 85, so it launches the one item then.
    const a = lane({ batchSize: 4, runMs: 10, launchWhenIdle: false, arrivalsPerMs: 0.1 });
    a.arrive(95);
    timers.advance(59.9);
    expect(launches).toEqual([]);
    timers.advance(0.1);
    expect(launches).toEqual([['i', 60, 1, 60]]);
  });
});

describe('DeviceScheduler: engine work', () => {
  it('reports the load its lanes share and the residual an urgent step waits for', () => {
    const { sch, lane } = setup();
    lane({ id: 'a', runMs: 10, loadShare: () => 0.3 });
    lane({ id: 'b', runMs: 20, loadShare: () => 0.5 });
    const c = lane({ id: 'c', runMs: 40, loadShare: () => -0.25 });
    // Sum of the shares (a negative one as reported); residual: Σ max(0, ρ) × batch time / 2 = 1.5 + 5 (c counts 0).
    expect(sch.sharedLoad(0)).toBeCloseTo(0.55);
    expect(sch.residualMs(0)).toBeCloseTo(6.5);
    sch.detach(c.lane);
    lane({ id: 'd', runMs: 10, loadShare: () => 0.7 });
    // Shares past 1 (1.5) scale the residual down: (1.5 + 5 + 3.5) / 1.5.
    expect(sch.sharedLoad(0)).toBeCloseTo(1.5);
    expect(sch.residualMs(0)).toBeCloseTo(10 / 1.5);
  });

  it('launches work queued together in deadline order, and counts what waits', () => {
    const { sch, lane } = setup();
    const log: string[] = [];
    const steps = [work(30, 3, log), work(10, 1, log), work(20, 2, log), work(20, 4, log, { id: 'w20b' })];
    // Work queued while the scheduler pumps (from a lane's launch) waits for that pump, then goes in EDF order (ties
    // in arrival order).
    let queued = -1;
    const a = lane({
      batchSize: 1,
      run: () => {
        for (const s of steps) sch.enqueueWork(s.w);
        queued = sch.queuedWorkMs();
      },
    });
    a.arrive(100);
    expect(queued).toBe(10);
    expect(log).toEqual(['w10', 'w20', 'w20b', 'w30']);
    expect(sch.queuedWorkMs()).toBe(0);
    expect(sch.counters().batches).toBe(5);
  });

  it('fails queued work with CLOSED when closed, and work enqueued after', () => {
    const { sch, lane } = setup();
    const log: string[] = [];
    const a = lane({
      batchSize: 1,
      run: () => {
        sch.enqueueWork(work(10, 1, log).w);
        sch.close();
      },
    });
    a.arrive(100);
    sch.enqueueWork(work(20, 1, log).w);
    expect(log).toEqual(['w10 failed', 'w20 failed']);
  });

  it('sends a batch behind a step only if the step’s announced follow-up still makes its deadline after it', () => {
    // The step runs 0–5 and announces a follow-up of 5 ms; a full batch of 10 ms behind it ends at 15, the
    // follow-up then at 20.
    const sentAhead = (followUpDeadline: number, batchDeadline = 100): boolean => {
      const { launches, lane, sch } = setup();
      const log: string[] = [];
      sch.enqueueWork(work(8, 5, log, { followUpDeadline }).w);
      lane({ batchSize: 1, runMs: 10 }).arrive(batchDeadline);
      return launches.length === 1;
    };
    expect(sentAhead(20)).toBe(true);
    expect(sentAhead(19.9)).toBe(false);
    // A batch due no later than the follow-up goes first whatever it costs the follow-up.
    expect(sentAhead(19.9, 19.9)).toBe(true);
    expect(sentAhead(19.9, 19.8)).toBe(true);
  });

  it('forgets a step once it ended: neither its follow-up nor its place on the device holds what comes after', async () => {
    const { launches, lane, sch, clock } = setup();
    const log: string[] = [];
    const first = work(8, 5, log, { followUpDeadline: 12 });
    sch.enqueueWork(first.w);
    clock.set(5);
    first.end();
    await tick();
    // A second step without a follow-up: a full batch goes behind it (the first's follow-up, due 12, is gone).
    sch.enqueueWork(work(30, 5, log, { id: 'second' }).w);
    const a = lane({ batchSize: 1, runMs: 10 });
    a.arrive(100);
    expect(launches).toEqual([['i', 5, 1, 10]]);
    // Behind that batch (no longer behind engine work only), a partial batch of a lane that launches when idle waits.
    const b = lane({ id: 'b', batchSize: 2, runMs: 10 });
    b.arrive(100);
    expect(launches).toHaveLength(1);
  });

  it('sends the held batch once the step with the follow-up ended', async () => {
    const { launches, lane, sch, clock } = setup();
    const log: string[] = [];
    const step = work(8, 5, log, { followUpDeadline: 12 });
    sch.enqueueWork(step.w);
    lane({ batchSize: 1, runMs: 10 }).arrive(100);
    expect(launches).toEqual([]);
    clock.set(5);
    step.end();
    await tick();
    expect(launches).toEqual([['i', 5, 1, 5]]);
    expect(sch.busy).toBe(true);
  });
});
