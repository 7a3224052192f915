import { createProfile } from '@epara/core';
import { describe, expect, it } from 'vitest';
import type { DeviceUsage, ServiceDeviceUsage } from './device-usage.js';
import { MIN_MEASURED_ITEMS, itemCostLines, measuredItemCosts, planningItemMs } from './item-costs.js';
import { DEVICE_KIND, type DemoProfiles } from './profiles.js';
import { demoServices } from './services.js';

const oneItemMs = { image: 6, chat: 7, video: 3, loop: 0.5, vad: 0.5 } as const;
const profiles = Object.fromEntries(Object.entries(oneItemMs).map(([id, ms]) => [id, createProfile(DEVICE_KIND, [{ batch: 1, ms }])])) as unknown as DemoProfiles;
const specs = demoServices({ profiles, lm: new Uint8Array(0), networkBudgetMs: 42 });
const service = (heldMs: number, servedItems: number): ServiceDeviceUsage => ({ batches: servedItems, items: servedItems, runMs: 0, expectedMs: 0, waitsMs: [], heldMs, servedItems });
const node = (services: Record<string, ServiceDeviceUsage>): DeviceUsage => ({ wallMs: 1000, busyMs: 0, loopBusyMs: 0, services });

describe('measuredItemCosts (device wall time per item, from the nodes\' counters)', () => {
  it('sums held time and items over the nodes; too few items keep the profile', () => {
    const usage = [node({ image: service(600, 60), vad: service(10, 10) }), node({ image: service(300, 40), chat: service(400, 20) })];
    const costs = measuredItemCosts(specs, usage);
    expect(costs['image']).toEqual({ profileMs: 6, measuredMs: 9, items: 100 });
    expect(costs['chat']).toEqual({ profileMs: 7, measuredMs: 20, items: MIN_MEASURED_ITEMS });
    expect(costs['vad']).toEqual({ profileMs: 0.5, measuredMs: undefined, items: 10 });
    expect(costs['loop']).toEqual({ profileMs: 0.5, measuredMs: undefined, items: 0 });
    expect(planningItemMs(costs)).toEqual({ image: 9, chat: 20, video: 3, loop: 0.5, vad: 0.5 });
    expect(itemCostLines(costs)[0]).toBe('image  profile 6.00 ms, measured 9.00 ms (1.50× the profile, 100 items)');
    expect(itemCostLines(costs)[4]).toBe(`vad    profile 0.50 ms, not measured (10 items < ${MIN_MEASURED_ITEMS}): plans with the profile`);
  });
});
