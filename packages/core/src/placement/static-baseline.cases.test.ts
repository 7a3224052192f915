import { describe, expect, it } from 'vitest';
import type { ServiceSpec } from '../model/service.js';
import { affineProfile } from '../profiles/latency-profile.js';
import { exceeds } from './greedy.js';
import { affinePlan } from './testing/random-instance.js';
import { tritonLikeGoodput } from './testing/static-baseline.js';
import type { PlacementInput } from './types.js';

const GB = 1024 ** 3;

const svc = (id: string, deadlineMs: number): ServiceSpec => ({
  id,
  sensitivity: 'latency',
  slo: { kind: 'latency', deadlineMs },
  memory: { weightsBytes: 1 * GB, perItemBytes: 0.01 * GB },
  profiles: { gpu: affineProfile('gpu', { fixedMs: 10, perItemMs: 1, maxBatch: 64 }) },
});

/** One GPU, two models whose replicas must share it: a tight classifier and a slow model with a loose SLO. */
function shared(): PlacementInput {
  const fast = svc('fast', 60);
  const slow = svc('slow', 2000);
  return {
    servers: [{ id: 's0', devices: [{ id: 'g0', kind: 'gpu', memoryBytes: 16 * GB }] }],
    services: [fast, slow],
    // fast: 4 items in 14 ms (2·L ≤ 60 alone); slow: 1 item in 400 ms.
    plans: { fast: [affinePlan(fast, 'gpu', { fixedMs: 10, perItemMs: 1, batch: 4 })], slow: [affinePlan(slow, 'gpu', { fixedMs: 300, perItemMs: 100, batch: 1 })] },
    demand: [
      { serviceId: 'fast', ratePerServer: { s0: 50 } },
      { serviceId: 'slow', ratePerServer: { s0: 0.5 } },
    ],
  };
}

describe('Triton-like static baseline', () => {
  it('credits co-located models their time-sliced rate, but within SLO a model whose deadline the shared cycle breaks serves nothing', () => {
    const r = tritonLikeGoodput(shared());
    expect(r.replicas).toBe(2);
    // Utilization 50 × 14/4 ms + 0.5 × 400 ms = 0.375 ≤ 1: both served in full as credited.
    expect(r.goodputPerSec).toBeCloseTo(50.5, 9);
    const fast = r.services.find((s) => s.serviceId === 'fast')!;
    const slow = r.services.find((s) => s.serviceId === 'slow')!;
    expect(fast).toMatchObject({ demandPerSec: 50, servedPerSec: 50, servedWithinSloPerSec: 0 });
    // The shared cycle (14 + 400) × 1.1 plus its own run fits the slow model's 2 s; the classifier's 60 ms it does not.
    expect(slow.servedWithinSloPerSec).toBeCloseTo(0.5, 9);
    expect(r.goodputWithinSloPerSec).toBeCloseTo(0.5, 9);
  });

  it('counts a replica alone on its device within SLO at its credited rate', () => {
    const input = shared();
    const alone = { ...input, servers: [{ id: 's0', devices: [0, 1].map((d) => ({ id: `g${d}`, kind: 'gpu', memoryBytes: 16 * GB })) }] };
    const r = tritonLikeGoodput(alone);
    expect(r.goodputWithinSloPerSec).toBeCloseTo(r.goodputPerSec, 9);
    expect(r.goodputPerSec).toBeCloseTo(50.5, 9);
  });
});

describe('exceeds (objective comparison)', () => {
  it('needs more than epsilon and more than rounding noise relative to the totals', () => {
    expect(exceeds(1 + 1e-6, 1, 1e-9)).toBe(true);
    expect(exceeds(1 + 1e-10, 1, 1e-9)).toBe(false);
    // At 10¹², 10⁻³ is float noise (relative 10⁻¹⁵), not an improvement.
    expect(exceeds(1e12 + 1e-3, 1e12, 1e-9)).toBe(false);
    expect(exceeds(1e12 + 10, 1e12, 1e-9)).toBe(true);
    expect(exceeds(1e12, 1e12 + 10, 1e-9)).toBe(false);
    expect(exceeds(-1, -2, 0)).toBe(true);
    // Strictly more than epsilon: a tie at exactly epsilon keeps the result.
    expect(exceeds(2, 1, 1)).toBe(false);
    expect(exceeds(2.5, 1, 1)).toBe(true);
  });
});
