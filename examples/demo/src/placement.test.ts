import type { PlacedInstance, ServiceSpec } from '@epara/core';
import { describe, expect, it } from 'vitest';
import { servicesAtMeasuredSpeed } from '@epara/core/scheduling';
import { demandOf, nearDemand, nodeIds, planPlacement, uncoveredServices, wholeStreams } from './placement.js';
import { QUIET_DELAYS_MS, QUIET_SPECS } from './quiet-run-fixture.js';
import { buildWorkload, type Workload } from './workload.js';

const inst = (serviceId: string, serverId: string, capacityPerSec: number): PlacedInstance => ({
  instanceId: `${serviceId}/${serverId}/cpu0`,
  serviceId,
  serverId,
  deviceIds: ['cpu0'],
  plan: { requestStrategy: 'batching', serviceStrategy: 'single', batchSize: 1, capacityPerSec, memoryPerDeviceBytes: 1, runMs: 10, stages: 1 } as PlacedInstance['plan'],
});

describe('nearDemand (instances moved to where their demand enters)', () => {
  const ids = ['edge-0', 'edge-1', 'edge-2'];
  const workload = buildWorkload({ durationMs: 5000, load: 3, nodes: 3, seed: 1, world: 'stationary' });
  const specs = (['image', 'chat', 'video', 'loop', 'vad'] as const).map((id) => ({ id, sensitivity: id === 'image' || id === 'chat' ? 'latency' : 'frequency' }) as ServiceSpec);
  const even = { specs, workload, ids, delaysMs: ids.map((_, i) => ids.map((_, j) => (i === j ? 0 : 10))), bytesPerMs: 125_000 };

  it('moves whole servers so that images (entering mostly at edge-0) are served at edge-0 and chat at edge-2', () => {
    const placed = [inst('image', 'edge-2', 500), inst('chat', 'edge-0', 500), inst('video', 'edge-1', 500)];
    const moved = nearDemand(placed, even);
    expect(moved.find((p) => p.serviceId === 'image')!.serverId).toBe('edge-0');
    expect(moved.find((p) => p.serviceId === 'chat')!.serverId).toBe('edge-2');
    expect(moved.find((p) => p.serviceId === 'image')!.instanceId).toBe('image/edge-0/cpu0');
    // A permutation of servers: the same instances, each server's contents kept together.
    expect(moved.map((p) => p.serviceId).sort()).toEqual(placed.map((p) => p.serviceId).sort());
    expect(new Set(moved.map((p) => p.serverId)).size).toBe(3);
  });

  it('keeps a placement that is already best', () => {
    const placed = [inst('image', 'edge-0', 500), inst('video', 'edge-1', 500), inst('chat', 'edge-2', 500)];
    expect(nearDemand(placed, even)).toEqual(placed);
  });

  it('puts a service with one instance, its demand entering everywhere, on the server nearest every entry', () => {
    // A line: edge-0 — 6 ms — edge-1 — 6 ms — edge-2, and 21 ms between the ends. VAD streams enter at every server.
    const line = [
      [0, 6, 21],
      [6, 0, 6],
      [21, 6, 0],
    ];
    const demand = { image: [100, 0, 0], chat: [0, 0, 0], video: [10, 10, 10], loop: [0, 0, 0], vad: [100, 100, 100] };
    const streams: Workload = { durationMs: 1000, requests: [], streams: [], demand, meanDemand: demand, world: 'stationary' };
    const placed = [inst('image', 'edge-0', 500), inst('video', 'edge-1', 500), inst('vad', 'edge-2', 500)];
    const moved = nearDemand(placed, { specs, workload: streams, ids, delaysMs: line, bytesPerMs: 125_000 });
    // At edge-2 the frames entering edge-0 pay a 42 ms round trip; at edge-1 every entry's pay 12 ms.
    expect(moved.find((p) => p.serviceId === 'vad')!.serverId).toBe('edge-1');
    expect(moved.find((p) => p.serviceId === 'video')!.serverId).toBe('edge-2');
    expect(moved.find((p) => p.serviceId === 'image')!.serverId).toBe('edge-0');
  });
});

describe('planPlacement on a quiet run\'s profiles (an earlier version\'s quiet run)', () => {
  const specs = QUIET_SPECS;
  const delays = QUIET_DELAYS_MS;

  it.each([2.83, 3.36, 4])('at ×%s the base mix: images on the image server and the far server, none on its neighbour', (load) => {
    const placed = planPlacement(specs, buildWorkload({ durationMs: 10_000, load, nodes: 3, seed: 42, world: 'stationary' }), 3, delays, 125_000);
    const on = (server: string): string[] => placed.instances.filter((x) => x.serverId === server).map((x) => x.serviceId).sort();
    expect(on('edge-0')).toEqual(['chat', 'image']);
    expect(on('edge-1')).toEqual(['loop', 'vad', 'video']);
    expect(on('edge-2')).toEqual(['chat', 'image', 'loop', 'vad', 'video']);
    // The far server's image instance is the replica rule's: on the neighbour it would have made that device the busiest.
    expect(placed.replicas.filter((x) => x.serviceId === 'image').map((x) => x.instanceId)).toEqual(['image/edge-2/local']);
  });
});

describe('whole streams of the forecast (demandOf)', () => {
  it('rounds the total and gives the rest to the largest remainders, not each entry apart', () => {
    expect(wholeStreams([0.33, 0.33, 0.34])).toEqual([0, 0, 1]);
    expect(wholeStreams([1.4, 0.3, 0.3])).toEqual([2, 0, 0]);
    expect(wholeStreams([2, 1, 0])).toEqual([2, 1, 0]);
    expect(wholeStreams([0.2, 0.1, 0.1])).toEqual([1, 0, 0]);
    expect(wholeStreams([0, 0, 0])).toEqual([0, 0, 0]);
  });

  it('at a low load places a stream of every stream service forecast: its total in whole streams, one at least', () => {
    // ×0.35 the base mix (a calibration on a busy machine): the loop's forecast, 0.14 and 0.31 streams at two
    // entries, rounded per entry placed no loop demand, and the run opened one loop stream.
    const forecast = buildWorkload({ durationMs: 10_000, load: 0.35, nodes: 3, seed: 42, world: 'edge' });
    const ids = nodeIds(3);
    for (const d of demandOf(forecast, QUIET_SPECS, ids).filter((x) => x.streams !== undefined)) {
      const spec = QUIET_SPECS.find((s) => s.id === d.serviceId)!;
      const rate = spec.slo.kind === 'frequency' ? spec.slo.rateHz : 1;
      const total = forecast.demand[d.serviceId as 'loop'].reduce((a, r) => a + r, 0) / rate;
      expect(total).toBeGreaterThan(0);
      expect(d.streams!.length).toBe(Math.max(1, Math.round(total)));
    }
  });
});

describe('uncoveredServices (a placement at a measured speed that leaves a service out)', () => {
  it('names a service core finds no plan for at a loaded host\'s speed, which a re-plan must not take', () => {
    const forecast = buildWorkload({ durationMs: 10_000, load: 1.19, nodes: 3, seed: 42, world: 'edge' });
    const at = (r: number) => planPlacement(servicesAtMeasuredSpeed(QUIET_SPECS, Object.fromEntries(QUIET_SPECS.map((s) => [s.id, r]))), forecast, 3, QUIET_DELAYS_MS, 125_000, { hostRules: 'core' }).instances;
    expect(uncoveredServices(at(1), QUIET_SPECS)).toEqual([]);
    // Profiles measured on a busy machine and a warm-up's ratio on top (a run's profiles 10× the quiet ones, its
    // warm-up 5.23×): images cannot meet their deadline even alone, core allocates them no plan, nothing covers them.
    expect(uncoveredServices(at(30), QUIET_SPECS)).toEqual(['image']);
  });
});
