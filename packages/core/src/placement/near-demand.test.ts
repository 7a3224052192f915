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

const svc = (id: string, deadlineMs: number, weightsGb = 1): ServiceSpec =>
  placementService(id, { weightsGb, deadlineMs, loadTimeMs: 1000, profiles: { gpu: affineProfile('gpu', { fixedMs: 10, perItemMs: 2, maxBatch: 64 }) } });

/** One GPU per server; `a`–`b` and `a`–`c` are 10 ms apart, `b`–`c` 5 ms, so every server reaches every other. */
const servers: ServerSpec[] = ['a', 'b', 'c'].map((id) => ({ id, devices: [{ id: 'g0', kind: 'gpu', memoryBytes: 16 * GB }] }));
const oneWay: Record<string, Record<string, number>> = { a: { a: 0, b: 10, c: 10 }, b: { a: 10, b: 0, c: 5 }, c: { a: 10, b: 5, c: 0 } };

/** `service` with all of its demand entering at `c`, which any server's instance serves within the deadline. */
function demandAtC(service: ServiceSpec, rate = 50): PlacementInput {
  return {
    servers,
    services: [service],
    plans: { [service.id]: [affinePlan(service, 'gpu', { fixedMs: 10, perItemMs: 2, batch: 8 })] },
    demand: [{ serviceId: service.id, ratePerServer: { c: rate } }],
    delaysMs: oneWay,
  };
}

const serverOf = (r: ReturnType<typeof placeServices>, id: string): string[] => r.instances.filter((i) => i.serviceId === id).map((i) => i.serverId);

describe('nearDemandFirst: equal items go where the demand enters', () => {
  it('places the instance at the access server instead of the first server that reaches it', () => {
    const input = demandAtC(svc('seg', 150));
    const off = placeServices(input, { nearDemandFirst: false });
    const on = placeServices(input, { nearDemandFirst: true });
    expect(placeServices(input)).toEqual(on);
    expect(serverOf(off, 'seg')).toEqual(['a']);
    expect(serverOf(on, 'seg')).toEqual(['c']);
    // Only the choice among equal items changes: the same goodput, no violation.
    expect(on.goodputPerSec).toBe(off.goodputPerSec);
    expect(findPlacementViolations(input, on.instances)).toEqual([]);
  });

  it('weights each access server by its demand: the nearest to most of it wins', () => {
    const s = svc('seg', 150);
    const input: PlacementInput = { ...demandAtC(s), demand: [{ serviceId: 'seg', ratePerServer: { a: 5, b: 30, c: 15 } }] };
    // Demand-weighted round trips: a 20·45/50 = 18 ms, b (20·5 + 10·15)/50 = 5 ms, c (20·5 + 10·30)/50 = 8 ms.
    expect(serverOf(placeServices(input, { nearDemandFirst: true }), 'seg')).toEqual(['b']);
  });

  it('keeps server order for a service whose SLO dwarfs the delays (within the tolerance)', () => {
    const llm = svc('llm', 20_000, 12);
    const input = demandAtC(llm, 2);
    // 20 ms of a 20 s SLO is 0.1 %: within the default 2 % step, so the servers tie and the first one is kept.
    expect(serverOf(placeServices(input, { nearDemandFirst: true }), 'llm')).toEqual(['a']);
    expect(serverOf(placeServices(input, { nearDemandFirst: true, nearDemandTolerance: 0 }), 'llm')).toEqual(['c']);
  });

  it('leaves the placement alone without delays (no locality)', () => {
    const { delaysMs: _, ...input } = demandAtC(svc('seg', 150));
    expect(placeServices(input, { nearDemandFirst: true })).toEqual(placeServices(input, { nearDemandFirst: false }));
  });

  it('rejects invalid options, naming the field', () => {
    const input = demandAtC(svc('seg', 150));
    expect(() => placeServices(input, { nearDemandFirst: 'yes' as never })).toThrow(/nearDemandFirst/);
    expect(() => placeServices(input, { nearDemandTolerance: -1 })).toThrow(/nearDemandTolerance/);
  });
});
