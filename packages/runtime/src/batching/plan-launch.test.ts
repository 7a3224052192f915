import { describe, expect, it } from 'vitest';
import { planLaunch, type LaunchContext } from './plan-launch.js';
import type { StreamSlot, WorkItem } from './work-item.js';

let seq = 0;
const mk = (deadline: number, o: { key?: string; slot?: StreamSlot; priority?: number } = {}): WorkItem => ({
  seq: seq++,
  serviceId: 's',
  inputs: {},
  key: o.key ?? 'k',
  deadline,
  priority: o.priority ?? 0,
  enqueuedAt: 0,
  frame: o.slot !== undefined,
  ...(o.slot ? { slot: o.slot } : {}),
  settle: () => undefined,
});
// L(n) = 10 + 5n
const ctx = (o: Partial<LaunchContext> = {}): LaunchContext => ({
  now: 0,
  startAt: 0,
  batchSize: 4,
  latencyMs: (n) => 10 + 5 * n,
  guardMs: 1,
  launchWhenIdle: false,
  ...o,
});

describe('planLaunch', () => {
  it('drops what cannot finish even alone, and waits to fill until the head deadline requires a launch', () => {
    const items = [mk(10), mk(100), mk(120)];
    const d = planLaunch(items, ctx());
    expect(d.drop).toEqual([items[0]]);
    expect(d.launch).toBeUndefined();
    expect(d.wakeAt).toBe(100 - 1 - 20); // L(2)
    expect(planLaunch(items.slice(1), ctx({ now: 79, startAt: 79 })).launch).toEqual(items.slice(1));
  });

  it('launches a full batch at once and takes only items with the head key', () => {
    const items = [mk(100), mk(101, { key: 'other' }), mk(102), mk(103), mk(104), mk(105)];
    const d = planLaunch(items, ctx());
    expect(d.launch).toEqual([items[0], items[2], items[3], items[4]]);
  });

  it('shrinks a batch until its earliest deadline is met', () => {
    const items = [mk(32), mk(500), mk(500), mk(500)];
    // L(4) = 30, L(3) = 25, L(2) = 20: from 11 only 2 fit before 32, and the head cannot wait longer.
    const d = planLaunch(items, ctx({ now: 11, startAt: 11 }));
    expect(d.launch).toEqual(items.slice(0, 2));
  });

  it('takes at most one frame per stateful stream, none of a stream with a frame in flight', () => {
    const a: StreamSlot = { streamId: 'a', inFlight: false, state: {} };
    const b: StreamSlot = { streamId: 'b', inFlight: true, state: {} };
    const items = [mk(100, { slot: a }), mk(101, { slot: a }), mk(102, { slot: b }), mk(103)];
    const d = planLaunch(items, ctx({ launchWhenIdle: true }));
    expect(d.launch).toEqual([items[0], items[3]]);
  });

  it('grows past the plan batch under a backlog up to maxBatchSize, and never launches while the device is busy', () => {
    const items = Array.from({ length: 8 }, () => mk(1000));
    expect(planLaunch(items, ctx({ maxBatchSize: 6 })).launch).toHaveLength(6);
    const busy = planLaunch(items, ctx({ now: 0, startAt: 30, maxBatchSize: 6 }));
    expect(busy.launch).toBeUndefined();
    expect(busy.group).toHaveLength(6);
  });
});

describe('planLaunch under overload', () => {
  it('under a backlog, runs the batch with the most on-time items per ms, skipping what only a smaller batch could save', () => {
    // From 0 with plan batch 4: L(4) = 30. The urgent head (deadline 20) would shrink the batch to 1.
    const urgent = mk(20);
    const rest = [mk(40), mk(41), mk(42), mk(43), mk(44)];
    const d = planLaunch([urgent, ...rest], ctx());
    expect(d.launch).toEqual(rest.slice(0, 4));
    // Without a backlog EDF holds: the urgent item leads a batch that it still fits (L(2) = 20).
    expect(planLaunch([urgent, rest[0]!], ctx()).launch).toEqual([urgent, rest[0]]);
  });
});
