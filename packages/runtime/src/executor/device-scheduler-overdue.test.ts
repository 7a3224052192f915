import { describe, expect, it } from 'vitest';
import { createManualClock, type EparaError, type Timers } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import type { DeviceHandle } from '../devices/device-port.js';
import type { WorkItem } from '../batching/work-item.js';
import { DeviceScheduler } from './device-scheduler.js';
import { OVERDUE_GRACE_MS } from './overdue.js';
import { fakeItem, fakeLane } from '../testing/fake-lane.js';

// A batch its device never answers (a worker stuck inside a run): the scheduler that launched it gives up on its
// items from its own wake-up, at their give-up moments (OVERDUE_GRACE_MS, or the item's budget when longer, past
// the deadline) — every submit settles — and the watch costs no platform timer per batch.

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

function counted(timers: Timers): { timers: Timers; armed: () => number } {
  let armed = 0;
  return { timers: { setTimeout: timers.setTimeout, at: (at, fn) => (armed++, timers.at(at, fn)) }, armed: () => armed };
}

function setUp(batchSize: number) {
  const clock = createManualClock(0);
  const manual = createManualTimers(clock);
  const t = counted(manual);
  const sch: DeviceScheduler = new DeviceScheduler({ device: { id: 'd0' } as DeviceHandle, clock, timers: t.timers, onDispatch: () => undefined });
  const { lane, finish } = fakeLane({ batchSize, runMs: 1, freeAt: () => sch });
  sch.attach(lane);
  const settled: { seq: number; code: string; at: number; details: unknown }[] = [];
  const queue = (deadline: number, o: Partial<WorkItem> = {}): WorkItem => {
    const it = fakeItem(deadline, {
      enqueuedAt: clock.now(),
      settle: (err?: EparaError) => void settled.push({ seq: it.seq, code: err?.code ?? 'ok', at: clock.now(), details: err?.details }),
      ...o,
    });
    lane.queue.push(it);
    return it;
  };
  const arrive = (deadline: number, o: Partial<WorkItem> = {}): WorkItem => {
    const it = queue(deadline, o);
    sch.arrived(lane, it);
    return it;
  };
  return { clock, manual, sch, lane, finish, queue, arrive, settled, armed: t.armed };
}

describe('DeviceScheduler: a batch its device never answers', () => {
  it('gives up on each item of a held batch at its own give-up moment, not before, and frees the device only when it answers', async () => {
    const s = setUp(3);
    const a = s.queue(100); // gives up at 100 + 10 000
    const b = s.queue(50_000); // its budget (50 000) is longer than the grace: at 100 000
    const c = s.queue(200, { frame: true }); // a stream frame: STALE_FRAME, at 200 + 10 000
    s.sch.pump();
    expect(s.finish).toHaveLength(1); // one batch of three, held by the device, never answered
    expect(s.lane.queue.size).toBe(0);
    s.manual.advance(100 + OVERDUE_GRACE_MS - 1);
    expect(s.settled).toEqual([]);
    s.manual.advance(1);
    expect(s.settled).toEqual([{ seq: a.seq, code: 'DEADLINE_EXCEEDED', at: 100 + OVERDUE_GRACE_MS, details: { serviceId: 's', instanceId: 'i', deviceId: 'd0' } }]);
    s.manual.advance(100);
    expect(s.settled.map((x) => [x.seq, x.code, x.at])).toEqual([
      [a.seq, 'DEADLINE_EXCEEDED', 100 + OVERDUE_GRACE_MS],
      [c.seq, 'STALE_FRAME', 200 + OVERDUE_GRACE_MS],
    ]);
    s.manual.advance(100_000 - s.clock.now() - 1);
    expect(s.settled).toHaveLength(2);
    s.manual.advance(1);
    expect(s.settled.map((x) => [x.seq, x.code, x.at])).toContainEqual([b.seq, 'DEADLINE_EXCEEDED', 100_000]);
    expect(s.settled).toHaveLength(3);
    // Nothing is left to give up on: no wake-up stays armed for the batch.
    s.manual.advance(1_000_000);
    expect(s.settled).toHaveLength(3);
    // The batch keeps its place until the device answers (each item settled once: the answer finds them settled).
    expect(s.sch.busy).toBe(true);
    s.finish[0]!();
    await tick();
    expect(s.sch.busy).toBe(false);
    expect(s.settled).toHaveLength(3);
  });

  it('gives up on the batch sent ahead behind a stuck one too', () => {
    const s = setUp(1);
    const stuck = s.arrive(100);
    const ahead = s.arrive(150);
    expect(s.finish).toHaveLength(2); // one running, one sent ahead: the device answers neither
    s.manual.advance(150 + OVERDUE_GRACE_MS);
    expect(s.settled.map((x) => [x.seq, x.code, x.at])).toEqual([
      [stuck.seq, 'DEADLINE_EXCEEDED', 100 + OVERDUE_GRACE_MS],
      [ahead.seq, 'DEADLINE_EXCEEDED', 150 + OVERDUE_GRACE_MS],
    ]);
  });

  it('learns no timer lag from a wake-up set only for a give-up moment: a lag from a burst long ago stays faded', async () => {
    const s = setUp(1);
    s.arrive(50); // runs (gives up at 10 050 if never answered)
    s.arrive(30); // sent ahead (gives up at 10 030)
    s.arrive(40); // waits: the device holds two batches; the wake-up is set for its expiry
    expect(s.finish).toHaveLength(2);
    // A busy host: the expiry wake-up fires 500 ms late (the scheduler learns a timer lag of 50 ms from it).
    s.clock.set(539);
    expect(s.manual.fire(539)).toBe(1);
    s.finish[0]!();
    s.finish[1]!();
    await tick();
    // Ten seconds later the lag has faded (half-life 250 ms); the wake-up set for the batches' give-up moment,
    // which ended long ago, comes now and on time.
    s.manual.advance(10_030 - s.clock.now());
    // A request with 30 ms to go is served: an expiry lead of twice a revived lag (~90 ms) would have dropped it.
    s.arrive(s.clock.now() + 30);
    expect(s.finish).toHaveLength(3);
    expect(s.settled).toEqual([]);
  });

  it('arms no timer per batch while the device runs dry between batches (sequential requests)', async () => {
    const s = setUp(1);
    s.arrive(1000);
    s.finish[0]!();
    await tick();
    const armed = s.armed();
    for (let i = 1; i <= 50; i++) {
      s.clock.set(i);
      s.arrive(i + 1000);
      expect(s.finish).toHaveLength(i + 1);
      s.finish[i]!();
      await tick();
    }
    // Every batch is watched (its give-up moment rides on the wake-up), but the timer armed for the first still
    // serves: it comes before every later one, and re-arms for the latest when it fires.
    expect(s.armed() - armed).toBe(0);
    // Nothing the device answered is given up on, however long after.
    s.manual.advance(1_000_000);
    expect(s.settled).toEqual([]);
  });
});
