import { describe, expect, it } from 'vitest';
import { affineProfile } from '../profiles/latency-profile.js';
import { gpuServer, placementService } from '../testing/placement-fixture.js';
import { placeServices } from './place-services.js';
import { affinePlan } from './testing/random-instance.js';
import type { PlacementInput } from './types.js';

// The free step of a current instance whose server or device the input no longer lists, and the reason it gives.

describe('the change plan of instances whose devices are gone', () => {
  const a = placementService('a', { profiles: { gpu: affineProfile('gpu', { fixedMs: 10, perItemMs: 2, maxBatch: 64 }) } });
  const plan = affinePlan(a, 'gpu', { fixedMs: 10, perItemMs: 2, batch: 8 });
  const input = (current: PlacementInput['current']): PlacementInput => ({
    servers: [gpuServer('s0', 2)],
    services: [a],
    plans: { a: [plan] },
    demand: [{ serviceId: 'a', ratePerServer: { s0: 100 } }],
    current,
  });
  const freed = (r: ReturnType<typeof placeServices>, id: string) => r.changes.find((c) => c.instanceId === id && c.action === 'free');

  it('frees an instance on a server no longer listed as `server failed`', () => {
    const r = placeServices(input([{ instanceId: 'gone', serviceId: 'a', plan, serverId: 's9', deviceIds: ['g0'] }]));
    expect(freed(r, 'gone')?.reason).toBe('server failed');
  });

  // Its device list is empty once the unknown device is dropped: the reason comes from the server, not the list.
  it('frees an instance on a device its healthy server no longer lists as `device failed`', () => {
    const r = placeServices(input([{ instanceId: 'old', serviceId: 'a', plan, serverId: 's0', deviceIds: ['g7'] }]));
    expect(freed(r, 'old')?.reason).toBe('device failed');
  });
});
