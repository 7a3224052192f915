import { describe, expect, it } from 'vitest';
import { placementService } from '../testing/placement-fixture.js';
import { affineProfile } from '../profiles/latency-profile.js';
import { placeServices } from './place-services.js';
import { affinePlan } from './testing/random-instance.js';
import type { PlacementInput } from './types.js';

// A batch variant's expected latency (withBatchVariants): its plan's, scaled by the run time at the smaller batch over
// the run time at the plan's batch, L(b') / L(b). The objective reads it as the item's latency.

const GB = 1024 ** 3;

describe('a batch variant', () => {
  it("keeps its plan's latency rule scaled by L(b')/L(b): batch 4 of a batch-16 plan runs 18 ms of 42", () => {
    // 1 GB of weights and 0.5 GB per item on one 4 GB GPU (3.6 GB usable): only batch 4 fits, two halvings down.
    const s = placementService('s', { deadlineMs: 400, perItemGb: 0.5, loadTimeMs: 1000, profiles: { gpu: affineProfile('gpu', { fixedMs: 10, perItemMs: 2 }) } });
    const plan = affinePlan(s, 'gpu', { fixedMs: 10, perItemMs: 2, batch: 16, devices: 1 });
    const input: PlacementInput = {
      servers: [{ id: 's0', devices: [{ id: 'g0', kind: 'gpu', memoryBytes: 4 * GB }] }],
      services: [s],
      plans: { s: [plan] },
      demand: [{ serviceId: 's', ratePerServer: { s0: 50 } }],
    };
    const [item] = placeServices(input).instances;
    expect(item?.plan.batchSize).toBe(4);
    expect(item?.plan.expectedLatencyMs).toBeCloseTo((plan.expectedLatencyMs * 18) / 42, 9);
    expect(plan.expectedLatencyMs).toBeGreaterThan(0);
  });
});
