import { describe, expect, it } from 'vitest';
import { placementService } from '../testing/placement-fixture.js';
import { findPlacementViolations } from './find-violations.js';
import type { PlacementOptions } from './options.js';
import { placeServices } from './place-services.js';
import { affinePlan } from './testing/random-instance.js';
import { contest, image, plan, slack } from './testing/slack-contest.js';
import type { PlacementInput } from './types.js';

// The swap rule (server-swap.ts) on multi-device groups: the contest of testing/slack-contest.ts with both services
// on two-device data-parallel plans (exclusive: each device of an instance is its own). `far` has two GPUs, `hot`
// three, the first held by a kept instance of a third service: a group moved to `hot` must take the two free ones.

const GB = 1024 ** 3;
const opts: PlacementOptions = { multiTask: false };
const gpus = (n: number) => Array.from({ length: n }, (_, d) => ({ id: `g${d}`, kind: 'gpu', memoryBytes: 16 * GB }));
const pairOf = (s: typeof image) => affinePlan(s, 'gpu', { fixedMs: 5, perItemMs: 1.25, batch: 8, devices: 2 });
const video = contest.services[1]!;
const other = placementService('other', { weightsGb: 1, deadlineMs: 200, loadTimeMs: 1000 });
const input: PlacementInput = {
  ...contest,
  servers: [
    { id: 'far', devices: gpus(2) },
    { id: 'hot', devices: gpus(3) },
  ],
  services: [...contest.services, other],
  plans: { image: [pairOf(image)], video: [pairOf(video)], other: [plan(other)] },
  demand: [...contest.demand, { serviceId: 'other', ratePerServer: { hot: 10 } }],
  current: [{ instanceId: 'kept', serviceId: 'other', plan: plan(other), serverId: 'hot', deviceIds: ['g0'] }],
  arrivalSlackMs: slack,
};
const where = (r: ReturnType<typeof placeServices>) => r.instances.map((i) => `${i.serviceId}@${i.serverId}:${i.deviceIds.join('+')}`).sort();

describe('serverSwap with two-device groups', () => {
  it('swaps the groups’ servers, the one moved to the partly held server taking its free devices', () => {
    // Without the swap `image` (first in template order) takes `hot`'s free pair, as one device would take `hot`.
    expect(where(placeServices(input, opts))).toEqual(['image@hot:g1+g2', 'other@hot:g0', 'video@far:g0+g1']);
    const after = placeServices(input, { ...opts, serverSwap: true });
    expect(where(after)).toEqual(['image@far:g0+g1', 'other@hot:g0', 'video@hot:g1+g2']);
    expect(after.stats.swaps).toMatchObject({ accepted: 1 });
    expect(findPlacementViolations(input, after.instances, opts)).toEqual([]);
  });
});
