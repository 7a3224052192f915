import { admitStream, createView, type InstanceInfo } from '@epara/core';
import { describe, expect, it } from 'vitest';
import { netOfSharedDevices } from './shared-device-capacity.js';

const info = (instanceId: string, o: { capacityPerSec: number; loadPerSec: number; deviceIds?: string[]; status?: InstanceInfo['status'] }): InstanceInfo => ({
  instanceId,
  serviceId: instanceId.split('/')[0]!,
  status: o.status ?? 'ready',
  requestStrategy: 'multi-frame',
  serviceStrategy: 'single',
  batchSize: 1,
  capacityPerSec: o.capacityPerSec,
  loadPerSec: o.loadPerSec,
  waitMs: 0,
  runMs: 1,
  ...(o.deviceIds ? { deviceIds: o.deviceIds } : {}),
});

describe('netOfSharedDevices', () => {
  it('leaves an instance alone on its device unchanged, and takes the co-located instances’ share off the others', () => {
    const infos = [
      info('image/a', { capacityPerSec: 200, loadPerSec: 150, deviceIds: ['d0'] }), // 75% of d0
      info('vad/a', { capacityPerSec: 1000, loadPerSec: 100, deviceIds: ['d0'] }), // 10% of d0
      info('loop/a', { capacityPerSec: 500, loadPerSec: 50, deviceIds: ['d1'] }), // alone on d1
    ];
    const out = netOfSharedDevices(infos);
    expect(out[0]!.capacityPerSec).toBeCloseTo(200 * 0.9, 9);
    expect(out[1]!.capacityPerSec).toBeCloseTo(1000 * 0.25, 9);
    expect(out[2]).toBe(infos[2]); // the same object: nothing to take off
  });

  it('averages over a data-parallel instance’s devices, caps an overloaded neighbour at its whole device, ignores instances not ready', () => {
    const out = netOfSharedDevices([
      info('big/a', { capacityPerSec: 100, loadPerSec: 300, deviceIds: ['d0'] }), // overloaded: counts as all of d0
      info('dp/a', { capacityPerSec: 400, loadPerSec: 0, deviceIds: ['d0', 'd1'] }),
      info('cold/a', { capacityPerSec: 400, loadPerSec: 400, deviceIds: ['d1'], status: 'loading' }),
      info('bare/a', { capacityPerSec: 400, loadPerSec: 0 }),
    ]);
    expect(out[1]!.capacityPerSec).toBeCloseTo(400 * 0.5, 9); // d0 full, d1 free
    expect(out[0]!.capacityPerSec).toBe(100); // dp/a uses none of d0
    expect(out[2]!.capacityPerSec).toBe(400);
    expect(out[3]!.capacityPerSec).toBe(400);
  });

  it('turns a stream away from a device its neighbour keeps busy, which the solo figure admitted', () => {
    const local = [info('image/a', { capacityPerSec: 200, loadPerSec: 196, deviceIds: ['d0'] }), info('vad/a', { capacityPerSec: 1000, loadPerSec: 20, deviceIds: ['d0'] })];
    const view = createView([]);
    const admit = (localInstances: readonly InstanceInfo[]) =>
      admitStream({ stream: { serviceId: 'vad', rateHz: 31.25 }, localInstances, view, self: 'edge-0', now: 0 });
    expect(admit(local).action).toBe('local');
    expect(admit(netOfSharedDevices(local))).toMatchObject({ action: 'reject', code: 'OVERLOADED' });
  });

  it('counts nothing used by an instance without a capacity or without a load figure', () => {
    const busy = info('image/a', { capacityPerSec: 200, loadPerSec: 100, deviceIds: ['d0'] }); // half of d0
    const out = netOfSharedDevices([
      busy,
      info('zero/a', { capacityPerSec: 0, loadPerSec: 50, deviceIds: ['d0'] }), // no capacity: takes none of d0
      info('unknown/a', { capacityPerSec: 100, loadPerSec: Number.NaN, deviceIds: ['d0'] }), // no load figure: none
    ]);
    expect(out[0]!.capacityPerSec).toBe(200);
  });

  it('returns an instance not ready, or without a capacity, as it is, however busy its device', () => {
    const loading = info('cold/a', { capacityPerSec: 400, loadPerSec: 0, deviceIds: ['d0'], status: 'loading' });
    const none = info('zero/a', { capacityPerSec: 0, loadPerSec: 0, deviceIds: ['d0'] });
    const input = [info('image/a', { capacityPerSec: 200, loadPerSec: 100, deviceIds: ['d0'] }), loading, none];
    const out = netOfSharedDevices(input);
    expect(out[0]!.capacityPerSec).toBe(200);
    expect(out[1]).toBe(loading);
    expect(out[2]).toBe(none);
  });
});
