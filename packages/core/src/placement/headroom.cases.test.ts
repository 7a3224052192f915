import { describe, expect, it } from 'vitest';
import { isEparaError } from '../errors/epara-error.js';
import { placementService } from '../testing/placement-fixture.js';
import type { ServerSpec } from '../model/device.js';
import type { ServiceSpec } from '../model/service.js';
import { affineProfile } from '../profiles/latency-profile.js';
import { findPlacementViolations } from './find-violations.js';
import { buildPlacementModel } from './model.js';
import { resolvePlacementOptions, type PlacementOptions } from './options.js';
import { placeServices } from './place-services.js';
import { affinePlan } from './testing/random-instance.js';
import type { PlacementInput } from './types.js';
import { serviceValue } from './value.js';

const GB = 1024 ** 3;

const svc = (id: string, over: Partial<ServiceSpec> = {}): ServiceSpec =>
  placementService(id, { loadTimeMs: 3000, profiles: { gpu: affineProfile('gpu', { fixedMs: 10, perItemMs: 2, maxBatch: 64 }) }, ...over });

const servers = (devices: number): ServerSpec[] => [{ id: 's0', devices: Array.from({ length: devices }, (_, d) => ({ id: `g${d}`, kind: 'gpu', memoryBytes: 16 * GB })) }];

const served = (r: ReturnType<typeof placeServices>, id: string): number => r.services.find((s) => s.serviceId === id)!.servedPerSec;
const devicesOf = (r: ReturnType<typeof placeServices>, id: string): number => r.instances.filter((i) => i.serviceId === id).reduce((n, i) => n + i.deviceIds.length, 0);

/**
 * Three whole devices; a cheap classifier whose forecast one device covers, and an LLM whose forecast needs two.
 * The demand handed to placement is the forecast × 1.25 (a planning margin, as the simulator plans).
 */
function margin(): { input: PlacementInput; cnnCap: number; llmCap: number } {
  const cnn = svc('cnn');
  const llm = svc('llm', { memory: { weightsBytes: 12 * GB, perItemBytes: 0.1 * GB }, slo: { kind: 'latency', deadlineMs: 3000 } });
  const cnnPlan = affinePlan(cnn, 'gpu', { fixedMs: 10, perItemMs: 2, batch: 8 });
  const llmPlan = affinePlan(llm, 'gpu', { fixedMs: 200, perItemMs: 100, batch: 1 });
  const headroom = 1.25;
  return {
    input: {
      servers: servers(3),
      services: [cnn, llm],
      plans: { cnn: [cnnPlan], llm: [llmPlan] },
      demand: [
        { serviceId: 'cnn', ratePerServer: { s0: cnnPlan.capacityPerSec * headroom } },
        { serviceId: 'llm', ratePerServer: { s0: 2 * llmPlan.capacityPerSec * headroom } },
      ],
      demandHeadroom: headroom,
    },
    cnnCap: cnnPlan.capacityPerSec,
    llmCap: llmPlan.capacityPerSec,
  };
}

/** Whole devices, stateless, no floor: the valuation alone decides. */
const plain: PlacementOptions = { multiTask: false, switchWeight: 0, valueWeighting: 'per-item', minServedShare: 0 };

describe('headroom valued below the forecast', () => {
  it('valued as forecast (the default), the cheap service’s margin takes the device the expensive service’s forecast needs', () => {
    const { input, cnnCap, llmCap } = margin();
    const r = placeServices(input, plain);
    expect(findPlacementViolations(input, r.instances, plain)).toEqual([]);
    expect(devicesOf(r, 'cnn')).toBe(2);
    expect(served(r, 'cnn')).toBeCloseTo(1.25 * cnnCap, 6);
    expect(served(r, 'llm')).toBeCloseTo(llmCap, 6);
    // Telling placement about the headroom changes nothing while it is worth as much as the forecast.
    const { demandHeadroom: _, ...untold } = input;
    expect(placeServices(untold, plain).instances.map((i) => i.instanceId)).toEqual(r.instances.map((i) => i.instanceId));
  });

  it('discounted, every service’s forecast is served before any service’s headroom', () => {
    const { input, cnnCap, llmCap } = margin();
    const options = { ...plain, headroomValue: 0.01 };
    const r = placeServices(input, options);
    expect(findPlacementViolations(input, r.instances, options)).toEqual([]);
    expect(devicesOf(r, 'cnn')).toBe(1);
    expect(devicesOf(r, 'llm')).toBe(2);
    expect(served(r, 'cnn')).toBeCloseTo(cnnCap, 6);
    expect(served(r, 'llm')).toBeCloseTo(2 * llmCap, 6);
    // The objective: forecast items at full value, headroom beyond it at 1 %: here every item served is forecast.
    expect(r.objective).toBeCloseTo(cnnCap + 2 * llmCap, 6);
  });

  it('headroom is still worth serving: a spare device goes to it', () => {
    const { input, cnnCap, llmCap } = margin();
    const spare = { ...input, servers: servers(4) };
    const r = placeServices(spare, { ...plain, headroomValue: 0.01 });
    expect(served(r, 'llm')).toBeCloseTo(2 * llmCap, 6);
    expect(served(r, 'cnn')).toBeCloseTo(1.25 * cnnCap, 6);
    expect(r.objective).toBeCloseTo(cnnCap + 2 * llmCap + 0.01 * 0.25 * cnnCap, 6);
  });

  it('values a service as w × (δ served + (1 − δ) min(served, forecast) + bonus min(served, floor)); backlog counts as forecast', () => {
    const { input } = margin();
    const current = [{ instanceId: 'cnn-a', serviceId: 'cnn', plan: input.plans['cnn']![0]!, serverId: 's0', deviceIds: ['g0'], backlogItems: 300 }];
    const options = resolvePlacementOptions({ ...plain, headroomValue: 0.2, minServedShare: 0.5, floorBonus: 10, floorFairShare: false, periodMs: 30_000 });
    const model = buildPlacementModel({ ...input, current }, options);
    const cnn = model.services[0]!;
    const rate = input.demand[0]!.ratePerServer['s0']!;
    expect(cnn.forecastPerSec).toBeCloseTo(rate / 1.25 + 10, 9);
    expect(cnn.totalDemand).toBeCloseTo(rate + 10, 9);
    for (const x of [0, cnn.floorPerSec / 2, cnn.forecastPerSec * 0.9, cnn.forecastPerSec * 1.1, cnn.totalDemand]) {
      const want = 0.2 * x + 0.8 * Math.min(x, cnn.forecastPerSec) + 10 * Math.min(x, cnn.floorPerSec);
      expect(serviceValue(cnn, x)).toBeCloseTo(want, 9);
    }
  });

  it('rejects a headroom below 1 and a headroom value outside [0, 1] with INVALID_OPTIONS naming the field', () => {
    const { input } = margin();
    for (const bad of [0.5, 0, -1, Number.NaN, Number.POSITIVE_INFINITY, '1.25' as unknown as number]) {
      const err = catchError(() => placeServices({ ...input, demandHeadroom: bad }));
      expect(isEparaError(err) && err.code).toBe('INVALID_OPTIONS');
      expect((err as { details?: { field?: string } }).details?.field).toBe('demandHeadroom');
    }
    for (const bad of [-0.1, 1.5, Number.NaN, '0.5' as unknown as number]) {
      const err = catchError(() => placeServices(input, { headroomValue: bad }));
      expect(isEparaError(err) && err.code).toBe('INVALID_OPTIONS');
      expect((err as { details?: { field?: string } }).details?.field).toBe('headroomValue');
    }
    expect(() => placeServices({ ...input, demandHeadroom: 1 }, { headroomValue: 0 })).not.toThrow();
  });
});

function catchError(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}
