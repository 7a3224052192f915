import { describe, expect, it } from 'vitest';
import { EdfQueue } from '@epara/core/scheduling';
import type { Lane } from '../batching/lane.js';
import type { WorkItem } from '../batching/work-item.js';
import type { DeviceScheduler } from './device-scheduler.js';
import { estimateCompletion } from './estimate-completion.js';

// The completion estimate at the edges of its rules, with exact figures (the older cases compare the overtaking
// fixed point to within 0.1 ms): an item due exactly with the newcomer, another lane with the same deadline budget,
// and where the fixed point stops.

const item = (seq: number, deadline: number): WorkItem => ({ seq, serviceId: 's', inputs: {}, key: 'k', deadline, priority: 0, enqueuedAt: 0, frame: false, settle: () => undefined });

function lane(id: string, o: { batchSize?: number; deadlines?: number[]; budget?: number; share?: number; maxBatchSize?: number; perMs?: number } = {}): Lane {
  const queue = new EdfQueue<WorkItem>();
  (o.deadlines ?? []).forEach((d, i) => queue.push(item(i, d)));
  const batchSize = o.batchSize ?? 1;
  return {
    id,
    serviceId: id,
    queue,
    batchSize,
    maxBatchSize: o.maxBatchSize ?? batchSize,
    deadlineBudgetMs: o.budget,
    loadShare: () => o.share ?? 0,
    arrivalsPerMs: () => o.perMs,
  } as unknown as Lane;
}

/** A device free at `free`, running `lanes`, whose batch of `n` of a lane takes `ms(lane, n)`; the engine work took `workShare` of it lately. */
function device(free: number, lanes: Lane[], ms: (l: Lane, n: number) => number, workShare = 0): DeviceScheduler {
  return { device: { id: 'd' }, freeAt: () => free, lanes: new Set(lanes), expectedMs: ms, learnedGuardMs: () => 0, queuedWorkMs: () => 0, workShare: () => workShare } as unknown as DeviceScheduler;
}

describe('estimateCompletion at the edges of its rules (runtime)', () => {
  it("counts another lane's queued items due exactly when the newcomer is (they were queued first), not those due after", () => {
    // Own budget 300 at 0: the newcomer is due at 300. The other lane's two items due at 300 go first (EDF breaks the
    // tie by arrival): one batch of 7 ms ahead of the newcomer's 3 ms on a device free at 100.
    const l = lane('a', { budget: 300 });
    const ms = (x: Lane, n: number): number => (x === l ? 2 + n : 7);
    const tied = lane('b', { batchSize: 2, deadlines: [300, 300] });
    expect(estimateCompletion(l, [device(100, [l, tied], ms)], 0)).toBe(100 + 7 + 3);
    // Due a millisecond later: after the newcomer, not counted.
    const after = lane('b', { batchSize: 2, deadlines: [301, 301] });
    expect(estimateCompletion(l, [device(100, [l, after], ms)], 0)).toBe(100 + 3);
    // One due at 300 and one after: only the first (still one batch).
    const mixed = lane('b', { batchSize: 1, deadlines: [300, 301] });
    expect(estimateCompletion(l, [device(100, [l, mixed], ms)], 0)).toBe(100 + 7 + 3);
  });

  it('lets nothing of another lane with the same deadline budget overtake: what it brings during the wait is due after the newcomer', () => {
    // Same budget (300), a fifth of the device, batches of up to 4 at 0.1 items/ms: with a lead of 0 none of its
    // arrivals is due first, so none heads a batch that takes others along. The wait of 100 ms stays 100.
    const l = lane('a', { budget: 300 });
    const peer = lane('p', { budget: 300, share: 0.2, maxBatchSize: 4, perMs: 0.1 });
    const ms = (x: Lane, n: number): number => (x === l ? 2 + n : 1000);
    expect(estimateCompletion(l, [device(100, [l, peer], ms)], 0)).toBe(100 + 3);
  });

  it('stops the fixed point at the first pass that adds less than 0.05 ms, and not before', () => {
    // A wait of 1 ms and engine work at half the device: w = 1 + 0.5·w goes 1.5, 1.75, 1.875, 1.9375, 1.96875 — the
    // fifth pass adds 0.03125, less than 0.05: it stops there (eight passes would reach 1.99609375).
    const l = lane('a', { budget: 300 });
    const free = (_x: Lane, _n: number): number => 0;
    expect(estimateCompletion(l, [device(1, [l], free, 0.5)], 0)).toBe(1.96875);
    // A wait of 0.08 ms at 5/8 of the device: the first pass adds exactly 0.05 (0.08 → 0.13), which does not stop it;
    // the second adds 0.03125 (→ 0.16125) and does.
    expect(estimateCompletion(l, [device(0.08, [l], free, 0.625)], 0)).toBeCloseTo(0.16125, 12);
  });
});
