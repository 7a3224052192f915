import { describe, expect, it } from 'vitest';
import { LaunchPlan, planExpiry, planLaunch, type LaunchContext } from './launch-rule.js';
import type { SchedulableItem, StreamSlotLike } from './work-item.js';

let seq = 0;
const mk = (deadline: number, o: Partial<SchedulableItem> = {}): SchedulableItem => ({ seq: seq++, deadline, priority: 0, key: 'k', ...o });
/** A latency profile given as a table: `L(n)` for n = 1, 2, … (the last entry beyond). */
const table =
  (...ms: number[]) =>
  (n: number): number =>
    ms[Math.min(n, ms.length) - 1]!;
const ctx = (o: Partial<LaunchContext>): LaunchContext => ({ now: 0, startAt: 0, batchSize: 4, latencyMs: (n) => 10 + 5 * n, guardMs: 1, launchWhenIdle: false, ...o });

describe('the wake-up of a waiting batch', () => {
  it('is the batch\'s latest start when no head was passed over, even if an item expires earlier (expireAt says that)', () => {
    // Alone: 15 ms, guard 1: the item due at 100 may start by 84. A 50 ms wake-up lag makes it expire at 35.
    const item = mk(100);
    const d = planLaunch([item], ctx({ expiryLeadMs: 50 }));
    expect(d.launch).toBeUndefined();
    expect(d.wakeAt).toBe(84);
    expect(d.expireAt).toBeCloseTo(35, 2);
  });

  it('under a backlog, is the chosen batch\'s latest start, not the passed-over head\'s expiry', () => {
    // The device frees at 5. L = 8, 10, 12, 40 ms; no guard. The head (due 16) allows a batch of 2 (5 + 10 ≤ 16, not
    // 5 + 12): 2 items per 10 ms. Three later items run in 12 ms: 0.25 per ms beats 0.2, so the head is passed over.
    const head = mk(16);
    const later = [mk(100), mk(100), mk(100)];
    const d = planLaunch([head, ...later], ctx({ now: 0, startAt: 5, batchSize: 2, maxBatchSize: 4, guardMs: 0, latencyMs: table(8, 10, 12, 40) }));
    expect(d.group).toEqual(later);
    expect(d.launch).toBeUndefined();
    // The three may start by 100 − 12; the head expires at 16 − 8 = 8, which expireAt carries.
    expect(d.wakeAt).toBe(88);
    expect(d.expireAt).toBeCloseTo(8, 2);
  });
});

describe('the overload rule\'s rate comparison', () => {
  // The head (due 15) allows a batch of 2 (L(2) = 10 ≤ 15 < L(3) = 20); three later items are due at 100.
  const items = () => {
    const head = mk(15);
    return { head, i2: mk(100), later: [mk(100), mk(100)] };
  };
  const backlog = (o: Partial<LaunchContext> = {}) => ctx({ batchSize: 3, maxBatchSize: 4, guardMs: 0, latencyMs: table(8, 10, 20, 40), ...o });

  it('keeps the EDF batch when it completes more items per ms than every larger batch', () => {
    // The EDF batch of 2: 2 / 10 = 0.2 per ms. Three later items: 3 / 20 = 0.15; four: 0.1. Neither beats it.
    const { head, i2, later } = items();
    const d = planLaunch([head, i2, ...later], backlog());
    expect(d.group).toEqual([head, i2]);
    expect(d.launch).toBeUndefined();
    expect(d.wakeAt).toBe(5); // 15 − 10
  });

  it('takes a larger batch whose rate is exactly the share of the best, as "at least that share" says', () => {
    // Share 0.5 of the EDF batch's 0.2 is 0.1: three later items at L(3) = 30 run at 3 / 30 = 0.1 exactly.
    const { head, i2, later } = items();
    const d = planLaunch([head, i2, ...later], backlog({ batchSize: 2, amortizeShare: 0.5, latencyMs: table(8, 10, 30, 40) }));
    expect(d.group).toEqual([i2, ...later]);
  });

  it('reads a share outside (0, 1) as 1, the strictly best rate', () => {
    const { head, i2, later } = items();
    const all = [head, i2, ...later];
    const strict = planLaunch(all, backlog());
    // A share of 0 would let any larger batch win; one above 1 would ask a larger batch for more than the best.
    expect(planLaunch(all, backlog({ amortizeShare: 0 })).group).toEqual(strict.group);
    const head2 = mk(16);
    const rest = [mk(100), mk(100), mk(100)];
    const faster = { now: 0, startAt: 5, batchSize: 2, maxBatchSize: 4, guardMs: 0, latencyMs: table(8, 10, 12, 40) };
    expect(planLaunch([head2, ...rest], ctx({ ...faster, amortizeShare: 1.5 })).group).toEqual(rest);
    expect(planLaunch([head2, ...rest], ctx({ ...faster, amortizeShare: 1 })).group).toEqual(rest);
  });
});

describe('skipShrinkingHead: passing over a head that shrank the batch, without a backlog', () => {
  // L(n) = 10 + 5n, guard 1. The head (due 17) fits alone (15 + 1) but not in a pair (20 + 1): the batch shrinks to
  // it. Two later items make a pair at 2 / 20 = 0.1 per ms against the head alone's 1 / 15. Three queued, fewer
  // than the plan's 4: no backlog.
  const queue = () => {
    const head = mk(17);
    return { head, later: [mk(100), mk(100)] };
  };

  it('takes the later batch at a factor of exactly 1 (≥ 1 is on)', () => {
    const { head, later } = queue();
    const d = planLaunch([head, ...later], ctx({ launchWhenIdle: true, skipShrinkingHead: 1 }));
    expect(d.launch).toEqual(later);
  });

  it('keeps the shrunk batch when the option is off: undefined or below 1', () => {
    for (const skipShrinkingHead of [undefined, 0.5]) {
      const { head, later } = queue();
      const d = planLaunch([head, ...later], ctx({ launchWhenIdle: true, ...(skipShrinkingHead === undefined ? {} : { skipShrinkingHead }) }));
      expect(d.launch).toEqual([head]);
    }
  });
});

describe('planExpiry', () => {
  it('drops what planLaunch drops, past the plan size up to maxBatchSize', () => {
    // Plan size 1, up to 3: the first scan keeps a and b, then drops c (20 times the profiled input: 300 ms alone).
    const a = mk(100);
    const b = mk(100);
    const c = mk(101, { costScale: 20 });
    const c1 = ctx({ batchSize: 1, maxBatchSize: 3 });
    const launched = planLaunch([a, b, c], c1);
    expect(launched.drop).toEqual([c]);
    const expiry = planExpiry([a, b, c], c1, new LaunchPlan());
    expect(expiry.drop).toEqual([c]);
    expect(expiry.expireAt).toBe(launched.expireAt);
  });
});

describe('a plan reused for the next call', () => {
  it('plans afresh: a stream that had a frame in the last batch may have one in the next', () => {
    const slot: StreamSlotLike = { streamId: 's', inFlight: false };
    const plan = new LaunchPlan();
    const first = mk(100, { slot });
    expect(planLaunch([first], ctx({ launchWhenIdle: true }), plan).launch).toEqual([first]);
    const second = mk(120, { slot });
    expect(planLaunch([second], ctx({ launchWhenIdle: true }), plan).launch).toEqual([second]);
  });
});

describe('the overload rule and the drops', () => {
  it('never launches an item the same plan drops', () => {
    // A 24 ms wake-up lag drops the items due at 30 (30 < 15 + 24), though a batch of 4 runs in 18 ms: the overload
    // rule's larger batches are made of the items kept, not of every item that would finish in time.
    const L = (n: number) => [15, 16, 17, 18][Math.min(n, 4) - 1]!;
    const items = [mk(17), mk(30), mk(30), mk(100), mk(100)];
    const d = planLaunch(items, ctx({ batchSize: 2, maxBatchSize: 4, latencyMs: L, guardMs: 0, launchWhenIdle: true, expiryLeadMs: 24, dropLatencyMs: 15 }));
    expect(d.drop).toEqual(items.slice(0, 3));
    expect(d.launch).toEqual(items.slice(3));
  });
});
