import { describe, expect, it } from 'vitest';
import { placementService } from '../testing/placement-fixture.js';
import type { ServerSpec } from '../model/device.js';
import type { ServiceSpec } from '../model/service.js';
import { findPlacementViolations } from './find-violations.js';
import { EPARA_PLACEMENT_OPTIONS } from './options.js';
import { placeServices } from './place-services.js';
import { affinePlan } from './testing/random-instance.js';
import type { PlacementInput } from './types.js';

const GB = 1024 ** 3;

/** One 16 GB GPU per server. */
const oneGpuEach = (ids: readonly string[]): ServerSpec[] => ids.map((id) => ({ id, devices: [{ id: 'g0', kind: 'gpu', memoryBytes: 16 * GB }] }));

/** A line of three servers: `a`–`b` 5 ms, `b`–`c` 15 ms, so `a`–`c` 20 ms (one way). */
const LINE: Record<string, Record<string, number>> = { a: { a: 0, b: 5, c: 20 }, b: { a: 5, b: 0, c: 15 }, c: { a: 20, b: 15, c: 0 } };

/** A stream-like service (150 ms SLO) with one plan whose single instance serves ~300 items/s. */
const stream = placementService('stream', { deadlineMs: 150 });

function line(ratePerServer: Record<string, number>): PlacementInput {
  return {
    servers: oneGpuEach(['a', 'b', 'c']),
    services: [stream],
    plans: { stream: [affinePlan(stream, 'gpu', { fixedMs: 10, perItemMs: 2, batch: 8 })] },
    demand: [{ serviceId: 'stream', ratePerServer }],
    delaysMs: LINE,
  };
}

const serversOf = (input: PlacementInput, id: string, options = {}): string[] =>
  placeServices(input, options)
    .instances.filter((i) => i.serviceId === id)
    .map((i) => i.serverId);

describe('placement defaults and EPARA\'s policy: one instance for demand entering along a line of servers', () => {
  it('sits in the middle when the three entries weigh alike, not at the end that comes first', () => {
    // Every server reaches every entry within the SLO, so all three serve the same goodput: the tie goes to the
    // lowest demand-weighted round trip (a 16.7 ms, b 13.3 ms, c 23.3 ms), not to server order (a, the far end).
    const input = line({ a: 10, b: 10, c: 10 });
    expect(serversOf(input, 'stream')).toEqual(['b']);
    expect(serversOf(input, 'stream', EPARA_PLACEMENT_OPTIONS)).toEqual(['b']);
    expect(serversOf(input, 'stream', { nearDemandFirst: false })).toEqual(['a']);
  });

  it('sits at the heaviest entry when most of the demand enters there', () => {
    expect(serversOf(line({ a: 5, b: 5, c: 40 }), 'stream')).toEqual(['c']);
  });
});

/** `n` services of 4 GB each with demand at `a`; three GPUs hold two such instances each. */
function services(n: number): { list: ServiceSpec[]; input: PlacementInput } {
  const list = Array.from({ length: n }, (_, i) => placementService(`s${i}`, { weightsGb: 4 }));
  return {
    list,
    input: {
      servers: oneGpuEach(['a', 'b', 'c']),
      services: list,
      plans: Object.fromEntries(list.map((s) => [s.id, [affinePlan(s, 'gpu', { fixedMs: 10, perItemMs: 2, batch: 4 })]])),
      demand: list.map((s) => ({ serviceId: s.id, ratePerServer: { a: 20 } })),
    },
  };
}

const AUTO = { multiTask: 'auto' } as const;
const placedServices = (r: ReturnType<typeof placeServices>): number => r.services.filter((s) => s.instances > 0).length;
const shared = (r: ReturnType<typeof placeServices>): boolean => new Set(r.instances.map((i) => `${i.serverId}/${i.deviceIds.join('+')}`)).size < r.instances.length;

describe("EPARA's policy: multiTask 'auto' shares a device only when whole devices leave a service out", () => {
  it('gives every instance a whole device when there are devices enough, as multiTask: false', () => {
    const { input } = services(3);
    const auto = placeServices(input, AUTO);
    expect(auto).toEqual(placeServices(input, { multiTask: false }));
    expect(placedServices(auto)).toBe(3);
    expect(shared(auto)).toBe(false);
  });

  it('co-locates when there are more services than devices, so none is left without an instance', () => {
    const { input } = services(4);
    const alone = placeServices(input, { multiTask: false });
    expect(placedServices(alone)).toBe(3);
    const auto = placeServices(input, AUTO);
    expect(placedServices(auto)).toBe(4);
    expect(shared(auto)).toBe(true);
    expect(auto).toEqual(placeServices(input, { multiTask: true }));
    expect(findPlacementViolations(input, auto.instances, AUTO)).toEqual([]);
    // The check with whole devices only reports the sharing.
    expect(findPlacementViolations(input, auto.instances, { multiTask: false }).length).toBeGreaterThan(0);
  });

  it('keeps whole devices when sharing would not place the service left out either', () => {
    const { list, input } = services(3);
    const huge = placementService('huge', { weightsGb: 40 });
    const withHuge: PlacementInput = {
      ...input,
      services: [...list, huge],
      plans: { ...input.plans, huge: [affinePlan(huge, 'gpu', { fixedMs: 10, perItemMs: 2, batch: 4 })] },
      demand: [...input.demand, { serviceId: 'huge', ratePerServer: { a: 20 } }],
    };
    const auto = placeServices(withHuge, AUTO);
    expect(auto).toEqual(placeServices(withHuge, { multiTask: false }));
    expect(shared(auto)).toBe(false);
  });

  it('is the policy EPARA deploys', () => {
    expect(EPARA_PLACEMENT_OPTIONS).toEqual({ ...AUTO, shortage: 'estimate', slackReach: true });
  });

  it("rejects a multiTask that is neither a boolean nor 'auto', naming the field", () => {
    expect(() => placeServices(services(1).input, { multiTask: 'sometimes' as never })).toThrow(/multiTask/);
  });
});
