import { describe, expect, it } from 'vitest';
import { placementService } from '../testing/placement-fixture.js';
import type { ServerSpec } from '../model/device.js';
import type { ServiceSpec } from '../model/service.js';
import { placeServices } from './place-services.js';
import { affinePlan } from './testing/random-instance.js';
import type { PlacedInstance, PlacementInput } from './types.js';

// The search around the greedy, seen through placeServices: which share levels it offers on a large cluster, and
// what the prune pass reports.

const GB = 1024 ** 3;
const a = placementService('a', { loadTimeMs: 3000 });
const b = placementService('b', { loadTimeMs: 3000 });
const plan = (s: ServiceSpec) => affinePlan(s, 'gpu', { fixedMs: 10, perItemMs: 2, batch: 8 });
const server = (devices: number, unhealthy = 0): ServerSpec => ({
  id: 's0',
  devices: Array.from({ length: devices }, (_, d) => ({ id: `g${d}`, kind: 'gpu', memoryBytes: 16 * GB, healthy: d >= unhealthy })),
});

describe('share levels on a large cluster', () => {
  // Two small services (30 items/s each): each gets a template per share level at which it is worth placing —
  // the whole device, and the partial shares that leave room to pair with the other. Shares below ¼ are offered
  // on up to 256 healthy devices only.
  const input = (srv: ServerSpec): PlacementInput => ({
    servers: [srv],
    services: [a, b],
    plans: { a: [plan(a)], b: [plan(b)] },
    demand: [
      { serviceId: 'a', ratePerServer: { s0: 30 } },
      { serviceId: 'b', ratePerServer: { s0: 30 } },
    ],
  });
  const candidates = (srv: ServerSpec, shareLevels: number[]) => placeServices(input(srv), { shareLevels, batchVariants: 0 }).stats.candidates;

  it('offers ⅛ shares on 256 healthy devices, not on 257', () => {
    expect(candidates(server(256), [1, 0.25, 0.125])).toBe(6);
    expect(candidates(server(257), [1, 0.25, 0.125])).toBe(4);
  });

  it('counts healthy devices only', () => {
    expect(candidates(server(257, 1), [1, 0.25, 0.125])).toBe(6);
  });

  it('keeps the ¼ share itself on a large cluster', () => {
    expect(candidates(server(257), [1, 0.25])).toBe(4);
    expect(candidates(server(257), [1])).toBe(2);
  });
});

describe('the prune pass', () => {
  it('removes every running instance of a service that has no demand left, and counts them', () => {
    const srv = server(4);
    const running = (instanceId: string, device: string): PlacedInstance => ({ instanceId, serviceId: 'a', plan: plan(a), serverId: 's0', deviceIds: [device] });
    const r = placeServices({
      servers: [srv],
      services: [a, b],
      plans: { a: [plan(a)], b: [plan(b)] },
      demand: [{ serviceId: 'b', ratePerServer: { s0: 100 } }],
      current: [running('a1', 'g0'), running('a2', 'g1')],
    });
    expect(r.instances.map((i) => i.serviceId)).toEqual(['b']);
    expect(r.stats.pruned).toBe(2);
    expect(r.changes.filter((c) => c.action === 'free').map((c) => c.instanceId).sort()).toEqual(['a1', 'a2']);
  });

  it('removes a new instance whose goodput a later one covers, since its goodput no longer pays its switching cost', () => {
    // One service, 400 items/s, valued per item (no floor), multiTask off (whole devices, cost 1 a device). Two
    // plans: X on the CPU, 8000 / 26 ≈ 307.7 items/s; Y, data-parallel on both GPUs, ≈ 615.4. Switching cost:
    // 3000 / 30000 of the demand an item takes: X 30.77, Y 40. Greedy takes X first (net 276.9 per device
    // against Y's 360 over 2 = 180), then Y (it adds 92.3 for 40). With Y in place X serves nothing of its own
    // (removal loss 0 < 30.77), so the prune takes it out: Y alone, 400 − 40 = 360 (X and Y would be 330).
    const cpuPlan = affinePlan(a, 'cpu', { fixedMs: 10, perItemMs: 2, batch: 8 });
    const input: PlacementInput = {
      servers: [{ id: 's0', devices: [{ id: 'c0', kind: 'cpu', memoryBytes: 16 * GB }, ...server(2).devices] }],
      services: [a],
      plans: { a: [cpuPlan, affinePlan(a, 'gpu', { fixedMs: 10, perItemMs: 2, batch: 8, devices: 2 })] },
      demand: [{ serviceId: 'a', ratePerServer: { s0: 400 } }],
    };
    for (const lazy of [true, false]) {
      // Restarts off: the groups-first restart would place Y alone anyway, hiding the pipeline's own prune.
      const r = placeServices(input, { multiTask: false, valueWeighting: 'per-item', minServedShare: 0, restarts: 0, lazy });
      expect(r.instances.map((i) => i.deviceIds.join('+'))).toEqual(['g0+g1']);
      expect(r.stats.pruned).toBe(1);
      expect(r.switchCost).toBeCloseTo(40, 9);
      expect(r.objective).toBeCloseTo(360, 9);
    }
  });

  it('counts none when every instance pays for itself', () => {
    const r = placeServices({
      servers: [server(4)],
      services: [a],
      plans: { a: [plan(a)] },
      demand: [{ serviceId: 'a', ratePerServer: { s0: 100 } }],
    });
    expect(r.stats.pruned).toBe(0);
  });
});
