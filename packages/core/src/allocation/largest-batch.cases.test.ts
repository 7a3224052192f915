import { describe, expect, it } from 'vitest';
import { affineProfile, createProfile } from '../profiles/latency-profile.js';
import type { ServiceSpec } from '../model/service.js';
import { planBatching } from './batching.js';

// planBatching names the largest batch its rule allows (`largestBatchSize`) only when it plans a smaller one for its
// rate alone; placement offers that batch as a variant. Figures worked by hand (D = 100 ms, 2·L(b) ≤ D).
const seg: ServiceSpec = {
  id: 'seg',
  sensitivity: 'latency',
  slo: { kind: 'latency', deadlineMs: 100 },
  memory: { weightsBytes: 5e6, perItemBytes: 2e6 },
  profiles: { cpu: affineProfile('cpu', { fixedMs: 4, perItemMs: 6 }) },
};
const cpu = { kind: 'cpu', memoryBytes: 1e9 };

describe('planBatching: the largest batch allowed, beside the one planned', () => {
  it('names the cap when a smaller batch sustains more items/s', () => {
    // 5, 6 and 20 ms at batches 1, 2 and 4: 200, 333 and 200 items/s — batch 2 is planned under a cap of 4.
    const humped: ServiceSpec = { ...seg, profiles: { cpu: createProfile('cpu', [{ batch: 1, ms: 5 }, { batch: 2, ms: 6 }, { batch: 4, ms: 20 }]) } };
    const out = planBatching({ service: humped, device: cpu, demandPerSec: 10 });
    expect(out.feasible && [out.plan.batchSize, out.plan.largestBatchSize]).toEqual([2, 4]);
  });

  it('names nothing when the cap itself is planned: the plan has no such field', () => {
    // Throughput b / (4 + 6b) grows with b: the cap of 4 (maxBatch) is planned.
    const out = planBatching({ service: seg, device: cpu, demandPerSec: 10, options: { maxBatch: 4 } });
    expect(out.feasible && out.plan.batchSize).toBe(4);
    expect(out.feasible && Object.keys(out.plan)).not.toContain('largestBatchSize');
  });
});
