import { describe, expect, it } from 'vitest';
import type { Random } from '@epara/core';
import { createFaultInjector } from './sync-faults.js';
import type { WireEntry } from './sync-types.js';

/** A random source that returns the given values in turn (then repeats the last). */
const scripted = (...values: number[]): Random => {
  let i = 0;
  return { next: () => values[Math.min(i++, values.length - 1)]! };
};

const entry: WireEntry = {
  serverId: 'b', epoch: 1, version: 3, ageMs: 5, alive: true, load: 10, freeMemoryBytes: 1000, arrivalRates: { s: 20 },
  instances: [{ instanceId: 'b/s', serviceId: 's', status: 'ready', requestStrategy: 'batching', serviceStrategy: 'single', batchSize: 1, capacityPerSec: 100, loadPerSec: 40, waitMs: 8, runMs: 5 }],
};

describe('createFaultInjector', () => {
  it('without faults: drops nothing, no delay, and hands back the same entry', () => {
    const f = createFaultInjector({}, scripted(0));
    expect(f.delayMs).toBe(0);
    expect(f.drop()).toBe(false);
    expect(f.perturb(entry)).toBe(entry);
  });

  it('drops a message when the draw is below the loss probability', () => {
    const f = createFaultInjector({ lossProbability: 0.3, delayMs: 7 }, scripted(0.29, 0.3, 0.9));
    expect(f.delayMs).toBe(7);
    expect([f.drop(), f.drop(), f.drop()]).toEqual([true, false, false]);
    expect(createFaultInjector({ lossProbability: 1 }, scripted(0.999)).drop()).toBe(true);
  });

  it('multiplies load, rates, wait, load and capacity per instance by 1 + noise·(2u − 1), never below 0; identity fields stay', () => {
    // u = 1 → ×1.5; u = 0 → ×0.5 (noise 0.5)
    const up = createFaultInjector({ noise: 0.5 }, scripted(1)).perturb(entry);
    expect(up).toEqual({ ...entry, load: 15, arrivalRates: { s: 30 }, instances: [{ ...entry.instances[0]!, waitMs: 12, loadPerSec: 60, capacityPerSec: 150 }] });
    const down = createFaultInjector({ noise: 0.5 }, scripted(0)).perturb(entry);
    expect(down).toMatchObject({ load: 5, arrivalRates: { s: 10 }, instances: [{ waitMs: 4, loadPerSec: 20, capacityPerSec: 50, runMs: 5 }] });
    // u = 0.75 → ×1.25: the draw scales the noise, it does not divide it.
    expect(createFaultInjector({ noise: 0.5 }, scripted(0.75)).perturb(entry)).toMatchObject({ load: 12.5, arrivalRates: { s: 25 }, instances: [{ waitMs: 10, loadPerSec: 50, capacityPerSec: 125 }] });
    const clamped = createFaultInjector({ noise: 3 }, scripted(0)).perturb(entry);
    expect(clamped).toMatchObject({ load: 0, arrivalRates: { s: 0 }, instances: [{ waitMs: 0, loadPerSec: 0, capacityPerSec: 0 }] });
  });

  it('rejects options outside their ranges with INVALID_OPTIONS naming the field', () => {
    const bad = [
      [{ lossProbability: -0.1 }, 'syncFaults.lossProbability'],
      [{ lossProbability: 1.1 }, 'syncFaults.lossProbability'],
      [{ lossProbability: Number.NaN }, 'syncFaults.lossProbability'],
      [{ noise: -1 }, 'syncFaults.noise'],
      [{ delayMs: -1 }, 'syncFaults.delayMs'],
    ] as const;
    for (const [faults, field] of bad) {
      expect(() => createFaultInjector(faults, scripted(0)), field).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS', message: expect.stringContaining(field) }));
    }
    expect(() => createFaultInjector({ lossProbability: 0, noise: 0, delayMs: 0 }, scripted(0))).not.toThrow();
  });
});
