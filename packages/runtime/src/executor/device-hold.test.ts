import { describe, expect, it } from 'vitest';
import { affineProfile, createManualClock, latencyAt } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import type { DeviceHandle } from '../devices/device-port.js';
import { DeviceScheduler } from './device-scheduler.js';
import { fakeItem, fakeLane } from '../testing/fake-lane.js';
import { HoldCorrections } from './hold-corrections.js';
import { estimateCompletion } from './estimate-completion.js';
import { LaneLateness } from './lane-lateness.js';

// Virtual time throughout: a manual clock, and batches that end when the test says so, reporting 10 ms of
// compute (what the profile predicts for a batch of two) however long the host took to see their outputs.

const profile = affineProfile('cpu-1t', { fixedMs: 8, perItemMs: 1, maxBatch: 8 });
const COMPUTE_MS = latencyAt(profile, 2);

/** A lane priced as `ModelInstance` prices it (profile × hold correction), recording what the scheduler taught it. */
function setUp() {
  const clock = createManualClock(0);
  const corrections = new HoldCorrections();
  const holds: number[] = [];
  let sch!: DeviceScheduler;
  const { lane, finish } = fakeLane({
    runMs: (n) => latencyAt(profile, n),
    latencyMs: (d, n, now) => latencyAt(profile, n) * corrections.of(d, n, now),
    freeAt: () => sch,
    observeHold: (d, n, holdMs, now) => {
      holds.push(holdMs);
      corrections.observe(profile, d, n, holdMs, now);
    },
  });
  sch = new DeviceScheduler({ device: { id: 'd0' } as DeviceHandle, clock, timers: createManualTimers(clock), onDispatch: () => undefined });
  sch.attach(lane);
  const push = (k: number): void => {
    for (let i = 0; i < k; i++) lane.queue.push(fakeItem(1e9, { enqueuedAt: clock.now() }));
  };
  return { clock, corrections, holds, finish, sch, lane, push };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('device hold time', () => {
  it('counts a batch sent ahead from the end of the batch before it, not from its dispatch', async () => {
    const s = setUp();
    s.push(4);
    s.sch.pump();
    // Both dispatched at 0: one running, one sent ahead into the worker.
    expect(s.finish).toHaveLength(2);
    // The worker runs them back to back (10 ms each); the host sees each one's outputs 4 ms after it ends.
    s.clock.set(14);
    s.finish[0]!(COMPUTE_MS);
    await tick();
    s.clock.set(24);
    s.finish[1]!(COMPUTE_MS);
    await tick();
    // The second held the device 24 − 14 = 10 ms: its first 14 ms after dispatch were the first one's hold.
    expect(s.holds).toEqual([14, 10]);
  });

  it('counts from the dispatch a batch launched on an idle device', async () => {
    const s = setUp();
    s.clock.set(100); // the device has been idle since long before
    s.push(2);
    s.sch.pump();
    s.clock.set(115);
    s.finish[0]!(COMPUTE_MS);
    await tick();
    expect(s.holds).toEqual([15]);
  });

  it('counts a batch of twice the profiled input size at half its hold, and learns nothing from a failed run', async () => {
    const s = setUp();
    s.clock.set(100);
    s.lane.queue.push(fakeItem(1e9, { enqueuedAt: 100, costScale: 2 }));
    s.push(1);
    s.sch.pump();
    s.clock.set(120);
    s.finish[0]!(COMPUTE_MS);
    await tick();
    expect(s.holds).toEqual([10]); // 20 ms for inputs twice the size: 10 ms per profiled batch
    s.push(2);
    s.sch.pump();
    s.clock.set(140);
    s.finish[1]!(undefined); // failed: no compute time reported
    await tick();
    expect(s.holds).toEqual([10]);
  });

  it('prices queued batches at what they hold the device, not at their compute time', async () => {
    const s = setUp();
    // A device that computes as profiled but takes 4 ms of hand-offs per batch (no overlap: the worker waits
    // for a core), under a steady backlog.
    let lastEnd = 0;
    const dispatchedAt: number[] = [];
    s.push(2);
    s.sch.pump();
    dispatchedAt.push(0);
    for (let b = 0; b < 40; b++) {
      const at = Math.max(dispatchedAt[b]!, lastEnd) + COMPUTE_MS + 4;
      s.clock.set(at);
      lastEnd = at;
      s.push(2); // the next batch's items arrive as this one ends
      s.finish[b]!(COMPUTE_MS);
      await tick();
      dispatchedAt.push(at);
    }
    expect(s.holds.every((h) => h === COMPUTE_MS + 4)).toBe(true);
    // Learned per size class: a batch of two is expected to hold the device 14 ms, not compute 10.
    expect(s.sch.expectedMs(s.lane, 2, s.clock.now())).toBeCloseTo(14, 1);
    // A new item behind two queued batches (the one running ends at `lastEnd` + 14): 14 ms each, then its own.
    s.lane.queue.removeAll([...s.lane.queue.items]);
    s.push(4);
    const now = s.clock.now();
    const own = latencyAt(profile, 1) * s.corrections.of('d0', 1, now);
    expect(own).toBeGreaterThan(latencyAt(profile, 1) * 1.3); // a class not seen yet starts from all sizes
    const estimate = estimateCompletion(s.lane, [s.sch], now) - s.sch.learnedGuardMs(s.lane);
    expect(estimate).toBeCloseTo(s.sch.freeAt(now) + 2 * 14 + own, 0);
  });
});

describe('LaneLateness with hold-time estimates', () => {
  it('does not count as lateness the hand-offs the estimate already holds', () => {
    const l = new LaneLateness();
    // Predicted 14 ms (compute 10 + hand-offs 4, as learned), computed 10, outputs on the host 14 ms after the start.
    for (let i = 0; i < 10; i++) l.observe({ n: 2, expectedMs: 14, plannedStart: i * 14, end: (i + 1) * 14, runMs: 10, ahead: false });
    expect(l.marginMs(2, false, 140)).toBe(0);
    // Past the prediction it still learns the excess: 3 ms more hand-off than the estimate holds.
    for (let i = 10; i < 20; i++) l.observe({ n: 2, expectedMs: 14, plannedStart: i * 17, end: (i + 1) * 17, runMs: 10, ahead: false });
    expect(l.marginMs(2, false, 340)).toBe(3);
  });
});

describe('HoldCorrections', () => {
  it('keeps a correction per batch-size class', () => {
    const c = new HoldCorrections();
    // A fixed 9 ms hand-off per batch: it doubles a lone item's time, and weighs little on a batch of eight.
    for (let i = 0; i < 30; i++) {
      c.observe(profile, 'd', 1, latencyAt(profile, 1) + 9, i);
      c.observe(profile, 'd', 8, latencyAt(profile, 8) + 9, i);
    }
    expect(c.of('d', 1, 30)).toBeCloseTo(2, 1);
    expect(c.of('d', 8, 30)).toBeCloseTo(1 + 9 / 16, 1);
    expect(c.of('other', 1, 30)).toBe(1);
  });

  it('is bounded against a stall and fades back to the profile when no batch refreshes it', () => {
    const c = new HoldCorrections();
    c.observe(profile, 'd', 2, 60_000, 1000); // one batch held the device for a minute
    expect(c.of('d', 2, 1000)).toBeCloseTo(0.8 + 0.2 * 4, 6);
    // Nothing ran since (its estimate turned work away): kept for a second, then halved every two seconds.
    expect(c.of('d', 2, 2000)).toBeCloseTo(1.6, 6);
    expect(c.of('d', 2, 4000)).toBeCloseTo(1 + 0.3, 6);
    expect(c.of('d', 2, 22_000)).toBeLessThan(1.001);
    // An optimistic figure never exceeds the profile's.
    expect(c.optimisticMs(profile, 2, ['d'], 1000)).toBe(latencyAt(profile, 2));
  });

  it('ignores a hold that is not a positive finite time', () => {
    const c = new HoldCorrections();
    for (const ms of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) c.observe(profile, 'd', 1, ms, 0);
    expect(c.version).toBe(0);
    expect(c.of('d', 1, 0)).toBe(1);
  });
});
