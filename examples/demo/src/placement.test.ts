import type { PlacedInstance } from '@epara/core';
import { describe, expect, it } from 'vitest';
import { nearDemand } from './placement.js';
import { buildWorkload } from './workload.js';

const inst = (serviceId: string, serverId: string, capacityPerSec: number): PlacedInstance => ({
  instanceId: `${serviceId}/${serverId}/cpu0`,
  serviceId,
  serverId,
  deviceIds: ['cpu0'],
  plan: { requestStrategy: 'batching', serviceStrategy: 'single', batchSize: 1, capacityPerSec, memoryPerDeviceBytes: 1, runMs: 10, stages: 1 } as PlacedInstance['plan'],
});

describe('nearDemand (instances moved to where their demand enters)', () => {
  const ids = ['edge-0', 'edge-1', 'edge-2'];
  const workload = buildWorkload({ durationMs: 5000, load: 3, nodes: 3, seed: 1 });
  const link = { delayMs: 10, bytesPerMs: 125_000 };

  it('moves whole servers so that images (entering mostly at edge-0) are served at edge-0 and chat at edge-2', () => {
    const placed = [inst('image', 'edge-2', 500), inst('chat', 'edge-0', 500), inst('video', 'edge-1', 500)];
    const moved = nearDemand(placed, workload, ids, link);
    expect(moved.find((p) => p.serviceId === 'image')!.serverId).toBe('edge-0');
    expect(moved.find((p) => p.serviceId === 'chat')!.serverId).toBe('edge-2');
    expect(moved.find((p) => p.serviceId === 'image')!.instanceId).toBe('image/edge-0/cpu0');
    // A permutation of servers: the same instances, each server's contents kept together.
    expect(moved.map((p) => p.serviceId).sort()).toEqual(placed.map((p) => p.serviceId).sort());
    expect(new Set(moved.map((p) => p.serverId)).size).toBe(3);
  });

  it('keeps a placement that is already best', () => {
    const placed = [inst('image', 'edge-0', 500), inst('video', 'edge-1', 500), inst('chat', 'edge-2', 500)];
    expect(nearDemand(placed, workload, ids, link)).toEqual(placed);
  });
});
