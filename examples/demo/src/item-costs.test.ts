import { describe, expect, it } from 'vitest';
import { createProfile, type ServiceSpec } from '@epara/core';
import type { DeviceUsage, ServiceDeviceUsage } from './device-usage.js';
import { MIN_MEASURED_ITEMS, costLines, costRatios, measuredCosts } from './item-costs.js';

const spec = (id: string): ServiceSpec => ({ id, profiles: { cpu: createProfile('cpu', [{ batch: 1, ms: 4 }]) } }) as unknown as ServiceSpec;
const usage = (u: Partial<ServiceDeviceUsage>): ServiceDeviceUsage => ({ batches: 0, items: 0, runMs: 0, profileMs: 0, expectedMs: 0, waitsMs: [], steadyItems: 0, steadyProfileMs: 0, steadyExpectedMs: 0, ...u });
const node = (services: Record<string, ServiceDeviceUsage>): DeviceUsage => ({ wallMs: 1000, busyMs: 0, loopBusyMs: 0, services });

describe('measuredCosts', () => {
  it('sums the steady estimate against the profile over runs and nodes, and keeps the profile below the fewest items', () => {
    const runs = [
      [node({ image: usage({ steadyItems: 12, steadyProfileMs: 40, steadyExpectedMs: 120, expectedMs: 9999 }) }), node({ image: usage({ steadyItems: 10, steadyProfileMs: 20, steadyExpectedMs: 60 }) })],
      [node({ vad: usage({ steadyItems: MIN_MEASURED_ITEMS - 1, steadyProfileMs: 5, steadyExpectedMs: 50 }) })],
    ];
    const costs = measuredCosts([spec('image'), spec('vad'), spec('chat')], runs);
    // The cold batches (in expectedMs, not in the steady counts) do not weigh.
    expect(costs['image']).toEqual({ ratio: 3, items: 22 });
    expect(costs['vad']).toEqual({ ratio: undefined, items: MIN_MEASURED_ITEMS - 1 });
    expect(costs['chat']).toEqual({ ratio: undefined, items: 0 });
    // The services not measured are taken at the host's median ratio (here the one measured).
    expect(costRatios(costs)).toEqual({ image: 3, vad: 3, chat: 3 });
    expect(costLines(costs)[0]).toMatch(/^image +3\.00× the profile \(22 steady items\)$/);
    expect(costLines(costs)[1]).toMatch(/not measured \(19 steady items < 20\): the median of the measured ratios$/);
    // Nothing measured: no ratios, the rule keeps the profiles.
    expect(costRatios(measuredCosts([spec('image')], []))).toEqual({});
    expect(costRatios({ a: { ratio: 2, items: 20 }, b: { ratio: 4, items: 20 }, c: { ratio: undefined, items: 0 } })['c']).toBe(3);
  });
});
