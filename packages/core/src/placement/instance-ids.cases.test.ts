import { describe, expect, it } from 'vitest';
import { placementService } from '../testing/placement-fixture.js';
import type { ServerSpec } from '../model/device.js';
import { placeServices } from './place-services.js';
import { affinePlan } from './testing/random-instance.js';
import type { PlacementInput } from './types.js';

// A new instance's id is `service@server:devices`, with `#2`, `#3`, … when a running instance already has it (the
// ids of running instances are the caller's: any string).
describe('new instance ids', () => {
  const GB = 1024 ** 3;
  // 10 GB of weights on 16 GB devices: one instance per device.
  const a = placementService('a', { weightsGb: 10, loadTimeMs: 3000 });
  const b = placementService('b', { weightsGb: 10, loadTimeMs: 3000 });
  const plan = (s: typeof a) => affinePlan(s, 'gpu', { fixedMs: 10, perItemMs: 2, batch: 8 });
  const server: ServerSpec = { id: 's0', devices: ['g0', 'g1', 'g2'].map((id) => ({ id, kind: 'gpu', memoryBytes: 16 * GB })) };

  it('counts up past every suffix taken', () => {
    // b's two running instances carry the names a new instance of a on g0 would get first and second.
    const input: PlacementInput = {
      servers: [server],
      services: [a, b],
      plans: { a: [plan(a)], b: [plan(b)] },
      demand: [
        { serviceId: 'a', ratePerServer: { s0: 100 } },
        { serviceId: 'b', ratePerServer: { s0: 400 } },
      ],
      current: [
        { instanceId: 'a@s0:g0', serviceId: 'b', plan: plan(b), serverId: 's0', deviceIds: ['g1'] },
        { instanceId: 'a@s0:g0#2', serviceId: 'b', plan: plan(b), serverId: 's0', deviceIds: ['g2'] },
      ],
    };
    const r = placeServices(input);
    expect(r.instances.map((i) => [i.instanceId, i.serviceId, i.deviceIds.join('+')])).toEqual([
      ['a@s0:g0', 'b', 'g1'],
      ['a@s0:g0#2', 'b', 'g2'],
      ['a@s0:g0#3', 'a', 'g0'],
    ]);
  });
});
