import { describe, expect, it } from 'vitest';
import type { ServiceSpec } from '../model/service.js';
import { findPlacementViolations } from './find-violations.js';
import { placeServices } from './place-services.js';
import { affinePlan } from './testing/random-instance.js';
import type { PlacementInput } from './types.js';

// Trimming a new instance's claim to the demand it serves, seen through placeServices, for a frequency service
// whose pack fills more slowly at a lower rate (docs/concepts.md, the duty cycle).

const GB = 1024 ** 3;
const base = { memory: { weightsBytes: GB, perItemBytes: 0.05 * GB }, loadTimeMs: 3000, profiles: {} } as const;
const latency: ServiceSpec = { ...base, id: 'l', sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 200 } };
const frequency: ServiceSpec = { ...base, id: 'f', sensitivity: 'frequency', slo: { kind: 'frequency', rateHz: 30, stalenessMs: 200 } };
/** 10 ms + 2 ms per item at batch 8: one batch runs 26 ms; a whole device serves 8000 / 26 ≈ 307.7 items/s. */
const plan = (s: ServiceSpec) => affinePlan(s, 'gpu', { fixedMs: 10, perItemMs: 2, batch: 8 });

describe('trimming a frequency item’s claim on a shared device', () => {
  // One device for both services: the cycle is 26 + 26 = 52 ms (no interference). The frequency service's smallest
  // share that fits is a quarter, 2000 / 26 ≈ 76.9 items/s: its pack of 8 fills in 7 / 76.9 s = 91 ms, and
  // 200 − 26 − 91 = 83 ms ≥ 52. Trimmed to its demand of 40 items/s the pack would fill in 175 ms, leaving
  // 200 − 26 − 175 < 0 for the cycle: the claim stays at the quarter.
  const input: PlacementInput = {
    servers: [{ id: 's0', devices: [{ id: 'g0', kind: 'gpu', memoryBytes: 16 * GB }] }],
    services: [latency, frequency],
    plans: { l: [plan(latency)], f: [plan(frequency)] },
    demand: [
      { serviceId: 'l', ratePerServer: { s0: 100 } },
      { serviceId: 'f', ratePerServer: { s0: 40 } },
    ],
  };

  it('keeps the claim when the trimmed one would no longer fit the cycle, and serves both', () => {
    const options = { colocationSlowdown: 0, batchVariants: 0 };
    const r = placeServices(input, options);
    const claim = Object.fromEntries(r.instances.map((i) => [i.serviceId, i.capacityPerSec]));
    expect(claim['f']).toBeCloseTo(2000 / 26, 9);
    // The latency service's claim is trimmed to its demand: a lower rate only lengthens its allowed cycle.
    expect(claim['l']).toBeCloseTo(100, 9);
    expect(r.services.map((s) => s.servedPerSec)).toEqual([100, 40]);
    expect(findPlacementViolations(input, r.instances, options)).toEqual([]);
  });

  it('holds with the default interference and batch variants too', () => {
    const r = placeServices(input);
    expect(findPlacementViolations(input, r.instances)).toEqual([]);
    expect(r.goodputPerSec).toBeCloseTo(140, 9);
  });
});
