import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { affineProfile, createProfile } from '../profiles/latency-profile.js';
import { planBatching } from '../allocation/batching.js';
import { batchSizeForDeadline, packSizeForRate } from './batch-size.js';

const RUNS = { numRuns: Number(process.env.FC_RUNS ?? 100), seed: Number(process.env.FC_SEED ?? 20261204) };

describe('batchSizeForDeadline', () => {
  it('is the allocator rule: equal to planBatching on the same profile and budget', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 20, noNaN: true }), { minLength: 2, maxLength: 6 }),
        fc.double({ min: 1, max: 300, noNaN: true }),
        (steps, deadlineMs) => {
          let ms = 0.5;
          const profile = createProfile('k', steps.map((s, i) => ({ batch: 2 ** i, ms: (ms += s) })));
          const service = { id: 's', sensitivity: 'latency', slo: { kind: 'latency', deadlineMs }, memory: { weightsBytes: 1, perItemBytes: 1 }, profiles: { k: profile } } as const;
          const out = planBatching({ service, device: { kind: 'k', memoryBytes: 1e12 } });
          const maxBatch = profile.points[profile.points.length - 1]!.batch;
          const b = batchSizeForDeadline(profile, deadlineMs, { maxBatch });
          expect(b).toBe(out.feasible ? out.plan.batchSize : 1);
        },
      ),
      RUNS,
    );
  });

  it('gives the backlog limit with waitFactor 1, and 1 when nothing fits', () => {
    const p = affineProfile('k', { fixedMs: 2, perItemMs: 1, maxBatch: 32 });
    expect(batchSizeForDeadline(p, 20, { maxBatch: 32 })).toBe(8); // 2·(2 + b) ≤ 20
    expect(batchSizeForDeadline(p, 20, { maxBatch: 32, waitFactor: 1, choice: 'largest' })).toBe(18);
    expect(batchSizeForDeadline(p, 1, { maxBatch: 32 })).toBe(1);
    expect(() => batchSizeForDeadline(p, 20, { maxBatch: 0 })).toThrow(/maxBatch/);
  });
});

describe('packSizeForRate', () => {
  it('takes the smallest pack that keeps up within the staleness bound, else the best fresh one', () => {
    const p = affineProfile('k', { fixedMs: 4, perItemMs: 1, maxBatch: 32 });
    // n / (4 + n) · 1000 ≥ 500 → n ≥ 4; fresh: (n − 1)·2 + 4 + n ≤ 100.
    expect(packSizeForRate(p, { rateHz: 500, stalenessMs: 100, maxBatch: 32 })).toEqual({ n: 4, feasible: true });
    expect(packSizeForRate(p, { rateHz: 5000, stalenessMs: 10, maxBatch: 32 }).feasible).toBe(false);
  });
});
