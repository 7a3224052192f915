import { describe, expect, it } from 'vitest';
import { allocate } from './allocate.js';
import type { ServerSpec } from '../model/device.js';
import type { ServiceDemand } from '../model/demand.js';
import type { ServiceSpec } from '../model/service.js';
import { createProfile } from '../profiles/latency-profile.js';
import { streamCapacity } from '../scheduling/stream-capacity.js';
import { placementService } from '../testing/placement-fixture.js';
import { placeServices } from '../placement/place-services.js';
import { plansAtMeasuredSpeed, plansAtProfileSpeed, servicesAtMeasuredSpeed, validateCostRatios } from './measured-speed.js';

const GB = 1024 ** 3;
/** A stream service: frames of 10 Hz streams fresh within 100 ms; a pack of 4 runs 32 ms on its profile. */
const video: ServiceSpec = placementService('video', {
  sensitivity: 'frequency',
  slo: { kind: 'frequency', rateHz: 10, stalenessMs: 100 },
  profiles: { cpu: createProfile('cpu', [{ batch: 1, ms: 10 }, { batch: 2, ms: 18 }, { batch: 4, ms: 32 }, { batch: 8, ms: 60 }]) },
});
const servers: ServerSpec[] = ['a', 'b', 'c'].map((id) => ({ id, devices: [{ id: 'cpu0', kind: 'cpu', memoryBytes: 16 * GB }] }));
/** Eleven streams of 10 Hz, entering at the three servers: 110 frames/s. */
const demand: ServiceDemand[] = [{ serviceId: 'video', ratePerServer: {}, streams: ['a', 'a', 'a', 'a', 'b', 'b', 'b', 'b', 'c', 'c', 'c'].map((accessServer) => ({ accessServer, rateHz: 10 })) }];

function place(services: readonly ServiceSpec[]) {
  const plans = Object.fromEntries(services.map((s) => [s.id, allocate({ service: s, demand: demand[0]!, deviceKinds: [{ kind: 'cpu', memoryBytes: 16 * GB }] }).plans]));
  return placeServices({ servers, services, plans, demand });
}

/** Frames/s the placed instances serve within the staleness bound on devices `ratio` times slower than the profile. */
const served = (instances: readonly { deviceIds: readonly string[] }[], ratio: number): number =>
  instances.length * streamCapacity(video.profiles['cpu']!, { stalenessMs: 100, maxBatch: 8, speed: () => 1 / ratio }).ratePerSec;

describe('placement at measured speed', () => {
  it('on the profiles places one instance, which on devices 2.3× slower serves less than the streams push', () => {
    const r = place([video]);
    expect(r.instances).toHaveLength(1);
    expect(served(r.instances, 1)).toBeGreaterThanOrEqual(110);
    // 2.3×: a pack of 2 holds the device 41 ms, a pack of 4 74 ms (stale): 48 frames/s.
    expect(served(r.instances, 2.3)).toBeLessThan(110);
  });

  it('at the measured cost ratio places the instances the demand needs on those devices', () => {
    const r = place(servicesAtMeasuredSpeed([video], { video: 2.3 }));
    expect(r.instances.length).toBeGreaterThanOrEqual(3);
    expect(served(r.instances, 2.3)).toBeGreaterThanOrEqual(110);
  });

  it('gives the plans back at the profiles\' speed for an executor that scales them by what it learns, and takes them back', () => {
    const measured = place(servicesAtMeasuredSpeed([video], { video: 2.3 })).instances;
    const loaded = plansAtProfileSpeed(measured, { video: 2.3 });
    loaded.forEach((p, k) => {
      const m = measured[k]!;
      expect(p.plan.batchSize).toBe(m.plan.batchSize);
      expect(p.deviceIds).toEqual(m.deviceIds);
      expect(p.plan.runMs).toBeCloseTo(m.plan.runMs / 2.3);
      expect(p.plan.capacityPerSec).toBeCloseTo(m.plan.capacityPerSec * 2.3);
    });
    const back = plansAtMeasuredSpeed(loaded, { video: 2.3 });
    back.forEach((p, k) => expect(p.plan.capacityPerSec).toBeCloseTo(measured[k]!.plan.capacityPerSec));
    // A service without a ratio is left as it was.
    expect(servicesAtMeasuredSpeed([video], {})[0]).toBe(video);
    expect(plansAtProfileSpeed(measured, { chat: 2 })).toEqual(measured);
  });

  it('refuses a ratio that is not a positive finite number', () => {
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => servicesAtMeasuredSpeed([video], { video: bad })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
      expect(() => plansAtProfileSpeed([], { video: bad })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
      expect(() => validateCostRatios({ video: bad }, 'placement.costRatio')).toThrow(/placement\.costRatio\.video/);
    }
    for (const bad of [null, 2, [2.3]]) expect(() => validateCostRatios(bad)).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
    expect(validateCostRatios({ video: 2.3 })).toEqual({ video: 2.3 });
  });
});
