import { describe, expect, it } from 'vitest';
import { placementService } from '../testing/placement-fixture.js';
import type { ServerSpec } from '../model/device.js';
import type { ServiceSpec } from '../model/service.js';
import { affineProfile } from '../profiles/latency-profile.js';
import { findPlacementViolations } from './find-violations.js';
import { placeServices } from './place-services.js';
import { affinePlan } from './testing/random-instance.js';
import type { PlacementInput } from './types.js';

const GB = 1024 ** 3;

const svc = (id: string, over: Partial<ServiceSpec> = {}): ServiceSpec =>
  placementService(id, { loadTimeMs: 3000, profiles: { gpu: affineProfile('gpu', { fixedMs: 10, perItemMs: 2, maxBatch: 64 }) }, ...over });

const servers = (n: number, devices: number, memGb = 16): ServerSpec[] =>
  Array.from({ length: n }, (_, s) => ({ id: `s${s}`, devices: Array.from({ length: devices }, (_, d) => ({ id: `g${d}`, kind: 'gpu', memoryBytes: memGb * GB })) }));

const served = (r: ReturnType<typeof placeServices>, id: string): number => r.services.find((s) => s.serviceId === id)!.servedPerSec;

describe('value per offered load with a floor', () => {
  /** A cheap classifier with far more demand than two devices serve, and an LLM that needs a whole device for 5 items/s. */
  function crowded(cnnRate = 5000): PlacementInput {
    const cnn = svc('cnn');
    const llm = svc('llm', { memory: { weightsBytes: 12 * GB, perItemBytes: 0.1 * GB }, slo: { kind: 'latency', deadlineMs: 3000 } });
    return {
      servers: servers(1, 2),
      services: [cnn, llm],
      plans: { cnn: [affinePlan(cnn, 'gpu', { fixedMs: 10, perItemMs: 2, batch: 8 })], llm: [affinePlan(llm, 'gpu', { fixedMs: 200, perItemMs: 100, batch: 1 })] },
      demand: [
        { serviceId: 'cnn', ratePerServer: { s0: cnnRate } },
        { serviceId: 'llm', ratePerServer: { s0: 3 } },
      ],
    };
  }

  it('maximizing items/s abandons the expensive service; valuing offered load serves it', () => {
    const input = crowded();
    const perItem = placeServices(input, { valueWeighting: 'per-item', minServedShare: 0 });
    expect(served(perItem, 'llm')).toBe(0);
    const r = placeServices(input, { valueWeighting: 'offered-load' });
    expect(findPlacementViolations(input, r.instances)).toEqual([]);
    expect(served(r, 'llm')).toBeCloseTo(3, 6);
    expect(served(r, 'cnn')).toBeGreaterThan(0);
    expect(r.guarantee.statement).toMatch(/monotone submodular/);
  });

  it('the floor alone keeps a service from being abandoned while another is served beyond its floor', () => {
    // One device covers half the classifier's demand; its second device would only over-serve it.
    const input = crowded(500);
    expect(served(placeServices(input, { valueWeighting: 'per-item', minServedShare: 0 }), 'llm')).toBe(0);
    for (const r of [placeServices(input), placeServices(input, { minServedShare: 0.5, floorBonus: 1000 })]) {
      expect(served(r, 'llm')).toBeGreaterThan(0);
      expect(served(r, 'cnn')).toBeGreaterThanOrEqual(250);
    }
  });

  it('floors by load: every floor first, then the device left over to the most items', () => {
    // Four whole devices; the LLM's 6 answers/s need two (3.3 each), the classifier's 5000 items/s far more (307 each).
    // Floors: the LLM's 3 (one device), the classifier's capped at its equal share of the devices (4 × 307 ÷ 2).
    const base = crowded();
    const input = { ...base, servers: servers(1, 4), demand: [base.demand[0]!, { serviceId: 'llm', ratePerServer: { s0: 6 } }] };
    const cnnPerDevice = input.plans.cnn![0]!.capacityPerSec;
    const llmPerDevice = input.plans.llm![0]!.capacityPerSec;
    // Offered load: the fourth device completes the LLM's demand (worth as much as the classifier's whole demand).
    const byLoad = placeServices(input, { multiTask: false });
    expect(served(byLoad, 'llm')).toBeCloseTo(6, 6);
    expect(served(byLoad, 'cnn')).toBeCloseTo(2 * cnnPerDevice, 6);
    // Floors by load: both floors as before, and the fourth device serves 307 classifications rather than 2.7 answers.
    const split = placeServices(input, { multiTask: false, valueWeighting: 'floors-by-load' });
    expect(findPlacementViolations(input, split.instances, { multiTask: false })).toEqual([]);
    expect(served(split, 'llm')).toBeCloseTo(llmPerDevice, 6);
    expect(served(split, 'cnn')).toBeCloseTo(3 * cnnPerDevice, 6);
    expect(split.goodputPerSec).toBeGreaterThan(byLoad.goodputPerSec);
  });

  it('rejects bad value options', () => {
    expect(() => placeServices(crowded(), { minServedShare: 2 })).toThrow(/minServedShare/);
    expect(() => placeServices(crowded(), { valueWeighting: 'x' as never })).toThrow(/valueWeighting/);
    expect(() => placeServices(crowded(), { colocationSlowdown: -1 })).toThrow(/colocationSlowdown/);
  });
});

describe('co-location interference', () => {
  function pair(slowdown?: number): PlacementInput {
    const a = svc('a', slowdown === undefined ? {} : { colocationSlowdown: slowdown });
    const b = svc('b');
    return {
      servers: servers(1, 1),
      services: [a, b],
      plans: { a: [affinePlan(a, 'gpu', { fixedMs: 10, perItemMs: 2, batch: 8 })], b: [affinePlan(b, 'gpu', { fixedMs: 10, perItemMs: 2, batch: 8 })] },
      demand: [
        { serviceId: 'a', ratePerServer: { s0: 60 } },
        { serviceId: 'b', ratePerServer: { s0: 60 } },
      ],
    };
  }

  it('co-locates when the slowed cycle still fits, and not when interference makes it miss deadlines', () => {
    const o = { batchVariants: 0 };
    expect(placeServices(pair(), { ...o, colocationSlowdown: 0 }).instances).toHaveLength(2);
    expect(placeServices(pair(), { ...o, colocationSlowdown: 0.1 }).instances).toHaveLength(2);
    // Two 26 ms runs slowed 4× make a 208 ms cycle: past the 200 ms deadline, so the device runs one service.
    expect(placeServices(pair(), { ...o, colocationSlowdown: 3 }).instances).toHaveLength(1);
    // A service's profiled slowdown overrides the option: slow a by 7× (and b by the default 0.1).
    expect(placeServices(pair(6), o).instances).toHaveLength(1);
  });

  it('the shared rate is capped by the slowed cycle', () => {
    const input = { ...pair(), demand: [{ serviceId: 'a', ratePerServer: { s0: 150 } }, { serviceId: 'b', ratePerServer: { s0: 150 } }] };
    const fast = placeServices(input, { colocationSlowdown: 0 });
    const slow = placeServices(input, { colocationSlowdown: 0.5 });
    expect(findPlacementViolations(input, slow.instances, { colocationSlowdown: 0.5 })).toEqual([]);
    expect(fast.goodputPerSec).toBeCloseTo(300, 6);
    expect(slow.goodputPerSec).toBeLessThan(fast.goodputPerSec);
  });
});

describe('locality by default', () => {
  function spread(): PlacementInput {
    const a = svc('a', { slo: { kind: 'latency', deadlineMs: 80 } });
    return {
      servers: servers(2, 1),
      services: [a],
      plans: { a: [affinePlan(a, 'gpu', { fixedMs: 10, perItemMs: 2, batch: 4 })] },
      demand: [{ serviceId: 'a', ratePerServer: { s1: 100 } }],
    };
  }

  it('uses the delays when given (as locality: true), and behaves as before without them', () => {
    const input = spread();
    const delaysMs = { s0: { s0: 0, s1: 30 }, s1: { s0: 30, s1: 0 } };
    const near = placeServices({ ...input, delaysMs });
    expect(near.instances.map((i) => i.serverId)).toEqual(['s1']);
    expect(near).toEqual(placeServices({ ...input, delaysMs }, { locality: true }));
    expect(placeServices(input)).toEqual(placeServices(input, { locality: false }));
  });
});

describe('batch variants alone', () => {
  it('places a smaller batch on a device too small for the allocator batch', () => {
    const s = svc('s', { memory: { weightsBytes: 1 * GB, perItemBytes: 0.5 * GB } });
    const input: PlacementInput = {
      servers: servers(1, 1, 8), // 7.2 GB usable: batch 16 needs 9 GB, batch 8 needs 5 GB
      services: [s],
      plans: { s: [affinePlan(s, 'gpu', { fixedMs: 10, perItemMs: 2, batch: 16 })] },
      demand: [{ serviceId: 's', ratePerServer: { s0: 100 } }],
    };
    expect(placeServices(input, { batchVariants: 0 }).instances).toEqual([]);
    const r = placeServices(input);
    expect(r.instances).toHaveLength(1);
    expect(r.instances[0]!.plan.batchSize).toBe(8);
    expect(findPlacementViolations(input, r.instances)).toEqual([]);
  });
});
