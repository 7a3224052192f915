import { describe, expect, it } from 'vitest';
import { latencyAt } from '@epara/core';
import { SERVICE_CATALOG } from '../model/services.js';
import { launchPackSize } from './rate-pack.js';
import type { SimInstance } from './types.js';

/** The fields launchPackSize reads of an hci instance on one or two edge GPUs, with the plan's pack of 54. */
function hciInstance(pinnedHz: number, devices = 1, strategy: 'multi-frame' | 'batching' = 'multi-frame'): SimInstance {
  const svc = SERVICE_CATALOG['hci']!;
  return {
    svc,
    pinnedHz,
    devices: Array.from({ length: devices }, () => ({ kind: 'edge-gpu' })),
    plan: { requestStrategy: strategy, serviceStrategy: devices > 1 ? 'data-parallel' : 'single', batchSize: 54, capacityPerSec: 401, memoryPerDeviceBytes: 0, runMs: 135, stages: devices },
  } as unknown as SimInstance;
}

describe('multi-frame packs sized for the pinned rate', () => {
  it('fills the smallest pack that keeps up with the streams pinned now, never more than the plan reserved', () => {
    const profile = SERVICE_CATALOG['hci']!.spec.profiles['edge-gpu']!;
    const n380 = launchPackSize(hciInstance(380));
    // Keeps up (n / L(n) ≥ F), and one fewer would not: the smallest such pack, below the plan's 54.
    expect(n380 / latencyAt(profile, n380)).toBeGreaterThanOrEqual(0.38);
    expect((n380 - 1) / latencyAt(profile, n380 - 1)).toBeLessThan(0.38);
    expect(n380).toBeLessThan(54);
    // Fewer streams, smaller packs (less time filling them); one stream at least; the plan's pack at most.
    expect(launchPackSize(hciInstance(100))).toBeLessThan(n380);
    expect(launchPackSize(hciInstance(0))).toBe(launchPackSize(hciInstance(10)));
    expect(launchPackSize(hciInstance(5000))).toBeLessThanOrEqual(54);
    // Data parallel: the rate is split over the devices.
    expect(launchPackSize(hciInstance(760, 2))).toBe(n380);
    // Batching instances keep the plan's batch size.
    expect(launchPackSize(hciInstance(380, 1, 'batching'))).toBe(54);
  });
});

describe('recent arrivals of an instance', () => {
  it('reads a steady stream as its rate and decays with a 1 s time constant', async () => {
    const { noteArrival, arrivalsPerMs } = await import('./arrival-rate.js');
    const inst = { recentArrivals: -1, recentArrivalsAt: 0 } as SimInstance; // as createInstance starts it
    expect(arrivalsPerMs(inst, 0)).toBe(0);
    for (let t = 0; t <= 10_000; t += 10) noteArrival(inst, t); // 100 items/s for 10 s
    expect(arrivalsPerMs(inst, 10_000)).toBeCloseTo(0.1, 2);
    expect(arrivalsPerMs(inst, 11_000)).toBeCloseTo(0.1 / Math.E, 2);
  });
});
