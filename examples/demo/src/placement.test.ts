import { createProfile, type PlacedInstance, type ServiceSpec } from '@epara/core';
import { describe, expect, it } from 'vitest';
import { nearDemand, planPlacement } from './placement.js';
import { DEVICE_KIND, type DemoProfiles } from './profiles.js';
import { demoServices } from './services.js';
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

describe('planPlacement on a quiet run\'s profiles (docs/demo.md, section 10)', () => {
  const p = (pts: [number, number][]) => createProfile(DEVICE_KIND, pts.map(([batch, ms]) => ({ batch, ms })));
  // The detector as a quiet run measured it; the LM and VAD at that run's one-item times, growing slowly with the batch.
  const profiles = {
    image: p([[1, 4.83], [2, 8.99], [4, 17.6]]),
    video: p([[1, 2.23], [2, 4.27], [4, 6.56], [8, 12.6]]),
    chat: p([[1, 6.8], [2, 8.5], [4, 11], [8, 16]]),
    loop: p([[1, 0.65], [2, 0.75], [4, 0.9], [8, 1.2], [16, 1.8]]),
    vad: p([[1, 0.49], [2, 0.52], [4, 0.6], [8, 0.8], [16, 1.3]]),
  } as unknown as DemoProfiles;
  const specs = demoServices({ profiles, lm: new Uint8Array(0), networkBudgetMs: 42 });
  const delays = [
    [0, 5.3, 20.5],
    [5.3, 0, 5.4],
    [20.5, 5.4, 0],
  ];

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
