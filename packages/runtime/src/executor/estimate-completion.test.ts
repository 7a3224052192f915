import { describe, expect, it } from 'vitest';
import { EdfQueue } from '@epara/core/scheduling';
import type { Lane } from '../batching/lane.js';
import type { WorkItem } from '../batching/work-item.js';
import type { DeviceScheduler } from './device-scheduler.js';
import { estimateCompletion } from './estimate-completion.js';

// The expected completion of a newcomer, worked out by hand from the rule: the device's free time, plus the
// batches other services queued on it (split over the devices they use), plus this lane's full batches ahead,
// then its own batch (scaled by its input size), plus the margin the first device learned.

const item = (seq: number): WorkItem => ({ seq, serviceId: 's', inputs: {}, key: 'k', deadline: 1e9, priority: 0, enqueuedAt: 0, frame: false, settle: () => undefined });

function lane(id: string, batchSize: number, queued: number, o: { maxBatchSize?: number; perMs?: number } = {}): Lane {
  const queue = new EdfQueue<WorkItem>();
  for (let i = 0; i < queued; i++) queue.push(item(i));
  return { id, serviceId: id, queue, batchSize, maxBatchSize: o.maxBatchSize ?? batchSize, arrivalsPerMs: () => o.perMs } as unknown as Lane;
}

/** A device free at `free`, running `lanes`, whose batch of `n` of a lane takes `ms(lane, n)`. */
function device(free: number, lanes: Lane[], ms: (l: Lane, n: number) => number, guard = 0, workMs = 0, workShare = 0): DeviceScheduler {
  return { device: { id: 'd' }, freeAt: () => free, lanes: new Set(lanes), expectedMs: ms, learnedGuardMs: () => guard, queuedWorkMs: () => workMs, workShare: () => workShare } as unknown as DeviceScheduler;
}

/** A lane with a deadline budget whose recent arrivals need `share` of the device. */
function urgent(id: string, deadlineBudgetMs: number | undefined, share: number, queued = 0, o: { maxBatchSize?: number; perMs?: number } = {}): Lane {
  return { ...lane(id, 1, queued, o), deadlineBudgetMs, loadShare: () => share } as unknown as Lane;
}

const affine = (_l: Lane, n: number): number => 2 + n;

describe('estimateCompletion (runtime)', () => {
  it('an idle lane on a free device: the free time plus one item', () => {
    const l = lane('a', 4, 0);
    expect(estimateCompletion(l, [device(10, [l], affine)], 0)).toBe(13);
    // Engine work queued on the device (generation steps) comes first.
    expect(estimateCompletion(l, [device(10, [l], affine, 0, 4)], 0)).toBe(17);
  });

  it('full batches ahead, then the own partial batch, scaled by the input size', () => {
    const l = lane('a', 4, 5); // one full batch of 4 ahead, then a batch of 2 with the newcomer
    expect(estimateCompletion(l, [device(10, [l], affine)], 0)).toBe(10 + 6 + 4);
    expect(estimateCompletion(l, [device(10, [l], affine)], 0, 2)).toBe(10 + 6 + 4 * 2);
  });

  it("adds other services' queues on the same device, split over the devices they run on", () => {
    const l = lane('a', 4, 0);
    const other = lane('b', 2, 3); // two batches of 7 ms
    const ms = (x: Lane, n: number): number => (x === other ? 7 : affine(x, n));
    expect(estimateCompletion(l, [device(10, [l, other], ms)], 0)).toBe(10 + 14 + 3);
    // `other` also runs on a second device: half of its backlog falls on each.
    const d0 = device(10, [l, other], ms);
    const d1 = device(1000, [other], ms);
    expect(estimateCompletion(l, [d0, d1], 0)).toBe(10 + 7 + 3);
    // A third device without `other` does not share its backlog.
    const d2 = device(1000, [l], ms);
    expect(estimateCompletion(l, [d0, d1, d2], 0)).toBe(10 + 7 + 3);
  });

  it('an empty other queue adds nothing, and the lane is not its own other', () => {
    const l = lane('a', 4, 2);
    const idle = lane('b', 2, 0);
    expect(estimateCompletion(l, [device(10, [l, idle], (x, n) => (x === idle ? 1000 : affine(x, n)))], 0)).toBe(10 + 5);
  });

  it('on several devices the own batch goes to the earliest free one', () => {
    const l = lane('a', 2, 2); // one full batch ahead
    const ms = (_x: Lane, n: number): number => 10 * n;
    // Free at 5 and 12: the batch ahead takes 5 → 25; the newcomer starts on the device free at 12 → 22.
    expect(estimateCompletion(l, [device(5, [l], ms), device(12, [l], ms)], 0)).toBe(22);
  });

  it("adds the first device's learned margin, and is infinite with no device", () => {
    const l = lane('a', 4, 0);
    expect(estimateCompletion(l, [device(10, [l], affine, 2.5), device(0, [l], affine, 100)], 0)).toBe(3 + 2.5);
    expect(estimateCompletion(l, [], 0)).toBe(Number.POSITIVE_INFINITY);
  });

  it('adds what other services will queue during the wait and be due first, at their share of the device', () => {
    // Own budget 300 ms; its item waits 100 ms (a free time of 100) before its 3 ms run.
    const l = urgent('a', 300, 0);
    const video = urgent('v', 250, 0.2); // due first when arriving in the first 50 ms of the wait
    const frames = urgent('f', 100, 0.1); // due first when arriving in the first 200 ms
    const later = urgent('c', 800, 0.5); // due later: never ahead
    const unknown = urgent('u', undefined, 0.5); // no budget: not counted
    const ms = (x: Lane, n: number): number => (x === l ? affine(x, n) : 1000);
    // w = 100 + 0.2·min(w, 50) + 0.1·min(w, 200) → w = 110 / 0.9 = 122.2: 22.2 ms more (to within the
    // fixed point's 0.05 ms).
    expect(estimateCompletion(l, [device(100, [l, video, frames, later, unknown], ms)], 0)).toBeCloseTo(3 + 110 / 0.9, 1);
    // Alone on its device, or without a budget of its own, nothing overtakes it.
    expect(estimateCompletion(l, [device(100, [l], ms)], 0)).toBe(103);
    expect(estimateCompletion(urgent('x', undefined, 0), [device(100, [urgent('x', undefined, 0), video], affine)], 0)).toBe(103);
  });

  it("adds the engine work (generation steps) at the share of the device it took lately, over the whole wait", () => {
    const l = urgent('a', 300, 0);
    // w = 60 + 0.25·w → 80 (eight passes of the fixed point come within 0.001 ms).
    expect(estimateCompletion(l, [device(60, [l], affine, 0, 0, 0.25)], 0)).toBeCloseTo(60 + 3 + 20, 2);
    // Nothing waits on an idle device: nothing overtakes.
    expect(estimateCompletion(l, [device(0, [l], affine, 0, 0, 0.25)], 0)).toBe(3);
  });

  it('stops the fixed point after its eight passes when the engine takes the whole device, and fills over that wait', () => {
    // A share of 1 never settles: each pass adds the 60 ms wait again, w = 60 · 9 after eight. The lane's arrivals
    // (0.005 items/ms, batches up to 4) bring 2 more in those 540 ms: its batch runs as 3, 2 ms more.
    const l = urgent('a', 300, 0, 0, { maxBatchSize: 4, perMs: 0.005 });
    expect(estimateCompletion(l, [device(60, [l], affine, 0, 0, 1)], 0)).toBe(63 + 480 + 2);
  });

  it("prices the own batch at what the lane's arrivals fill it to by its turn, up to the largest batch", () => {
    // Batches of 2 (up to 4), one full batch queued ahead; 0.05 items/ms arrive. On a device free at 40 the
    // newcomer's batch starts at 40 + 4 = 44: 2 more items arrive by then, so it runs as a batch of 3, not 1.
    const l = lane('a', 2, 2, { maxBatchSize: 4, perMs: 0.05 });
    expect(estimateCompletion(l, [device(40, [l], affine)], 0)).toBe(40 + 4 + 5);
    // By a device free at 200 the batch is full at 4; with no known rate it stays the remainder of 1.
    expect(estimateCompletion(l, [device(200, [l], affine)], 0)).toBe(200 + 4 + 6);
    const blind = lane('a', 2, 2, { maxBatchSize: 4 });
    expect(estimateCompletion(blind, [device(40, [blind], affine)], 0)).toBe(40 + 4 + 3);
    // On two devices the arrivals are split between them: 0.05 · 44 / 2 = 1.1, one more item, a batch of 2.
    expect(estimateCompletion(l, [device(40, [l], affine), device(1000, [l], affine)], 0)).toBe(40 + 4 + 4);
  });

  it('measures the wait from the clock’s time and prices the own batch and its fill at the input’s size', () => {
    // At 1000, batches of 2 (up to 8) taking n² ms, 3 queued: a full batch ahead (4 ms), then the newcomer's batch
    // of 2 at twice the profiled size (8 ms) on a device free at 1040: its batch starts at 1044, a wait of 44 ms in
    // which 0.1 items/ms bring 4 more. It runs as 6: (36 − 4) ms more, twice: 1040 + 4 + 8 + 64.
    const l = lane('a', 2, 3, { maxBatchSize: 8, perMs: 0.1 });
    const square = (_x: Lane, n: number): number => n * n;
    expect(estimateCompletion(l, [device(1040, [l], square)], 1000, 2)).toBe(1116);
  });

  it("counts the items due later that another lane's last due-first batch takes along", () => {
    // Own budget 300 ms, a wait of 100 ms; video due first for the first 50 ms of it, at a fifth of the device, in
    // batches of up to 4 at 0.1 frames/ms. Its last batch headed by a frame due first takes the 3 frames arriving
    // in the next 30 ms along, so video goes ahead for 80 ms of the wait: w = 100 + 0.2·min(w, 80) = 116.
    const l = urgent('a', 300, 0);
    const video = urgent('v', 250, 0.2, 0, { maxBatchSize: 4, perMs: 0.1 });
    const ms = (x: Lane, n: number): number => (x === l ? affine(x, n) : 1000);
    expect(estimateCompletion(l, [device(100, [l, video], ms)], 0)).toBeCloseTo(3 + 116, 1);
    // Without a known rate, only the lead: w = 100 + 0.2·50.
    const blind = urgent('v', 250, 0.2, 0, { maxBatchSize: 4 });
    expect(estimateCompletion(l, [device(100, [l, blind], ms)], 0)).toBeCloseTo(3 + 110, 1);
    // Nor at a rate of 0: nothing arrives to ride along.
    const still = urgent('v', 250, 0.2, 0, { maxBatchSize: 4, perMs: 0 });
    expect(estimateCompletion(l, [device(100, [l, still], ms)], 0)).toBeCloseTo(3 + 110, 1);
  });
});
