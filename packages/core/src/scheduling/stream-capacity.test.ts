import { describe, expect, it } from 'vitest';
import { isEparaError } from '../errors/epara-error.js';
import { createProfile } from '../profiles/latency-profile.js';
import type { ServiceSpec } from '../model/service.js';
import { planMultiFrame } from '../allocation/multi-frame.js';
import { streamCapacity } from './stream-capacity.js';

// L(b) grows slower than b: 2 ms for one frame, 12 ms for eight (a quiet demo run's video profile, rounded).
const sublinear = createProfile('cpu-1t', [
  { batch: 1, ms: 2 },
  { batch: 2, ms: 4 },
  { batch: 4, ms: 6 },
  { batch: 8, ms: 12 },
]);

describe('streamCapacity', () => {
  it('prices the device at the best pack within the budget, not at a pack of 1', () => {
    // 8 / 12 ms = 666.7/s against 1 / 2 ms = 500/s; 2 × 12 ms fits 250 ms.
    const c = streamCapacity(sublinear, { stalenessMs: 250, maxBatch: 8 });
    expect(c.packSize).toBe(8);
    expect(c.ratePerSec).toBeCloseTo(8000 / 12, 9);
  });

  it("is more than the rate of the pack a multi-frame plan picks for one stream's rate", () => {
    const service: ServiceSpec = { id: 'v', sensitivity: 'frequency', slo: { kind: 'frequency', rateHz: 10, stalenessMs: 250 }, memory: { weightsBytes: 1, perItemBytes: 1 }, profiles: { 'cpu-1t': sublinear } };
    const outcome = planMultiFrame({ service, device: { kind: 'cpu-1t', memoryBytes: 1e9 }, rateHz: 10 });
    expect(outcome.feasible).toBe(true);
    if (!outcome.feasible) return;
    expect(outcome.plan.batchSize).toBe(1);
    expect(outcome.plan.capacityPerSec).toBeCloseTo(500, 9);
    expect(streamCapacity(sublinear, { stalenessMs: 250, maxBatch: 8 }).ratePerSec).toBeGreaterThan(outcome.plan.capacityPerSec);
  });

  it('leaves out a pack whose run, waited for once, would make its frames stale', () => {
    // 2 × L(8) = 24 ms > 20 ms; L(6) = 9 ms (between the measured 4 and 8) fits, L(7) = 10.5 ms does not.
    const c = streamCapacity(sublinear, { stalenessMs: 20, maxBatch: 8 });
    expect(c.packSize).toBe(6);
    expect(c.ratePerSec).toBeCloseTo(6000 / 9, 9);
    expect(streamCapacity(sublinear, { stalenessMs: 3, maxBatch: 8 })).toEqual({ ratePerSec: 0, packSize: 0 });
  });

  it('prices the largest fresh pack, the one a backlog grows to, even where a smaller one looks faster', () => {
    // Packs of 8 learned at 2× their profile; packs of 2 faded back to it: 8 / 24 ms, not 2 / 4 ms.
    expect(streamCapacity(sublinear, { stalenessMs: 250, maxBatch: 8, speed: (n) => (n >= 8 ? 0.5 : 1) })).toEqual({ ratePerSec: 8000 / 24, packSize: 8 });
  });

  it('applies the learned speed to the pack that runs, per size, and stays fresh at the learned time', () => {
    // Packs of 1 hold the device 4× their profile (hand-offs), larger ones 2×.
    const speed = (n: number): number => (n === 1 ? 0.25 : 0.5);
    const c = streamCapacity(sublinear, { stalenessMs: 250, maxBatch: 8, speed });
    expect(c).toEqual({ ratePerSec: 8000 / 24, packSize: 8 });
    // At 4× everywhere, pack 8 holds 48 ms: 2 × 48 > 90, so the best fresh pack is smaller.
    const slow = streamCapacity(sublinear, { stalenessMs: 90, maxBatch: 8, speed: () => 0.25 });
    expect((2 * slow.packSize * 1000) / slow.ratePerSec).toBeLessThanOrEqual(90);
    expect(slow.packSize).toBeLessThan(8);
  });

  it('never goes past maxBatch', () => {
    expect(streamCapacity(sublinear, { stalenessMs: 250, maxBatch: 2 })).toEqual({ ratePerSec: 500, packSize: 2 });
  });

  it('refuses a malformed budget or batch cap with INVALID_OPTIONS', () => {
    for (const o of [{ stalenessMs: 0, maxBatch: 4 }, { stalenessMs: Number.NaN, maxBatch: 4 }, { stalenessMs: 10, maxBatch: 0 }]) {
      let error: unknown;
      try {
        streamCapacity(sublinear, o);
      } catch (e) {
        error = e;
      }
      expect(isEparaError(error) && error.code).toBe('INVALID_OPTIONS');
    }
  });
});
