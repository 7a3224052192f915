import { describe, expect, it } from 'vitest';
import { createManualClock } from '@epara/core';
import type { DeviceHandle } from '../devices/device-port.js';
import type { WorkItem } from '../batching/work-item.js';
import { createManualTimers } from '@epara/core/testing';
import { DeviceScheduler } from './device-scheduler.js';
import { fakeItem, fakeLane } from '../testing/fake-lane.js';

/** A lane whose batches end when the test says so (every batch expected to take `runMs`), recording its drops. */
function schedulerLane(scheduler: () => DeviceScheduler, runMs: number | ((n: number) => number), o: { dropMs?: number; batchSize?: number; load?: number; skip?: boolean } = {}) {
  const dropped: WorkItem[] = [];
  const { lane, finish } = fakeLane({
    runMs,
    freeAt: scheduler,
    batchSize: o.batchSize,
    loadShare: () => o.load ?? 0,
    skipShrinkingHead: o.skip === true,
    drop: (item) => void dropped.push(item),
    ...(o.dropMs === undefined ? {} : { dropLatencyMs: () => o.dropMs! }),
  });
  return { lane, finish, dropped };
}

const item = (deadline: number): WorkItem => fakeItem(deadline);
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('DeviceScheduler', () => {
  it('predicts the device free from the last actual end under a steady backlog, not from the dispatch-time guess', async () => {
    const clock = createManualClock(0);
    const sch: DeviceScheduler = new DeviceScheduler({ device: { id: 'd0' } as DeviceHandle, clock, timers: createManualTimers(), onDispatch: () => undefined });
    const { lane, finish } = schedulerLane(() => sch, 5);
    sch.attach(lane);
    for (let i = 0; i < 4; i++) lane.queue.push(item(1000));
    sch.pump();
    // One batch running, one full batch sent ahead (expected to start at 5).
    expect(finish).toHaveLength(2);
    expect(sch.freeAt(0)).toBe(10);
    // The first batch overran: it ended at 8, so the second started at 8 and should end near 13, not 10.
    clock.set(8);
    finish[0]!();
    await tick();
    expect(sch.freeAt(8)).toBe(13);
  });

  it('rejects, right after a launch, the items that only the launched batch could have served', () => {
    const clock = createManualClock(0);
    const sch: DeviceScheduler = new DeviceScheduler({ device: { id: 'd0' } as DeviceHandle, clock, timers: createManualTimers(), onDispatch: () => undefined });
    const { lane, dropped } = schedulerLane(() => sch, 5);
    sch.attach(lane);
    // Two launch together at 0 (ending at 5); a third due at 7 cannot run after them (5 + 5 > 7).
    const late = item(7);
    for (const it of [item(6), item(6), late]) lane.queue.push(it);
    sch.pump();
    expect(dropped).toEqual([late]);
  });

  it('drops, instead of launching alone, an item the current estimate says would finish late', () => {
    const clock = createManualClock(0);
    const sch: DeviceScheduler = new DeviceScheduler({ device: { id: 'd0' } as DeviceHandle, clock, timers: createManualTimers(clock), onDispatch: () => undefined });
    // The device runs slower than profiled: 8 ms expected, 5 ms optimistic (the profile).
    const { lane, finish, dropped } = schedulerLane(() => sch, 8, { dropMs: 5, batchSize: 1 });
    sch.attach(lane);
    const doomed = item(6); // optimistically on time (5 ≤ 6), expected 2 ms late
    const fine = item(50);
    lane.queue.push(doomed);
    lane.queue.push(fine);
    sch.pump();
    expect(dropped).toEqual([doomed]);
    expect(finish).toHaveLength(1); // the other one runs
  });

  it('rejects a queued item by its deadline while a batch overruns, not when the device frees', () => {
    const clock = createManualClock(0);
    const timers = createManualTimers(clock);
    const sch: DeviceScheduler = new DeviceScheduler({ device: { id: 'd0' } as DeviceHandle, clock, timers, onDispatch: () => undefined });
    const { lane, finish, dropped } = schedulerLane(() => sch, 30);
    sch.attach(lane);
    lane.queue.push(item(1000));
    lane.queue.push(item(1000));
    sch.pump();
    expect(finish).toHaveLength(1); // a full batch, expected to run until 30
    // Due at 70: it can start at 30 and end at 60, so it stays queued (alone it is no batch to send ahead).
    clock.set(1);
    const waiting = item(70);
    lane.queue.push(waiting);
    sch.pump();
    expect(dropped).toEqual([]);
    // The running batch overruns and nothing arrives: past 70 − 30 even a run started now misses. The
    // expiry wake-up rejects it then, by its deadline, though the batch still runs.
    for (const t of [30, 39.9, 40.01]) {
      clock.set(t);
      timers.fire(t);
    }
    expect(dropped).toEqual([waiting]);
    expect(finish).toHaveLength(1);
    expect(clock.now()).toBeLessThanOrEqual(waiting.deadline);
  });

  it('learns lateness per batch size from completions and keeps it at launch', async () => {
    const clock = createManualClock(0);
    const sch: DeviceScheduler = new DeviceScheduler({ device: { id: 'd0' } as DeviceHandle, clock, timers: createManualTimers(clock), onDispatch: () => undefined });
    const { lane, finish, dropped } = schedulerLane(() => sch, 5, { batchSize: 2 });
    sch.attach(lane);
    // Twenty batches of 2, each 3 ms later than its 5 ms estimate.
    for (let k = 0; k < 20; k++) {
      const t = k * 100;
      clock.set(t);
      lane.queue.push(item(t + 90));
      lane.queue.push(item(t + 90));
      sch.pump();
      clock.set(t + 8);
      finish[k]!();
      await tick();
    }
    expect(sch.learnedGuardMs(lane, 2)).toBeCloseTo(3);
    // A pair due 7 ms from now would be predicted on time (5 ms) but not with the 3 ms learned: 3 ms is how late
    // every batch ended (the median too), so each item is more likely late than not even alone — rejected, where
    // the scheduler used to launch one alone to finish 1 ms late.
    const t = 1950;
    clock.set(t);
    const pair = [item(t + 7), item(t + 7)];
    for (const it of pair) lane.queue.push(it);
    let launched = 0;
    lane.run = (items) => void (launched = items.length);
    sch.pump();
    expect(launched).toBe(0);
    expect(dropped).toEqual(pair);
    // Due 8.5 ms from now, the pair fits with the margin (5 + 3 ≤ 8.5) and runs together.
    const ok = [item(t + 8.5), item(t + 8.5)];
    for (const it of ok) lane.queue.push(it);
    sch.pump();
    expect(launched).toBe(2);
  });

  it('rejects early by the timer lag it measured, and forgets that lag when no timer has measured it lately', async () => {
    const clock = createManualClock(0);
    const timers = createManualTimers(clock);
    const sch: DeviceScheduler = new DeviceScheduler({ device: { id: 'd0' } as DeviceHandle, clock, timers, onDispatch: () => undefined });
    const { lane, finish, dropped } = schedulerLane(() => sch, 5);
    sch.attach(lane);
    lane.queue.push(item(1000));
    lane.queue.push(item(1000));
    sch.pump(); // a full batch runs until 5
    const waiting = item(60);
    lane.queue.push(waiting);
    sch.pump(); // it waits, with an expiry wake-up at 55
    // The host runs that wake-up 40 ms late (a stall): the item is rejected then; the lag is learned (EWMA: 4 ms).
    clock.set(95);
    timers.fire(95);
    expect(dropped).toEqual([waiting]);
    finish[0]!();
    await tick();
    // Right after, an item 11 ms from its deadline is refused: even alone (5) plus twice the lag (8) misses it.
    const tight = item(clock.now() + 11);
    lane.queue.push(tight);
    sch.pump();
    expect(dropped).toEqual([waiting, tight]);
    // Two idle seconds later, with no timer to measure it, the lag has faded: the same request runs.
    clock.set(clock.now() + 2000);
    lane.queue.push(item(clock.now() + 11));
    sch.pump();
    expect(dropped).toHaveLength(2);
    expect(finish).toHaveLength(2);
  });

  it('stops rejecting by a typical lateness no batch has confirmed lately: one item runs as a probe', async () => {
    const clock = createManualClock(0);
    const sch: DeviceScheduler = new DeviceScheduler({ device: { id: 'd0' } as DeviceHandle, clock, timers: createManualTimers(clock), onDispatch: () => undefined });
    const { lane, finish, dropped } = schedulerLane(() => sch, 5, { batchSize: 1 });
    sch.attach(lane);
    // A bad spell: every batch seen 30 ms after its predicted end.
    for (let i = 0; i < 5; i++) {
      lane.queue.push(item(clock.now() + 1000));
      sch.pump();
      clock.set(clock.now() + 35);
      finish[i]!();
      await tick();
    }
    expect(sch.typicalLatenessMs(lane)).toBeCloseTo(30);
    // Right after it, a request due in 20 ms is refused: 5 + 30 > 20.
    const refused = item(clock.now() + 20);
    lane.queue.push(refused);
    sch.pump();
    expect(dropped).toEqual([refused]);
    // No batch has confirmed the lateness for 250 ms: the next such request runs, and its end teaches again.
    clock.set(clock.now() + 300);
    expect(sch.typicalLatenessMs(lane)).toBe(0);
    lane.queue.push(item(clock.now() + 20));
    sch.pump();
    expect(finish).toHaveLength(6);
    expect(dropped).toEqual([refused]);
  });

  it('forgets a learned margin once no batch confirms it, so a lane refused for it can serve again', async () => {
    const clock = createManualClock(0);
    const sch: DeviceScheduler = new DeviceScheduler({ device: { id: 'd0' } as DeviceHandle, clock, timers: createManualTimers(clock), onDispatch: () => undefined });
    const { lane, finish } = schedulerLane(() => sch, 5);
    sch.attach(lane);
    // A bad spell (a cold start): ten batches of one item, each ending 50 ms later than the 5 ms predicted.
    for (let i = 0; i < 10; i++) {
      lane.queue.push(item(clock.now() + 10_000));
      sch.pump();
      clock.set(clock.now() + 55);
      finish[i]!();
      await tick();
    }
    expect(sch.learnedGuardMs(lane)).toBeCloseTo(50, 6);
    // Attached again (the lane placed on the device once more), it keeps what it learned.
    sch.attach(lane);
    expect(sch.learnedGuardMs(lane)).toBeCloseTo(50, 6);
    // A margin that makes every request look late admits none, so no batch runs to correct it: it must age out
    // by itself. It holds while recent…
    clock.set(clock.now() + 1000);
    expect(sch.learnedGuardMs(lane)).toBeCloseTo(50, 6);
    // …and is gone once no batch has confirmed it for the guard's memory (2 s): the next request runs.
    clock.set(clock.now() + 1500);
    expect(sch.learnedGuardMs(lane)).toBe(0);
    lane.queue.push(item(clock.now() + 10_000));
    sch.pump();
    expect(finish).toHaveLength(11);
  });

  it('passes over a head only a small batch could serve when the lane is overloaded (skipShrinkingHead), not otherwise', () => {
    // A mostly fixed cost (10 ms + 1 ms per item): the head, due at 11.5, fits only a batch of one (11 ms); eight
    // later items run in 18 ms, 4.9× as many on-time items per ms. Nine queued are short of the plan's 16, so
    // this is no backlog: only the overload rule may pass the head over.
    const launched = (load: number, skip = true): { first: readonly WorkItem[]; head: WorkItem; dropped: WorkItem[] } => {
      const clock = createManualClock(0);
      const firstBatches: (readonly WorkItem[])[] = [];
      const sch: DeviceScheduler = new DeviceScheduler({ device: { id: 'd0' } as DeviceHandle, clock, timers: createManualTimers(clock), onDispatch: (d) => void firstBatches.push(d.items) });
      const { lane, dropped } = schedulerLane(() => sch, (n) => 10 + n, { batchSize: 16, load, skip });
      sch.attach(lane);
      const head = item(11.5);
      lane.queue.push(head);
      for (let i = 0; i < 8; i++) lane.queue.push(item(1000));
      sch.pump();
      return { first: firstBatches[0]!, head, dropped };
    };
    const calm = launched(0.5);
    expect(calm.first).toEqual([calm.head]);
    const overloaded = launched(0.95);
    expect(overloaded.first).toHaveLength(8);
    expect(overloaded.first).not.toContain(overloaded.head);
    expect(calm.dropped).toEqual([]);
    // Turned off (the executor's default), the overloaded lane serves the head alone too.
    const off = launched(0.95, false);
    expect(off.first).toEqual([off.head]);
    // Passed over, the head became hopeless once the batch took the device (busy until 18): rejected then,
    // before its deadline, rather than left queued.
    expect(overloaded.dropped).toEqual([overloaded.head]);
  });

  it('reports the share of the device the engine work took lately, decayed over a second', async () => {
    const clock = createManualClock(0);
    const sch = new DeviceScheduler({ device: { id: 'd0' } as DeviceHandle, clock, timers: createManualTimers(), onDispatch: () => undefined });
    expect(sch.workShare(0)).toBe(0);
    const step = (expectedMs: number) => ({ ownerId: 'chat', deadline: clock.now() + 50, expectedMs, run: async () => undefined, fail: () => undefined });
    sch.enqueueWork(step(10));
    await tick();
    clock.set(100);
    sch.enqueueWork(step(30));
    await tick();
    // 10 ms launched at 0 and 30 ms at 100: (10·e^−0.1 + 30) ms per 1000 ms at 100, then decaying.
    expect(sch.workShare(100)).toBeCloseTo((10 * Math.exp(-0.1) + 30) / 1000, 12);
    expect(sch.workShare(1100)).toBeCloseTo(((10 * Math.exp(-0.1) + 30) / 1000) * Math.exp(-1), 12);
    // A reading from before the last launch (a caller's `now` taken earlier) counts as of the launch: not grown.
    expect(sch.workShare(50)).toBeCloseTo((10 * Math.exp(-0.1) + 30) / 1000, 12);
    // A third launch decays what came before over the time since the last launch (100 ms), not since 0.
    clock.set(200);
    sch.enqueueWork(step(20));
    await tick();
    expect(sch.workShare(200)).toBeCloseTo(((10 * Math.exp(-0.1) + 30) * Math.exp(-0.1) + 20) / 1000, 12);
    sch.close();
  });
});
