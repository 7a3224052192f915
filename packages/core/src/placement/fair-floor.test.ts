import { describe, expect, it } from 'vitest';
import { placementService } from '../testing/placement-fixture.js';
import type { ServerSpec } from '../model/device.js';
import type { ServiceSpec } from '../model/service.js';
import { affineProfile } from '../profiles/latency-profile.js';
import { findPlacementViolations } from './find-violations.js';
import { fairShareCapacity, type DeviceNode } from './model.js';
import { placeServices } from './place-services.js';
import { affinePlan } from './testing/random-instance.js';
import type { PlacementInput } from './types.js';

const GB = 1024 ** 3;

const svc = (id: string, over: Partial<ServiceSpec> = {}): ServiceSpec =>
  placementService(id, { deadlineMs: 3000, loadTimeMs: 3000, profiles: { gpu: affineProfile('gpu', { fixedMs: 10, perItemMs: 2, maxBatch: 64 }) }, ...over });

const gpus = (n: number): ServerSpec[] => [{ id: 's0', devices: Array.from({ length: n }, (_, d) => ({ id: `g${d}`, kind: 'gpu', memoryBytes: 16 * GB })) }];

/** Four GPUs; a classifier (~300 items/s per GPU) and an LLM (~3.3 requests/s per GPU) whose floor alone wants three. */
function shortOfDevices(llmRate = 20): PlacementInput {
  const cnn = svc('cnn');
  const llm = svc('llm', { memory: { weightsBytes: 12 * GB, perItemBytes: 0.1 * GB } });
  return {
    servers: gpus(4),
    services: [cnn, llm],
    plans: { cnn: [affinePlan(cnn, 'gpu', { fixedMs: 10, perItemMs: 2, batch: 8 })], llm: [affinePlan(llm, 'gpu', { fixedMs: 200, perItemMs: 100, batch: 1 })] },
    demand: [
      { serviceId: 'cnn', ratePerServer: { s0: 400 } },
      { serviceId: 'llm', ratePerServer: { s0: llmRate } },
    ],
  };
}

const devicesOf = (r: ReturnType<typeof placeServices>, id: string): number => r.instances.filter((i) => i.serviceId === id).reduce((n, i) => n + i.deviceIds.length, 0);

describe('floor capped at a fair share of the devices', () => {
  it('an LLM floor takes at most its equal share of the GPUs; uncapped it takes three of four', () => {
    const input = shortOfDevices();
    const uncapped = placeServices(input, { floorFairShare: false });
    expect(devicesOf(uncapped, 'llm')).toBe(3);
    const r = placeServices(input);
    expect(findPlacementViolations(input, r.instances)).toEqual([]);
    expect(devicesOf(r, 'llm')).toBe(2);
    expect(devicesOf(r, 'cnn')).toBe(2);
    expect(r.goodputPerSec).toBeGreaterThan(uncapped.goodputPerSec);
  });

  it('does not bind when the floor fits in the share', () => {
    const input = shortOfDevices(6);
    expect(placeServices(input)).toEqual(placeServices(input, { floorFairShare: false }));
  });

  it('counts each healthy device on its best fitting plan per device', () => {
    const s = svc('s');
    const small = affinePlan(s, 'gpu', { fixedMs: 10, perItemMs: 2, batch: 8 });
    const pair = { ...small, devices: 2, capacityPerSec: 3 * small.capacityPerSec };
    const dev = (kind: string, healthy = true, usableBytes = 16 * GB): DeviceNode => ({ server: 0, id: kind, kind, usableBytes, healthy });
    expect(fairShareCapacity([small, pair], [dev('gpu'), dev('gpu'), dev('gpu', false), dev('cpu')])).toBeCloseTo(3 * small.capacityPerSec, 9);
    expect(fairShareCapacity([small], [dev('gpu', true, 0.5 * GB)])).toBe(0);
  });

  it('rejects a non-boolean', () => {
    expect(() => placeServices(shortOfDevices(), { floorFairShare: 'yes' as never })).toThrow(/floorFairShare/);
  });
});
