import { describe, expect, it } from 'vitest';
import { createProfile } from '../profiles/latency-profile.js';
import type { ServiceSpec } from '../model/service.js';
import { planModelParallel } from './model-parallel.js';

const GB = 1e9;
// Items per ms peak at batch 4 (4 items in 4 ms) and fall at 8 (8 in 10 ms).
const peaked = createProfile('gpu', [
  { batch: 1, ms: 2 },
  { batch: 2, ms: 3 },
  { batch: 4, ms: 4 },
  { batch: 8, ms: 10 },
]);
const svc: ServiceSpec = {
  id: 'llm',
  sensitivity: 'latency',
  slo: { kind: 'latency', deadlineMs: 10_000 },
  memory: { weightsBytes: 12 * GB, perItemBytes: 0.1 * GB },
  profiles: { gpu: peaked },
};
const gpu = { kind: 'gpu', memoryBytes: 8 * GB };

describe('planModelParallel: the pipeline batch', () => {
  it('takes the throughput-best batch by default and the largest with batchChoice largest', () => {
    // 12.1 GB on 7.2 GB usable: 2 stages. Memory and the profile cap (8) bound the batch; the deadline does not.
    const best = planModelParallel({ service: svc, device: gpu });
    const largest = planModelParallel({ service: svc, device: gpu, options: { batchChoice: 'largest' } });
    expect(best.feasible && largest.feasible).toBe(true);
    if (best.feasible && largest.feasible) {
      expect(best.plan.stages).toBe(2);
      expect(best.plan.batchSize).toBe(4);
      expect(largest.plan.batchSize).toBe(8);
    }
  });

  it('counts each stage\'s share of the weights plus the whole batch\'s working memory per device', () => {
    const out = planModelParallel({ service: svc, device: gpu });
    expect(out.feasible).toBe(true);
    if (out.feasible) expect(out.plan.memoryPerDeviceBytes).toBe(6 * GB + 4 * 0.1 * GB);
  });
});
