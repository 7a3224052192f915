import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { placementService } from '../testing/placement-fixture.js';
import type { ServerSpec } from '../model/device.js';
import type { ServiceSpec } from '../model/service.js';
import { affineProfile } from '../profiles/latency-profile.js';
import { findPlacementViolations } from './find-violations.js';
import type { PlacementOptions } from './options.js';
import { placeServices } from './place-services.js';
import { affinePlan } from './testing/random-instance.js';
import { statefulScenario } from './testing/scenarios.js';
import type { PlacementInput } from './types.js';

const GB = 1024 ** 3;
const svc = (id: string, over: Partial<ServiceSpec> = {}): ServiceSpec =>
  placementService(id, { loadTimeMs: 3000, profiles: { gpu: affineProfile('gpu', { fixedMs: 10, perItemMs: 2, maxBatch: 64 }) }, ...over });
const servers = (n: number, devices: number): ServerSpec[] =>
  Array.from({ length: n }, (_, s) => ({ id: `s${s}`, devices: Array.from({ length: devices }, (_, d) => ({ id: `g${d}`, kind: 'gpu', memoryBytes: 16 * GB })) }));
const served = (r: ReturnType<typeof placeServices>, id: string): number => r.services.find((s) => s.serviceId === id)!.servedPerSec;

/** A classifier (307 items/s per device) and an LLM (3.3 answers/s per device) on four whole devices. */
function pair(cnnRate: number, llmRate: number): PlacementInput {
  const cnn = svc('cnn');
  const llm = svc('llm', { memory: { weightsBytes: 12 * GB, perItemBytes: 0.1 * GB }, slo: { kind: 'latency', deadlineMs: 3000 } });
  return {
    servers: servers(1, 4),
    services: [cnn, llm],
    plans: { cnn: [affinePlan(cnn, 'gpu', { fixedMs: 10, perItemMs: 2, batch: 8 })], llm: [affinePlan(llm, 'gpu', { fixedMs: 200, perItemMs: 100, batch: 1 })] },
    demand: [
      { serviceId: 'cnn', ratePerServer: { s0: cnnRate } },
      { serviceId: 'llm', ratePerServer: { s0: llmRate } },
    ],
  };
}

const WHOLE = { multiTask: false } as const;
const FLOORS: PlacementOptions = { ...WHOLE, valueWeighting: 'floors-by-load', minServedShare: 1 };

describe('the shortage switch (`shortage`)', () => {
  it('short devices: keeps the whole-demand floors by load, which serve more items', () => {
    // Offered load gives the LLM a third device (its 10 answers/s are worth the classifier's 400); floors by load
    // cap the LLM's floor at its equal share of the devices (6.7/s, two devices) and give the rest to the classifier.
    const input = pair(400, 10);
    const given = placeServices(input, WHOLE);
    const floors = placeServices(input, FLOORS);
    for (const shortage of ['switch', 'estimate'] as const) {
      const r = placeServices(input, { ...WHOLE, shortage });
      expect(findPlacementViolations(input, r.instances, WHOLE)).toEqual([]);
      expect(r.stats.shortage).toBe('floors-by-load');
      expect(r.instances).toEqual(floors.instances);
      expect(r.goodputPerSec).toBeGreaterThan(given.goodputPerSec);
      expect(served(r, 'llm')).toBeCloseTo(2 * input.plans.llm![0]!.capacityPerSec, 6);
      expect(served(given, 'llm')).toBeCloseTo(10, 6);
    }
    // The switch stops after the first placement; the estimate makes both and counts both.
    expect(placeServices(input, { ...WHOLE, shortage: 'switch' }).stats.evaluations).toBe(floors.stats.evaluations);
    expect(placeServices(input, { ...WHOLE, shortage: 'estimate' }).stats.evaluations).toBe(floors.stats.evaluations + given.stats.evaluations);
  });

  it('the estimate keeps the options as given when floors by load serve no more predicted items', () => {
    // Short (the classifier's 5000 items/s), but both valuations give each service two devices.
    const input = pair(5000, 6);
    const given = placeServices(input, WHOLE);
    expect(placeServices(input, FLOORS).goodputPerSec).toBeCloseTo(given.goodputPerSec, 6);
    expect(placeServices(input, { ...WHOLE, shortage: 'switch' }).stats.shortage).toBe('floors-by-load');
    const r = placeServices(input, { ...WHOLE, shortage: 'estimate' });
    expect(r.stats.shortage).toBe('as-given');
    expect(r.instances).toEqual(given.instances);
  });

  it('devices enough for every forecast: places with the options as given', () => {
    const input = pair(300, 3);
    const given = placeServices(input, WHOLE);
    for (const shortage of ['switch', 'estimate'] as const) {
      const r = placeServices(input, { ...WHOLE, shortage });
      expect(r.stats.shortage).toBe('as-given');
      expect(r.instances).toEqual(given.instances);
    }
    // Every forecast met: the estimate makes no second placement.
    expect(placeServices(input, { ...WHOLE, shortage: 'estimate' }).stats.evaluations).toBe(given.stats.evaluations);
  });

  it('the headroom beyond the forecast does not count as short', () => {
    // Demand 1.25× the forecast: the LLM's 5 answers/s are 4 of forecast, which two devices cover; the
    // classifier's 400 items/s (320 forecast) fit on the other two.
    const input = { ...pair(400, 5), demandHeadroom: 1.25 };
    expect(placeServices(input, { ...WHOLE, shortage: 'switch' }).stats.shortage).toBe('as-given');
  });

  it('rejects a bad value', () => {
    expect(() => placeServices(pair(300, 3), { shortage: 'x' as never })).toThrow(/shortage/);
  });

  it('makes no changes when run again on its own output (no churn)', () => {
    const shape = fc.record({
      servers: fc.integer({ min: 1, max: 4 }),
      devicesPerServer: fc.integer({ min: 1, max: 3 }),
      services: fc.integer({ min: 1, max: 6 }),
      groups: fc.boolean(),
      kinds: fc.constantFrom(['gpu'], ['gpu', 'cpu']),
    });
    const options = fc.record({ locality: fc.boolean(), multiTask: fc.constantFrom(true, false, 'auto' as const), shortage: fc.constantFrom('switch' as const, 'estimate' as const) });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), shape, options, (s, sh, opts) => {
        const input = statefulScenario(s, sh, opts, 0.1);
        const first = placeServices(input, opts);
        expect(findPlacementViolations(input, first.instances, opts)).toEqual([]);
        const second = placeServices({ ...input, current: first.instances }, opts);
        expect(second.changes).toEqual([]);
      }),
      { numRuns: Number(process.env.FC_RUNS ?? 30) },
    );
  });
});
