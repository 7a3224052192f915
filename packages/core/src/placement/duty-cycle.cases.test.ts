import { describe, expect, it } from 'vitest';
import { cycleLimitMs, dutyCycleFits, timeShare, type CycleItem } from './duty-cycle.js';
import type { DeviceNode } from './model.js';
import { createResources, type ItemFootprint } from './resources.js';

// The multi-task duty cycle of docs/concepts.md with figures worked by hand: a device shared round-robin runs
// one batch of each item per cycle C = Σ runs; a latency item needs C + run ≤ D, a frequency item also waits
// for its pack of b to fill at its rate first, and every item's rate needs b / C ≥ rate.

/** A batch of 5 runs 20 ms; 100 items/s assigned; a 200 ms budget. */
const item = (over: Partial<CycleItem> = {}): CycleItem => ({ runMs: 20, batchSize: 5, capacityPerSec: 100, cycleBudgetMs: 200, ...over });

describe('cycleLimitMs', () => {
  it('is the rate limit b / rate when the budget is loose', () => {
    // 5 items per cycle at 100 items/s: at most 50 ms; the budget allows 200 − 20 = 180.
    expect(cycleLimitMs(item())).toBeCloseTo(50, 12);
  });

  it('is the budget less the item’s own run when that is tighter', () => {
    expect(cycleLimitMs(item({ cycleBudgetMs: 60 }))).toBeCloseTo(40, 12);
  });

  it('reads the shared (interfered) run, not the solo one', () => {
    expect(cycleLimitMs(item({ cycleBudgetMs: 60, sharedRunMs: 30 }))).toBeCloseTo(30, 12);
  });

  it('takes a frequency item’s pack fill, (b − 1) / rate, from its budget', () => {
    // The pack of 5 fills in 4 / 100 s = 40 ms: 100 − 20 − 40 = 40 ms, under the rate limit of 50.
    expect(cycleLimitMs(item({ cycleBudgetMs: 100, fillsPacks: true }))).toBeCloseTo(40, 12);
    expect(cycleLimitMs(item({ cycleBudgetMs: 100 }))).toBeCloseTo(50, 12);
    // Batch 1 fills at once.
    expect(cycleLimitMs(item({ batchSize: 1, cycleBudgetMs: 30, fillsPacks: true }))).toBeCloseTo(10, 12);
  });
});

describe('dutyCycleFits', () => {
  it('accepts a lone item whatever its figures', () => {
    expect(dutyCycleFits([])).toBe(true);
    expect(dutyCycleFits([item({ cycleBudgetMs: 1 })])).toBe(true);
  });

  it('accepts the cycle at exactly the tightest limit and refuses it just past', () => {
    // Two runs of 20 ms: C = 40. The first item allows 60 − 20 = 40 (fits), then 59.99 − 20 (does not).
    expect(dutyCycleFits([item({ cycleBudgetMs: 60 }), item()])).toBe(true);
    expect(dutyCycleFits([item(), item({ cycleBudgetMs: 59.99 })])).toBe(false);
  });

  it('sums the shared runs into the cycle', () => {
    // Shared runs of 25 ms: C = 50, exactly the rate limit of both; 26 ms is one too many.
    expect(dutyCycleFits([item({ sharedRunMs: 25 }), item({ sharedRunMs: 25 })])).toBe(true);
    expect(dutyCycleFits([item({ sharedRunMs: 25 }), item({ sharedRunMs: 26 })])).toBe(false);
  });

  it('takes the tightest limit of three', () => {
    // C = 60: 5 items at 100/s allow 50, so the third item fails it though the first two do not.
    const loose = item({ capacityPerSec: 50 });
    expect(dutyCycleFits([loose, loose, loose])).toBe(true);
    expect(dutyCycleFits([loose, loose, item()])).toBe(false);
  });
});

describe('timeShare', () => {
  it('is rate × run / batch of a second', () => {
    expect(timeShare(item())).toBeCloseTo(0.4, 12);
  });
});

describe('createResources', () => {
  const device = (over: Partial<DeviceNode> = {}): DeviceNode => ({ server: 0, id: 'g', kind: 'gpu', usableBytes: 1000, healthy: true, ...over });
  const foot = (service: number, over: Partial<ItemFootprint> = {}): ItemFootprint => ({ service, memBytes: 400, exclusive: false, ...item(), ...over });

  it('fits nothing on an unhealthy device', () => {
    const r = createResources([device({ healthy: false })]);
    expect(r.fits(0, foot(0))).toBe(false);
  });

  it('counts memory up to exactly the usable bytes', () => {
    const r = createResources([device()]);
    r.add([0], foot(0, { capacityPerSec: 10 }));
    expect(r.usedBytes(0)).toBe(400);
    expect(r.fits(0, foot(1, { memBytes: 600, capacityPerSec: 10 }))).toBe(true);
    expect(r.fits(0, foot(1, { memBytes: 601, capacityPerSec: 10 }))).toBe(false);
  });

  it('keeps an exclusive item alone, either way round, and one instance of a service per device', () => {
    const r = createResources([device(), device()]);
    r.add([0], foot(0, { capacityPerSec: 10 }));
    expect(r.fits(0, foot(1, { exclusive: true, capacityPerSec: 10 }))).toBe(false);
    expect(r.fits(0, foot(0, { capacityPerSec: 10 }))).toBe(false);
    expect(r.fits(1, foot(0, { exclusive: true }))).toBe(true);
    r.add([1], foot(2, { exclusive: true, capacityPerSec: 10 }));
    expect(r.fits(1, foot(3, { capacityPerSec: 10 }))).toBe(false);
  });

  it('checks the cycle with the newcomer, and frees it all on removal', () => {
    const r = createResources([device({ usableBytes: 10_000 })]);
    const first = foot(0, { cycleBudgetMs: 60, sharedRunMs: 20 });
    r.add([0], first);
    expect(r.cycleMs(0)).toBe(20);
    // C = 20 + 20 = 40 ≤ 40 (the first item's limit); 21 ms would not be.
    expect(r.fits(0, foot(1))).toBe(true);
    expect(r.fits(0, foot(1, { sharedRunMs: 21 }))).toBe(false);
    // The newcomer's own limit counts too: C = 30 is within the first item's 40, not within 25 − 10 = 15.
    expect(r.fits(0, foot(1, { runMs: 10, cycleBudgetMs: 25 }))).toBe(false);
    expect(r.fits(0, foot(1, { runMs: 10, cycleBudgetMs: 40 }))).toBe(true);
    const second = foot(1, { sharedRunMs: 20 });
    r.add([0], second);
    expect(r.cycleMs(0)).toBe(40);
    expect(r.fits(0, foot(2, { sharedRunMs: 1, capacityPerSec: 1 }))).toBe(false);
    r.remove([0], first);
    expect(r.usedBytes(0)).toBe(400);
    expect(r.cycleMs(0)).toBe(20);
    // With the tight first item gone, its limit goes too: the cycle 20 + 20 is within the others' 50.
    expect(r.fits(0, foot(2, { sharedRunMs: 20, cycleBudgetMs: 200 }))).toBe(true);
    r.remove([0], second);
    expect(r.isEmpty(0)).toBe(true);
    expect(r.usedBytes(0)).toBe(0);
  });

  it('reports a lone item’s cycle as its solo run, two or more with interference', () => {
    const r = createResources([device({ usableBytes: 10_000 })]);
    r.add([0], foot(0, { runMs: 20, sharedRunMs: 22, capacityPerSec: 10 }));
    expect(r.cycleMs(0)).toBe(20);
    r.add([0], foot(1, { runMs: 20, sharedRunMs: 22, capacityPerSec: 10 }));
    expect(r.cycleMs(0)).toBe(44);
  });
});
