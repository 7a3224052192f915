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

describe('Triton-like static baseline: a careful operator and the residual-blocking rule', () => {
  /** Two GPUs; the slow model is placed first (more memory) and the classifier's replica would share its GPU. */
  function twoGpus(): PlacementInput {
    const input = shared();
    return { ...input, servers: [{ id: 's0', devices: [0, 1].map((d) => ({ id: `g${d}`, kind: 'gpu', memoryBytes: 16 * GB })) }] };
  }

  it('an operator who checks the deadlines gives the classifier a device the slow model does not break', () => {
    // One GPU: the classifier is placed first (same memory, input order); the slow model's replica could only share
    // its GPU, breaking the classifier's 60 ms, so the careful operator leaves it out and the classifier serves in full.
    const careful = tritonLikeGoodput(shared(), 0.1, 0.1, { sloAwareOperator: true });
    expect(careful.replicas).toBe(1);
    expect(careful.shortServices).toBe(1);
    expect(careful.goodputWithinSloPerSec).toBeCloseTo(50, 9);
    // Two GPUs: least-loaded already separates them, so the careful operator changes nothing.
    const plain = tritonLikeGoodput(twoGpus());
    expect(tritonLikeGoodput(twoGpus(), 0.1, 0.1, { sloAwareOperator: true })).toEqual(plain);
  });

  it('held to residual blocking, a latency model sharing a device with a long run serves nothing within SLO', () => {
    // A looser latency model beside the slow one: the round-robin rule holds (cycle 1.1 × (14 + 400) ms plus its own
    // run, 470.8 ≤ 500 ms), but the longest run plus its own (455.4 ms) against 500 ms × (1 − the slow model's busy
    // share 0.22) does not.
    const input = shared();
    const loose = svc('fast', 500);
    const both = { ...input, services: [loose, input.services[1]!], plans: { ...input.plans, fast: input.plans['fast']!.map((p) => ({ ...p })) } };
    const before = tritonLikeGoodput(both);
    expect(before.services.find((s) => s.serviceId === 'fast')!.servedWithinSloPerSec).toBeCloseTo(50, 9);
    const blocked = tritonLikeGoodput(both, 0.1, 0.1, { residualBlocking: true });
    const slowBusy = (0.5 * 400 * 1.1) / 1000;
    expect(440 + 14 * 1.1 > 500 * (1 - slowBusy)).toBe(true);
    expect(blocked.services.find((s) => s.serviceId === 'fast')!.servedWithinSloPerSec).toBe(0);
    // The slow model is a latency model too, and the classifier's short batches leave its 2 s budget.
    expect(blocked.services.find((s) => s.serviceId === 'slow')!.servedWithinSloPerSec).toBeCloseTo(0.5, 9);
    // The careful operator who knows the rule does not co-locate them: the slow model is short of room instead.
    const careful = tritonLikeGoodput(both, 0.1, 0.1, { residualBlocking: true, sloAwareOperator: true });
    expect(careful.replicas).toBe(1);
    expect(careful.goodputWithinSloPerSec).toBeCloseTo(50, 9);
    // Knowing only the round-robin rule, the operator co-locates them (and the blocked classifier serves nothing).
    expect(tritonLikeGoodput(both, 0.1, 0.1, { residualBlocking: true, sloAwareOperator: false }).replicas).toBe(2);
  });
});

describe('Triton-like static baseline: where requests enter (the balancer)', () => {
  /** Three one-GPU servers; one model of 60 items/s per replica, 120 items/s entering: 10 at s0, 10 at s1, 100 at s2. */
  function skewed(): PlacementInput {
    const m = svc('m', 500);
    return {
      servers: ['s0', 's1', 's2'].map((id) => ({ id, devices: [{ id: 'g0', kind: 'gpu', memoryBytes: 16 * GB }] })),
      services: [m],
      // 6 items in 100 ms: 60 items/s per replica.
      plans: { m: [affinePlan(m, 'gpu', { fixedMs: 40, perItemMs: 10, batch: 6 })] },
      demand: [{ serviceId: 'm', ratePerServer: { s0: 10, s1: 10, s2: 100 } }],
    };
  }

  it('a capacity-aware balancer splits the whole demand over the replicas; served where it enters, the busy entry overflows', () => {
    const pooled = tritonLikeGoodput(skewed());
    expect(pooled.replicas).toBe(2);
    expect(pooled.goodputWithinSloPerSec).toBeCloseTo(120, 9);
    // Local first: the replicas go where the most demand enters (s2, then s0 before s1 in server order); s1's 10
    // items/s are forwarded half to each; s2 receives 105 and serves 60, s0 receives 15 and serves 15.
    const local = tritonLikeGoodput(skewed(), 0.1, 0.1, { balancer: 'local-first' });
    expect(local.replicas).toBe(2);
    expect(local.goodputPerSec).toBeCloseTo(75, 9);
    expect(local.goodputWithinSloPerSec).toBeCloseTo(75, 9);
    expect(local.services).toEqual([{ serviceId: 'm', demandPerSec: 120, servedPerSec: local.goodputPerSec, servedWithinSloPerSec: local.goodputWithinSloPerSec }]);
  });

  it('local first with every entry hosted serves each entry up to its own replica', () => {
    const input = skewed();
    // 40 at s0 and 60 at s2: the replicas land there and nothing is forwarded.
    const even = { ...input, demand: [{ serviceId: 'm', ratePerServer: { s0: 40, s2: 60 } }] };
    expect(tritonLikeGoodput(even, 0.1, 0.1, { balancer: 'local-first' }).goodputWithinSloPerSec).toBeCloseTo(100, 9);
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
